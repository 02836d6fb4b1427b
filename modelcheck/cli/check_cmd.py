"""``modelcheck check`` and ``modelcheck list``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import attrs
import typer

from modelcheck.cli.common import (
    RUN_FILE,
    JsonOpt,
    JunitOpt,
    ParamOpt,
    ProgressLine,
    PropertyOpt,
    QuietOpt,
    SarifOpt,
    SpecArg,
    TraceDirOpt,
    check_report_paths,
    err,
    memory_limit_bytes,
    output_path,
    reported_errors,
    save_counterexamples,
    write_ci_reports,
    write_file,
    write_run_file,
)
from modelcheck.cli.loading import (
    build_spec,
    load_module,
    load_spec_class,
    parameter_types,
    specs_in,
)
from modelcheck.cli.root import app
from modelcheck.components import annotate_result
from modelcheck.engines.bfs import ENGINES, CheckOptions, store_refusal
from modelcheck.engines.selection import check
from modelcheck.errors import ModelcheckError
from modelcheck.model import compile_spec
from modelcheck.render import FORMATS, render
from modelcheck.render.json import result_to_json
from modelcheck.trace import json_text


@app.command("check")
def check_command(
    target: SpecArg,
    param: ParamOpt = None,
    prop: PropertyOpt = None,
    max_states: Annotated[
        int | None, typer.Option(min=1, metavar="N", help="Stop after this many distinct states.")
    ] = None,
    max_depth: Annotated[
        int | None, typer.Option(min=1, metavar="N", help="Explore at most this many steps deep.")
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option(min=0.001, metavar="SECONDS", help="Stop after this long.")
    ] = None,
    stop_at_first: Annotated[bool, typer.Option(help="Stop at the first violation.")] = False,
    memory_limit: Annotated[
        str | None,
        typer.Option(
            metavar="SIZE",
            help="Stop cleanly (exit 3, partial result) past this much memory, e.g. 8G; "
            "default 90% of what is available at the start; none for no limit.",
        ),
    ] = None,
    json_file: JsonOpt = None,
    trace_dir: TraceDirOpt = None,
    output_format: Annotated[
        str,
        typer.Option("--format", metavar="FORMAT", help=f"Output on stdout: {', '.join(FORMATS)}."),
    ] = "text",
    quiet: QuietOpt = False,
    html_file: Annotated[
        Path | None,
        typer.Option(
            "--html", metavar="FILE", help="Write a self-contained HTML report to this file."
        ),
    ] = None,
    coverage: Annotated[
        bool, typer.Option("--coverage", help="Count how often each action was enabled and fired.")
    ] = False,
    junit_file: JunitOpt = None,
    sarif_file: SarifOpt = None,
    engine: Annotated[
        str,
        typer.Option(
            metavar="ENGINE",
            help="auto (default: the compiled engine for models too big to finish quickly in "
            "Python), python, or compiled (native code; specs in the symbolic subset).",
        ),
    ] = "auto",
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            metavar="N",
            help="Threads for the compiled engine (default 1); the answer is the same for "
            "any number.",
        ),
    ] = 1,
    symmetry: Annotated[
        bool,
        typer.Option(
            "--symmetry",
            help="Explore one state per orbit of the spec's declared symmetry (interchangeable "
            "ids); counts are then orbits. Both engines reduce.",
        ),
    ] = False,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Write checkpoints to this folder; go on with 'modelcheck resume DIR'.",
        ),
    ] = None,
    checkpoint_every: Annotated[
        float,
        typer.Option(
            min=0, metavar="MIN", help="Least minutes between checkpoints (0: every level)."
        ),
    ] = 10.0,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="[ADDRESS]",
            help="Explore on a Ray cluster: alone, start a local instance with this machine's "
            "cores; with the address `ray start --head` printed, join that cluster "
            "(pip install 'modelcheck[ray]').",
        ),
    ] = None,
    shards: Annotated[
        int | None,
        typer.Option(
            min=1, metavar="N", help="Shards of the --ray search (default: the cluster's CPUs)."
        ),
    ] = None,
    store: Annotated[
        str,
        typer.Option(
            metavar="STORE",
            help="exact (default: the visited set keeps the states) or fingerprints (64-bit "
            "fingerprints, a few bytes a state instead of hundreds; Python engine; not exact: "
            "the result estimates the chance that a collision hid a state).",
        ),
    ] = "exact",
    resume: Annotated[Path | None, typer.Option(hidden=True)] = None,
) -> None:
    """Explore every reachable state and check the spec's properties."""
    with reported_errors():
        if engine not in ENGINES:
            raise ModelcheckError(
                f"--engine {engine}: unknown engine; choose one of {', '.join(ENGINES)}."
            )
        if workers > 1 and engine == "python":
            raise ModelcheckError(
                f"--workers {workers} with --engine python: the Python engine runs on one "
                "core; use --engine compiled (or auto) for more, or drop --workers."
            )
        if ray is not None:
            _refuse_ray_misuse(ray, workers)
        elif shards is not None:
            raise ModelcheckError(
                f"--shards {shards} without --ray: shards are the cluster search's; add --ray "
                "(a local instance) or --ray ADDRESS."
            )
        refused = store_refusal(
            store,
            engine=engine,
            workers=workers,
            ray=ray,
            coverage=coverage,
            checkpoint=None if checkpoint is None else str(checkpoint),
            resume=None if resume is None else str(resume),
        )
        if refused is not None:
            raise ModelcheckError(refused)
        if output_format not in FORMATS:
            raise ModelcheckError(
                f"--format {output_format}: unknown format; choose one of {', '.join(FORMATS)}."
            )
        for path, option in ((json_file, "--json"), (html_file, "--html")):
            if path is not None:
                output_path(path, option, folder=False)
        if trace_dir is not None:
            output_path(trace_dir, "--trace-dir", folder=True)
        check_report_paths(junit_file, sarif_file)
        spec = build_spec(load_spec_class(target), param)
        model = compile_spec(spec)
        if prop:
            for name in prop:
                model.property(name)
        options = CheckOptions(
            properties=tuple(prop) if prop else None,
            max_states=max_states,
            max_depth=max_depth,
            time_limit=time_limit,
            stop_at_first=stop_at_first,
            coverage=coverage,
            memory_limit=memory_limit_bytes(memory_limit),
            engine=engine,
            workers=workers,
            symmetry=symmetry,
            checkpoint=None if checkpoint is None else str(checkpoint),
            checkpoint_every=checkpoint_every,
            resume=None if resume is None else str(resume),
            ray=ray,
            shards=shards,
            store=store,
        )
        if checkpoint is not None:
            # What `modelcheck resume` needs to run this command again from the checkpoint.
            write_run_file(
                checkpoint,
                {
                    "target": str(Path(target.partition(":")[0]).resolve())
                    + (":" + target.partition(":")[2] if ":" in target else ""),
                    "param": list(param or []),
                    "prop": list(prop or []),
                    "max_states": max_states,
                    "max_depth": max_depth,
                    "stop_at_first": stop_at_first,
                    "engine": engine,
                    "symmetry": symmetry,
                    "ray": ray,
                    "shards": shards,
                },
            )
        with ProgressLine(enabled=not quiet) as progress:
            result = check(model, options, progress)
        result = annotate_result(result, model)  # actors and components, for diagrams
        if result.stopped_by == "interrupted":
            err("interrupted: showing what was found so far")
        if json_file is not None:
            write_file(json_file, json_text(result_to_json(result)))
        if trace_dir is not None:
            save_counterexamples(
                (v.counterexample for v in result.violated if v.counterexample is not None),
                trace_dir,
            )
            # Witnesses of @reachable properties too: they replay and explain like the rest.
            save_counterexamples(
                (v.witness for v in result.verdicts if v.witness is not None), trace_dir
            )
        if html_file is not None:
            from modelcheck.render.html import render_html

            write_file(html_file, render_html(result, model))
        write_ci_reports(result, model, junit_file, sarif_file)
        typer.echo(render(output_format, result, quiet, model))
    raise typer.Exit(int(result.exit_code))


