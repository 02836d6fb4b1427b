"""Counterexamples as Mermaid sequence diagrams (``--format mermaid``).

The output is plain Mermaid ``sequenceDiagram`` text: paste it into a
```` ```mermaid ```` block on GitHub, or render it with any Mermaid tool.
"""

from __future__ import annotations

import re

from modelcheck.render.sequence import build_sequence
from modelcheck.render.text import lasso_shape
from modelcheck.result import CheckResult
from modelcheck.trace import Trace
from modelcheck.wording import n_steps

_ENTITIES = {"#": "#35;", ";": "#59;", "<": "#60;", "%": "#37;", "\n": " ", "\r": " "}
_SPECIAL = re.compile("[#;<%\r\n]")


def _escape(text: str) -> str:
    # '#' starts an entity code and ';' ends a statement in Mermaid; a newline
    # would end the message, and Mermaid reads '<br>' in a label as a line
    # break (and passes other tags to its sanitiser).  '%%' starts a comment,
    # and '%%{init: ...}%%' is a directive Mermaid obeys wherever it appears,
    # so a state value could restyle or break the diagram.  Entity codes keep
    # them all visible as written.
    return _SPECIAL.sub(lambda m: _ENTITIES[m.group()], text)


def _title(trace: Trace) -> str:
    params = ", ".join(f"{k}={v!r}" for k, v in trace.parameters.items())
    return f"{trace.spec or 'trace'}({params})"


def _heading(trace: Trace) -> str:
    if trace.loop_start is not None:
        return f"counterexample to {trace.violates} ({trace.kind}), a {lasso_shape(trace)}"
    return f"counterexample to {trace.violates} ({trace.kind}), {n_steps(len(trace))}"


def trace_to_mermaid(trace: Trace) -> str:
    """One ``sequenceDiagram`` for ``trace``: a message per step, a note on the violation."""
    return traces_to_mermaid([trace])


def traces_to_mermaid(traces: list[Trace]) -> str:
    """One ``sequenceDiagram`` for one or more traces of the same spec.

    Mermaid renders one diagram per document, so several counterexamples
    share the lifelines (in order of first appearance) and each is a shaded
    ``rect`` section headed by a note naming its property.
    """
    seqs = [build_sequence(t) for t in traces]
    names: dict[str, bool] = {}  # participant name -> is an actor (in any trace)
    for seq in seqs:
        for p in seq.participants:
            names[p.name] = names.get(p.name, False) or p.is_actor
    keys = {name: f"P{i}" for i, name in enumerate(names, start=1)}
    title = _title(traces[0])
    if len(traces) == 1 and traces[0].violates:
        title += f": {_heading(traces[0])}"
    elif len(traces) > 1:
        title += f": {len(traces)} counterexamples"
    lines = ["sequenceDiagram", f"    %% {_escape(title)}"]
    for name, is_actor in names.items():
        kind = "actor" if is_actor else "participant"
        lines.append(f"    {kind} {keys[name]} as {_escape(name)}")
    span = ",".join(dict.fromkeys([keys[next(iter(names))], keys[list(names)[-1]]]))
    for n, (trace, seq) in enumerate(zip(traces, seqs, strict=True)):
        indent = "    "
        if len(traces) > 1:
            lines.append(f"    rect {_SHADES[n % len(_SHADES)]}")
            lines.append(f"        Note over {span}: {_escape(_heading(trace))}")
            indent = "        "
        loop = trace.loop_start
        for m in seq.messages:
            if loop is not None and m.step == loop + 1:
                lines.append(f"{indent}loop repeats forever")
                indent += "    "
            lines.append(f"{indent}{keys[m.source]}->>{keys[m.target]}: {_escape(m.text)}")
        if loop is not None and loop < len(trace):
            indent = indent[:-4]
            lines.append(f"{indent}end")
        elif loop is not None:
            # The run stutters in its last state: a loop with no message.
            last = keys[seq.messages[-1].source] if seq.messages else keys[next(iter(names))]
            lines.append(f"{indent}loop stutters forever")
            lines.append(f"{indent}    Note over {last}: no action is enabled")
            lines.append(f"{indent}end")
        if seq.violation:
            over = ",".join(keys[name] for name in seq.note_over)
            lines.append(f"{indent}Note over {over}: {_escape(seq.violation)}")
        if len(traces) > 1:
            lines.append("    end")
    return "\n".join(lines) + "\n"


#: Backgrounds of the sections of a several-counterexample diagram (light, alternating).
_SHADES = ("rgb(240, 244, 255)", "rgb(255, 246, 236)")


def result_to_mermaid(result: CheckResult) -> str:
    """One diagram of every counterexample (a comment if there is none)."""
    traces = [v.counterexample for v in result.verdicts if v.counterexample is not None]
    if not traces:
        return "%% no counterexample: no property was violated\n"
    return traces_to_mermaid(traces)
