"""The explored state graph as Graphviz DOT (``--format dot``).

Each state is a box labelled with its fields; the initial state has a bold
border, terminal states (no action enabled) a double border, and states
that violate an invariant or the deadlock check are filled red.  Edges are
labelled with their action; the edges of each counterexample (and of each
``@reachable`` witness) are drawn thick and coloured, and steps that break
an action property are dashed.  States outside a ``@constraint`` have a
dotted border and no outgoing edges (they are not explored).
Only small models can be drawn: past :data:`MAX_GRAPH_STATES` states this
refuses (see :mod:`modelcheck.engines.explore_graph`).
"""

from __future__ import annotations

from typing import Any

from modelcheck.engines.explore_graph import MAX_GRAPH_STATES, GraphTooLarge, explore_graph
from modelcheck.model import Model
from modelcheck.render.text import describe, fields_of
from modelcheck.result import CheckResult

_PATH_COLOURS = ("red", "blue", "darkgreen", "purple", "orange")
_VIOLATING_FILL = "#fbd5d5"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _label(state: Any) -> str:
    # "\l" ends a left-justified line in a Graphviz label.
    parts = [p.replace("\\", "\\\\").replace('"', '\\"') for p in describe(fields_of(state))]
    return '"' + "\\l".join(parts) + '\\l"'


def render_dot(model: Model, result: CheckResult, max_states: int = MAX_GRAPH_STATES) -> str:
    """The state graph of ``model`` with ``result``'s verdicts marked on it."""
    if result.statistics.states > max_states:
        params = ", ".join(f"{k}={v!r}" for k, v in model.parameters.items())
        raise GraphTooLarge(
            f"{model.name}({params}) has {result.statistics.states} reachable states; "
            f"--format dot draws at most {max_states}, past which no layout is readable. "
            "Make the model smaller with -p (fewer processes or generations), or use "
            "--format mermaid to draw a counterexample instead."
        )
    graph = explore_graph(model, max_states)
    checked = {v.property for v in result.verdicts}
    props = [p for p in model.properties if p.name in checked]
    terminal = graph.terminal

    violating: dict[int, list[str]] = {}
    for prop in props:
        if prop.kind == "invariant":
            where = [n for n, s in enumerate(graph.states) if not prop.holds(s)]
        elif prop.kind == "terminal":
            where = [n for n in sorted(terminal) if not prop.holds(graph.states[n])]
        else:
            continue
        for n in where:
            violating.setdefault(n, []).append(prop.name)
    bad_steps: set[tuple[int, int, int]] = set()
    for prop in props:
        if prop.kind == "action":
            bad_steps.update(
                (e.source, e.target, e.action)
                for e in graph.edges
                if not prop.holds(graph.states[e.source], graph.states[e.target])
            )

    # Counterexample paths: edge -> colour, node -> colour.
    path_edges: dict[tuple[int, int, int], str] = {}
    path_nodes: dict[int, str] = {}
    legend: list[str] = []
    traces = [v for v in result.verdicts if (v.counterexample or v.witness) is not None]
    for k, verdict in enumerate(traces):
        colour = _PATH_COLOURS[k % len(_PATH_COLOURS)]
        trace = verdict.counterexample or verdict.witness
        assert trace is not None
        numbers = [graph.number(s) for s in trace.states]
        if any(n is None for n in numbers):
            continue  # a trace of decoded states: nothing to match
        what = "counterexample to" if verdict.counterexample is not None else "witness for"
        if trace.loop_start is not None:
            legend.append(
                f"{colour} path: lasso {what} {verdict.property} (a shortest run to its loop, "
                "then the loop, which repeats forever)"
            )
        else:
            legend.append(f"{colour} path: shortest {what} {verdict.property}")
        for n in numbers:
            path_nodes.setdefault(n, colour)  # type: ignore[arg-type]
        for a, b, step in zip(numbers, numbers[1:], trace.steps, strict=False):
            act = model.find_action(step.action, dict(step.args))
            if act is not None:
                path_edges.setdefault((a, b, act.index), colour)  # type: ignore[arg-type]

    params = ", ".join(f"{k}={v!r}" for k, v in model.parameters.items())
    outside = (
        f" ({len(graph.outside)} outside the constraint, dotted border: not explored)"
        if graph.outside
        else ""
    )
    title = [
        f"{model.name}({params}): {len(graph.states)} states{outside}, "
        f"{len(graph.edges)} transitions",
        "thick border: initial state; double border: terminal (no action enabled); "
        "red fill: violates an invariant or the deadlock check; dashed: breaks an action "
        "property",
        *legend,
    ]
    lines = [
        f"digraph {_quote(model.name)} {{",
        f'  graph [label={_quote(chr(10).join(title))}, labelloc=t, fontname="monospace"];',
        '  node [shape=box, fontname="monospace", fontsize=10];',
        '  edge [fontname="monospace", fontsize=9];',
    ]
    initial = set(graph.initial)
    for n, state in enumerate(graph.states):
        attrs_ = [f"label={_label(state)}"]
        styles = []
        if n in initial:
            attrs_.append("penwidth=3")
        elif n in path_nodes:
            attrs_.append("penwidth=2")
        if n in terminal:
            attrs_.append("peripheries=2")
        if n in graph.outside:
            styles.append("dotted")
        if n in violating:
            styles.append("filled")
            attrs_.append(f'fillcolor="{_VIOLATING_FILL}"')
            attrs_.append(f"tooltip={_quote('violates ' + ', '.join(violating[n]))}")
        if n in path_nodes:
            attrs_.append(f'color="{path_nodes[n]}"')
        if styles:
            attrs_.append(f'style="{",".join(styles)}"')
        lines.append(f"  s{n} [{', '.join(attrs_)}];")
    for e in graph.edges:
        key = (e.source, e.target, e.action)
        attrs_ = [f"label={_quote(model.actions[e.action].label)}"]
        if key in path_edges:
            attrs_ += [
                f'color="{path_edges[key]}"',
                f'fontcolor="{path_edges[key]}"',
                "penwidth=2.5",
            ]
        if key in bad_steps:
            attrs_.append("style=dashed")
        lines.append(f"  s{e.source} -> s{e.target} [{', '.join(attrs_)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