def _refuse_ray_misuse(ray: str, workers: int) -> None:
    if ray.endswith(".py") or Path(ray.partition(":")[0]).suffix == ".py":
        raise ModelcheckError(
            f"--ray {ray}: that is a spec file, not a cluster address. Put the spec before "
            "--ray (modelcheck check SPEC --ray), or write --ray=ADDRESS."
        )
    if workers > 1:
        raise ModelcheckError(
            f"--ray with --workers {workers}: each shard runs on one core; ask for more "
            "shards with --shards instead."
        )


@app.command("list")
def list_command(
    path: Annotated[str, typer.Argument(metavar="PATH", help="A Python spec file.")],
) -> None:
    """List the specs in a file with their parameters (and defaults) and properties."""
    with reported_errors():
        module = load_module(path)
        specs = specs_in(module)
        if not specs:
            raise ModelcheckError(f"{path} defines no spec (a subclass of modelcheck.Spec).")
        blocks = []
        for cls in specs:
            model = compile_spec(cls())
            types_ = parameter_types(cls)
            summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
            lines = [f"{cls.__name__}: {summary}" if summary else cls.__name__]
            lines.append("  parameters:")
            for a in attrs.fields(cls):
                kind = getattr(types_[a.name], "__name__", str(types_[a.name]))
                lines.append(f"    {a.name}: {kind} = {a.default!r}")
            lines.append("  actions:")
            for fam in model.families:
                lines.append(f"    {fam}")
            lines.append("  properties:")
            for p in model.properties:
                doc = p.doc.splitlines()[0] if p.doc else ""
                lines.append(f"    {p.name} ({p.kind}){': ' + doc if doc else ''}")
            if model.fairness:
                lines.append("  fairness (for the liveness properties; other actions are unfair):")
                lines.extend(f"    {f.label}" for f in model.fairness)
            if model.constraints:
                lines.append("  constraints (states failing one are not explored):")
                lines.extend(f"    {c.name}" for c in model.constraints)
            if model.symmetry is not None:
                lines.append(f"  symmetry (for --symmetry): {model.symmetry.description}")
            blocks.append("\n".join(lines))
        typer.echo("\n\n".join(blocks))


