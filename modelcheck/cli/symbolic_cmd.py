"""``modelcheck bmc`` and ``modelcheck prove``: the symbolic engine (z3).

Exit codes as for ``check``: 0 every property holds (proved, or a complete
bounded search), 1 a property is violated, 2 a spec error (including a spec
outside the symbolic subset: the message names the construct and its
line; and a reachable state where an operation's value does not fit the
bit width, or the declared types are left), 3 unknown (no violation within
the depth, or induction did not prove the property, or could not prove
that no operation wraps and the declared types hold).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from modelcheck.cli.common import (
    JsonOpt,
    JunitOpt,
    ParamOpt,
    PropertyOpt,
    QuietOpt,
    SarifOpt,
    SpecArg,
    TraceDirOpt,
    check_report_paths,
    err,
    output_path,
    reported_errors,
    save_counterexamples,
    write_ci_reports,
    write_file,
)
from modelcheck.cli.loading import build_spec, load_spec_class
from modelcheck.cli.root import app
from modelcheck.components import annotate_result
from modelcheck.model import Model, compile_spec
from modelcheck.render.json import result_to_json
from modelcheck.render.text import render_trace
from modelcheck.result import CheckResult, Status
from modelcheck.trace import json_text


def _model(target: str, param: list[str] | None, prop: list[str] | None) -> Model:
    model = compile_spec(build_spec(load_spec_class(target), param))
    lemmas = {lemma.name for lemma in model.lemmas}
    for name in prop or ():
        if name not in lemmas:
            model.property(name)
    return model


def _render(result: CheckResult, model: Model, quiet: bool) -> str:
    params = ", ".join(f"{k}={v!r}" for k, v in result.parameters.items())
    st = result.statistics
    what = {
        "bmc": f"bounded model checking to depth {st.depth}",
        "prove": f"k-induction with k={st.depth}",
    }[result.engine]
    lines = [f"{result.spec}({params})", f"{what}, in {st.seconds:.2f} s (z3)", ""]
    shown = {"holds": "holds", "violated": "VIOLATED", "unknown": "unknown"}
    if result.engine == "prove":
        shown["holds"] = "proved"
    width = max([len("property"), *(len(v.property) for v in result.verdicts)])
    kind_width = max([len("kind"), *(len(v.kind) for v in result.verdicts)])
    lines.append(f"  {'property'.ljust(width)}  {'kind'.ljust(kind_width)}  verdict")
    for v in result.verdicts:
        extra = ""
        if v.status is Status.VIOLATED and v.counterexample is not None:
            n = len(v.counterexample)
            extra = f"  (shortest counterexample: {n} step{'s' if n != 1 else ''})"
        elif v.status is Status.UNKNOWN:
            extra = (
                "  (counterexample to induction below)"
                if v.counterexample
                else (f"  ({v.reason})" if v.reason else "")
            )
        lines.append(
            f"  {v.property.ljust(width)}  {v.kind.ljust(kind_width)}  "
            f"{shown[v.status.value]}{extra}"
        )
    if model.lemmas and result.engine == "prove" and result.complete:
        lines.append(f"  lemmas proved and used: {', '.join(lem.name for lem in model.lemmas)}")
    skipped = [p.name for p in model.properties if p.kind == "recoverable" or p.liveness]
    if skipped:
        lines.append(f"  not checked by the symbolic engine (use check): {', '.join(skipped)}")
    parts = ["\n".join(lines)]
    if not quiet:
        for v in result.verdicts:
            if v.counterexample is None:
                continue
            text = render_trace(v.counterexample)
            if v.status is Status.UNKNOWN:
                _, _, rest = text.partition("\n")
                text = (
                    f"Counterexample to induction for {v.property}: "
                    f"{len(v.counterexample)} step{'s' if len(v.counterexample) != 1 else ''} "
                    "from a state satisfying every assumed invariant\n" + rest
                )
            parts.append(text)
    outcome = {0: "holds", 1: "violated", 3: "unknown"}[int(result.exit_code)]
    if result.engine == "prove" and outcome == "holds":
        outcome = "proved"
    violated = ",".join(v.property for v in result.violated) or "-"
    parts.append(
        f"result={outcome} engine={result.engine} depth={st.depth} "
        f"violated={violated} seconds={st.seconds:.3f}"
    )
    return "\n\n".join(parts)


def _finish(
    result: CheckResult,
    model: Model,
    quiet: bool,
    json_file: Path | None,
    trace_dir: Path | None,
    reports: tuple[Path | None, Path | None] = (None, None),
) -> None:
    result = annotate_result(result, model)
    if result.stopped_by == "interrupted":
        err("interrupted (Ctrl-C or a z3 timeout): nothing unproved is claimed; showing the rest")
    if json_file is not None:
        write_file(json_file, json_text(result_to_json(result)))
    if trace_dir is not None:
        save_counterexamples(
            (v.counterexample for v in result.verdicts if v.counterexample is not None), trace_dir
        )
    write_ci_reports(result, model, *reports)
    typer.echo(_render(result, model, quiet))
    raise typer.Exit(int(result.exit_code))


def _check_paths(json_file: Path | None, trace_dir: Path | None) -> None:
    if json_file is not None:
        output_path(json_file, "--json", folder=False)
    if trace_dir is not None:
        output_path(trace_dir, "--trace-dir", folder=True)


def _run(
    engine: str,
    bound: int,
    target: str,
    param: list[str] | None,
    prop: list[str] | None,
    json_file: Path | None,
    trace_dir: Path | None,
    quiet: bool,
    reports: tuple[Path | None, Path | None] = (None, None),
) -> None:
    """Run ``bmc`` (``bound`` = depth) or ``prove`` (``bound`` = k) and report it.

    ``reports`` are the ``--junit`` and ``--sarif`` files (None: not written).
    """
    with reported_errors():
        _check_paths(json_file, trace_dir)
        check_report_paths(*reports)
        model = _model(target, param, prop)
        # Imported here so that the CLI starts (and `check` runs) without z3.
        from modelcheck.engines import z3 as symbolic

        run = symbolic.bmc if engine == "bmc" else symbolic.prove
        # Progress is for a person watching: not for logs, pipes or CI output.
        progress = None if quiet or not sys.stderr.isatty() else err
        result = run(model, bound, tuple(prop) if prop else None, progress)
        _finish(result, model, quiet, json_file, trace_dir, reports)


@app.command("bmc")
def bmc_command(
    target: SpecArg,
    param: ParamOpt = None,
    depth: Annotated[
        int, typer.Option(min=0, metavar="N", help="Search runs of at most this many steps.")
    ] = 20,
    prop: PropertyOpt = None,
    json_file: JsonOpt = None,
    trace_dir: TraceDirOpt = None,
    quiet: QuietOpt = False,
    junit_file: JunitOpt = None,
    sarif_file: SarifOpt = None,
) -> None:
    """Bounded model checking with z3: a shortest violation within --depth steps, if any."""
    _run("bmc", depth, target, param, prop, json_file, trace_dir, quiet, (junit_file, sarif_file))


@app.command("prove")
def prove_command(
    target: SpecArg,
    param: ParamOpt = None,
    k: Annotated[int, typer.Option("--k", min=1, metavar="K", help="Induction depth.")] = 1,
    prop: PropertyOpt = None,
    json_file: JsonOpt = None,
    trace_dir: TraceDirOpt = None,
    quiet: QuietOpt = False,
    junit_file: JunitOpt = None,
    sarif_file: SarifOpt = None,
) -> None:
    """Prove invariants and action properties for every reachable state (k-induction, z3)."""
    _run("prove", k, target, param, prop, json_file, trace_dir, quiet, (junit_file, sarif_file))
