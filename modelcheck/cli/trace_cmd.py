"""``modelcheck show`` and ``modelcheck replay``: reading saved traces."""

from __future__ import annotations

from typing import Annotated

import typer

from modelcheck.cli.common import ParamOpt, SpecArg, TraceArg, err, reported_errors
from modelcheck.cli.loading import model_for_trace
from modelcheck.cli.root import app
from modelcheck.errors import ModelcheckError
from modelcheck.render.text import render_trace
from modelcheck.result import ExitCode
from modelcheck.trace import load_trace
from modelcheck.trace_replay import replay
from modelcheck.wording import n_steps, plural

TRACE_FORMATS = ("text", "mermaid")


@app.command("show")
def show_command(
    trace_file: TraceArg,
    output_format: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="text or mermaid")
    ] = "text",
) -> None:
    """Print a saved trace as a table of steps."""
    with reported_errors():
        trace = load_trace(trace_file)
        if output_format not in TRACE_FORMATS:
            raise ModelcheckError(
                f"--format {output_format}: unknown format; "
                f"choose one of {', '.join(TRACE_FORMATS)}."
            )
        if output_format == "mermaid":
            from modelcheck.render.mermaid import trace_to_mermaid

            typer.echo(trace_to_mermaid(trace), nl=False)
            return
        params = ", ".join(f"{k}={v!r}" for k, v in trace.parameters.items())
        typer.echo(f"{trace.spec or '(unknown spec)'}({params})")
        typer.echo(render_trace(trace))


@app.command("replay")
def replay_command(
    target: SpecArg,
    trace_file: TraceArg,
    param: ParamOpt = None,
) -> None:
    """Re-execute a saved trace against the spec and report where it stops being legal.

    Exit code 1 when the trace is legal and its property fails (the bug is
    still there), 0 when it is legal and the property now holds, 2 when the
    trace is not a legal run of the spec.  For the witness of a reachable
    property: 0 while its last state still satisfies the property, 1 when it
    no longer does.  For a lasso (the counterexample to a liveness
    property) the loop must close, and exit code 1 means it is still a fair
    run that violates the property.
    """
    with reported_errors():
        trace = load_trace(trace_file)
        model = model_for_trace(target, trace, param)
        outcome = replay(model, trace)
        if outcome.legal:
            typer.echo(f"replayed {n_steps(outcome.steps_replayed)}: {outcome.message}")
            code = ExitCode.VIOLATED if outcome.property_fails else ExitCode.OK
        else:
            err(
                f"replay failed after {plural(outcome.steps_replayed, 'legal step')}: "
                f"{outcome.message}"
            )
            code = ExitCode.ERROR
    raise typer.Exit(int(code))
