"""Counterexamples as Mermaid sequence diagrams (``--format mermaid``).

The output is plain Mermaid ``sequenceDiagram`` text: paste it into a
```` ```mermaid ```` block on GitHub, or render it with any Mermaid tool.
"""

from __future__ import annotations

import re

from modelcheck.render.sequence import build_sequence
from modelcheck.result import CheckResult
from modelcheck.trace import Trace
from modelcheck.wording import n_steps

_ENTITIES = {"#": "#35;", ";": "#59;", "<": "#60;", "\n": " ", "\r": " "}
_SPECIAL = re.compile("[#;<\r\n]")


def _escape(text: str) -> str:
    # '#' starts an entity code and ';' ends a statement in Mermaid; a newline
    # would end the message, and Mermaid reads '<br>' in a label as a line
    # break (and passes other tags to its sanitiser).  Entity codes keep them
    # all visible as written.
    return _SPECIAL.sub(lambda m: _ENTITIES[m.group()], text)


def trace_to_mermaid(trace: Trace) -> str:
    """One ``sequenceDiagram`` for ``trace``: a message per step, a note on the violation."""
    seq = build_sequence(trace)
    lines = ["sequenceDiagram"]
    params = ", ".join(f"{k}={v!r}" for k, v in trace.parameters.items())
    title = f"{trace.spec or 'trace'}({params})"
    if trace.violates:
        title += f": counterexample to {trace.violates} ({trace.kind}), {n_steps(len(trace))}"
    lines.append(f"    %% {_escape(title)}")
    for p in seq.participants:
        kind = "actor" if p.is_actor else "participant"
        lines.append(f"    {kind} {p.key} as {_escape(p.name)}")
    for m in seq.messages:
        lines.append(f"    {seq.key(m.source)}->>{seq.key(m.target)}: {_escape(m.text)}")
    if seq.violation:
        over = ",".join(seq.key(name) for name in seq.note_over)
        lines.append(f"    Note over {over}: {_escape(seq.violation)}")
    return "\n".join(lines) + "\n"


def result_to_mermaid(result: CheckResult) -> str:
    """A diagram per counterexample, separated by blank lines (a comment if there is none)."""
    diagrams = [
        trace_to_mermaid(v.counterexample) for v in result.verdicts if v.counterexample is not None
    ]
    if not diagrams:
        return "%% no counterexample: no property was violated\n"
    return "\n".join(diagrams)
