"""``modelcheck simulate``: random walks for configurations too large to enumerate."""

from __future__ import annotations

from typing import Annotated

import typer

from modelcheck.cli.common import (
    JunitOpt,
    ParamOpt,
    PropertyOpt,
    SarifOpt,
    SpecArg,
    TraceDirOpt,
    check_report_paths,
    err,
    output_path,
    reported_errors,
    save_counterexamples,
    write_ci_reports,
)
from modelcheck.cli.loading import build_spec, load_spec_class
from modelcheck.cli.root import app
from modelcheck.engines.simulate import SimulateOptions, simulate
from modelcheck.model import compile_spec
from modelcheck.render.simulation import render_simulation


@app.command("simulate")
def simulate_command(
    target: SpecArg,
    param: ParamOpt = None,
    runs: Annotated[int, typer.Option(min=1, metavar="N", help="Number of random runs.")] = 100,
    depth: Annotated[int, typer.Option(min=1, metavar="N", help="Maximum steps per run.")] = 100,
    seed: Annotated[
        int, typer.Option(metavar="N", help="Random seed; the same seed gives the same runs.")
    ] = 0,
    prop: PropertyOpt = None,
    time_limit: Annotated[
        float | None,
        typer.Option(min=0.001, metavar="SECONDS", help="Stop starting runs after this long."),
    ] = None,
    stop_at_first: Annotated[
        bool, typer.Option(help="Stop after the first violating run.")
    ] = False,
    shortest: Annotated[
        bool,
        typer.Option(help="Shrink each counterexample and try a bounded BFS to prove it shortest."),
    ] = True,
    shortest_max_states: Annotated[
        int,
        typer.Option(min=1, metavar="N", help="State budget of the search for a shortest trace."),
    ] = 1_000_000,
    shortest_time_limit: Annotated[
        float,
        typer.Option(
            min=0.001, metavar="SECONDS", help="Time for the search for a shortest trace."
        ),
    ] = 20.0,
    track_states: Annotated[
        bool,
        typer.Option(help="Count distinct states (memory grows with the states seen)."),
    ] = True,
    max_tracked_states: Annotated[
        int,
        typer.Option(
            min=1,
            metavar="N",
            help="Stop counting distinct states past N, to bound memory (the count is then "
            "'at least N').",
        ),
    ] = 1_000_000,
    trace_dir: TraceDirOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No trace tables.")] = False,
    junit_file: JunitOpt = None,
    sarif_file: SarifOpt = None,
) -> None:
    """Random walks over the spec: distinct states seen, actions fired, violations.

    Deterministic for a given --seed.  Exit code 1 when a property is violated,
    3 when stopped before all runs were made, 0 otherwise (which means no run
    found a violation, not that the properties hold).
    """
    with reported_errors():
        if trace_dir is not None:
            output_path(trace_dir, "--trace-dir", folder=True)
        check_report_paths(junit_file, sarif_file)
        model = compile_spec(build_spec(load_spec_class(target), param))
        for name in prop or ():
            model.property(name)
        options = SimulateOptions(
            runs=runs,
            depth=depth,
            seed=seed,
            properties=tuple(prop) if prop else None,
            time_limit=time_limit,
            stop_at_first=stop_at_first,
            shrink=shortest,
            shortest=shortest,
            shortest_max_states=shortest_max_states,
            shortest_time_limit=shortest_time_limit,
            track_states=track_states,
            max_tracked_states=max_tracked_states,
        )
        result = simulate(model, options)
        if result.stopped_by == "interrupted":
            err("interrupted: showing what was found so far")
        if trace_dir is not None:
            save_counterexamples((ce.trace for ce in result.counterexamples), trace_dir)
            save_counterexamples(
                (v.witness for v in result.verdicts if v.witness is not None), trace_dir
            )
        write_ci_reports(result, model, junit_file, sarif_file)
        typer.echo(render_simulation(result, traces=not quiet))
    raise typer.Exit(int(result.exit_code))
