"""``modelcheck explain``: which steps of a counterexample made its property fail.

The property's code is needed to know which fields it reads, and a trace
file records only the spec's class name and parameters, so the command
takes the spec file as ``replay`` does: ``modelcheck explain SPEC TRACE.json``
(the parameters come from the trace; ``-p`` overrides them).
"""

from __future__ import annotations

import typer

from modelcheck.blame import Blame, blame
from modelcheck.cli.common import ParamOpt, SpecArg, TraceArg, reported_errors
from modelcheck.cli.loading import model_for_trace
from modelcheck.cli.root import app
from modelcheck.trace import load_trace


def render_blame(b: Blame) -> str:
    """The explanation as plain text: a table of the values read, then the culprit steps."""
    witness = b.kind == "reachable"
    outcome = "is satisfied" if witness else "fails"
    lines = [f"{b.property} ({b.kind}) {outcome} at the end of this {b.steps}-step trace:"]
    if b.reason:
        lines.append(f"  {b.reason}")
    lines += [
        "",
        f"It reads {', '.join(b.reads) or '(no field)'}. "
        "Each value it saw, and the step that wrote it:",
    ]
    head = ("field", "value", "step", "action", "by", "culprit")
    rows = [
        (
            c.field,
            c.value,
            str(c.step),
            c.action,
            c.actor or "-",
            "-"
            if c.culprit is None
            else (
                f"yes: with {c.previous} it would {'be false' if witness else 'hold'}"
                if c.culprit
                else "no"
            ),
        )
        for c in b.causes
    ]
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)
    ]
    for row in (head, *rows):
        cells = [
            cell.rjust(w) if i == 2 else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append(("  " + "  ".join(cells)).rstrip())
    lines.append("")
    if b.culprits:
        undone = "makes the property false" if witness else "makes the property hold"
        lines.append(f"Culprit steps (undoing any one of them alone {undone}):")
        w_label = max(len(c.action) for c in b.culprits)
        for c in b.culprits:
            by = f" by {c.actor}" if c.actor else ""
            lines.append(
                f"  step {c.step:>3}  {c.action.ljust(w_label)}{by}: "
                f"{c.field} {c.previous} → {c.value}"
            )
    elif b.kind == "recoverable":
        lines.append(
            "Recoverability is about every continuation of the last state, so no "
            "single step is blamed; the table shows what the healthy-state test reads."
        )
    else:
        lines.append(
            "No single step is to blame: no one value, put back alone, makes the property "
            + ("false." if witness else "hold.")
        )
    return "\n".join(lines)


@app.command("explain")
def explain_command(
    target: SpecArg,
    trace_file: TraceArg,
    param: ParamOpt = None,
) -> None:
    """Show which fields the violated property reads and the steps that broke it."""
    with reported_errors():
        trace = load_trace(trace_file)
        model = model_for_trace(target, trace, param)
        typer.echo(render_blame(blame(model, trace)))
