"""The explored state graph of a small model, edges included, for drawing.

The checking engine (:mod:`modelcheck.engines.bfs`) keeps edges only when a
property needs them and never hands them out; drawing the graph (``--format
dot``) needs every edge with its action, so this module runs its own small
breadth-first search.  It is meant for models of at most a few thousand
states and refuses larger ones rather than build a graph nobody can read.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import attrs

from modelcheck.errors import ModelcheckError
from modelcheck.model import Model

#: The default limit on the number of states :func:`explore_graph` explores.
MAX_GRAPH_STATES = 2000


class GraphTooLarge(ModelcheckError, ValueError):
    """The model has more reachable states than the graph may hold."""


@attrs.frozen
class Edge:
    """A transition: ``states[source]`` to ``states[target]`` by ``model.actions[action]``."""

    source: int
    target: int
    action: int


@attrs.frozen
class StateGraph:
    """Every reachable state (numbered in BFS order) and every transition between them."""

    states: tuple[Any, ...]
    edges: tuple[Edge, ...]
    #: Positions of the initial states.
    initial: tuple[int, ...]
    _numbers: dict[Any, int] = attrs.field(repr=False, eq=False, alias="numbers")
    #: Positions of the states outside the spec's constraints (drawn, never expanded).
    outside: frozenset[int] = frozenset()

    def number(self, state: Any) -> int | None:
        """The position of ``state`` in :attr:`states`, or None if it is not in the graph."""
        return self._numbers.get(state)

    @property
    def terminal(self) -> frozenset[int]:
        """States with no outgoing transition (no action is enabled).

        A state outside a constraint has no transitions drawn because it is
        not expanded, not because it is stuck: it is not terminal.
        """
        sources = {e.source for e in self.edges}
        return frozenset(
            n for n in range(len(self.states)) if n not in sources and n not in self.outside
        )


def explore_graph(model: Model, max_states: int = MAX_GRAPH_STATES) -> StateGraph:
    """Explore ``model`` breadth-first and return its whole state graph.

    Raises :class:`GraphTooLarge` as soon as more than ``max_states`` states
    are found.
    """
    states = list(model.initial_states)  # already distinct
    numbers = {s: n for n, s in enumerate(states)}
    edges: list[Edge] = []
    seen_edges: set[tuple[int, int, int]] = set()
    queue = deque(range(len(states)))
    outside: set[int] = set()
    if len(states) > max_states:
        raise _too_large(model, max_states)
    while queue:
        source = queue.popleft()
        if model.constraints and not model.within(states[source]):
            outside.add(source)
            continue
        for act, nxt in model.successors(states[source]):
            target = numbers.get(nxt)
            if target is None:
                if len(states) >= max_states:
                    raise _too_large(model, max_states)
                target = numbers[nxt] = len(states)
                states.append(nxt)
                queue.append(target)
            key = (source, target, act.index)
            if key not in seen_edges:
                seen_edges.add(key)
                edges.append(Edge(source, target, act.index))
    return StateGraph(
        tuple(states),
        tuple(edges),
        tuple(range(len(model.initial_states))),
        numbers=numbers,
        outside=frozenset(outside),
    )


def _too_large(model: Model, max_states: int) -> GraphTooLarge:
    params = ", ".join(f"{k}={v!r}" for k, v in model.parameters.items())
    return GraphTooLarge(
        f"{model.name}({params}) has more than {max_states} reachable states, too many to draw "
        "as a graph anyone can read. Make the model smaller with -p (fewer processes or "
        "generations), or use --format mermaid to draw a counterexample instead."
    )