@app.command("resume")
def resume_command(
    folder: Annotated[
        Path, typer.Argument(metavar="DIR", help="A folder given to check --checkpoint.")
    ],
    time_limit: Annotated[
        float | None, typer.Option(min=0.001, metavar="SECONDS", help="Stop after this long.")
    ] = None,
    memory_limit: Annotated[
        str | None,
        typer.Option(metavar="SIZE", help="Stop cleanly (exit 3) past this much memory."),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, metavar="N", help="Threads (compiled engine).")
    ] = 1,
    checkpoint_every: Annotated[
        float, typer.Option(min=0, metavar="MIN", help="Least minutes between checkpoints.")
    ] = 10.0,
    json_file: JsonOpt = None,
    trace_dir: TraceDirOpt = None,
    output_format: Annotated[
        str,
        typer.Option("--format", metavar="FORMAT", help=f"Output on stdout: {', '.join(FORMATS)}."),
    ] = "text",
    quiet: QuietOpt = False,
    html_file: Annotated[
        Path | None, typer.Option("--html", metavar="FILE", help="Write an HTML report.")
    ] = None,
    junit_file: JunitOpt = None,
    sarif_file: SarifOpt = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="[ADDRESS]",
            help="A cluster search's Ray cluster, where it is not the one the run had "
            "(alone: a local instance).",
        ),
    ] = None,
) -> None:
    """Go on with a check from its last checkpoint (same answer as an uninterrupted run)."""
    import json

    with reported_errors():
        run_file = folder / RUN_FILE
        try:
            run = json.loads(run_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelcheckError(
                f"{folder} holds no run to resume (no {RUN_FILE}): give the folder a "
                "'modelcheck check --checkpoint DIR' run wrote to."
            ) from None
        except (OSError, ValueError) as exc:
            raise ModelcheckError(
                f"{run_file} cannot be read ({exc}); start the run again with check --checkpoint."
            ) from None
    check_command(
        run["target"],
        param=run["param"],
        prop=run["prop"],
        max_states=run["max_states"],
        max_depth=run["max_depth"],
        time_limit=time_limit,
        stop_at_first=run["stop_at_first"],
        memory_limit=memory_limit,
        json_file=json_file,
        trace_dir=trace_dir,
        output_format=output_format,
        quiet=quiet,
        html_file=html_file,
        coverage=False,
        junit_file=junit_file,
        sarif_file=sarif_file,
        engine=run["engine"],
        symmetry=run.get("symmetry", False),  # absent in runs written before --symmetry
        workers=workers,
        ray=run.get("ray") if ray is None else ray,  # absent before --ray
        shards=run.get("shards"),
        checkpoint=folder,
        checkpoint_every=checkpoint_every,
        resume=folder,
    )
