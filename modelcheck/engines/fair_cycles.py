"""Fair cycles in an explored state graph: the graph algorithms behind liveness.

The graph is the search's compressed-sparse-row form (see
:mod:`modelcheck.engines.graph`): the successors of state ``i`` are
``targets[offsets[i]:offsets[i+1]]``, reached by the action instances
``actions[...]`` at the same positions.  A state with no successor at all
(a deadlock) stutters forever: for liveness it is a cycle of length 1
that takes no action, so every action is disabled on it.

A *fairness condition* is ``(kind, actions)``: ``kind`` is ``"weak"`` or
``"strong"`` and ``actions`` a set of action instance indices taken as one
action.  A cycle satisfies weak fairness of ``A`` when it takes ``A`` or
passes a state where ``A`` is disabled; strong fairness when it takes
``A`` or ``A`` is disabled in every state of it.

:func:`fair_components` finds the strongly connected components (by an
iterative Tarjan, so no recursion limit) of the states a region allows
that hold a fair cycle, refining for strong fairness as usual (a component
in which a strongly fair ``A`` is enabled somewhere but never taken loses
the states where ``A`` is enabled, and its rest is split again).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

#: ``(kind, action indices)``: one fairness condition.
Fairness = tuple[str, frozenset[int]]


class Graph:
    """The explored graph with the helpers the fair-cycle search needs."""

    def __init__(
        self, count: int, offsets: Sequence[int], targets: Sequence[int], actions: Sequence[int]
    ) -> None:
        self.count = count
        self.offsets = offsets
        self.targets = targets
        self.actions = actions
        # Per condition's actions: whether they are enabled in each state
        # (computed once, on first use; refinement asks again and again).
        self._enabled: dict[frozenset[int], list[bool]] = {}
        # Tarjan's per-state arrays, reused by every call of ``components``.
        self._number = [-1] * count
        self._low = [0] * count
        self._on_stack = [False] * count

    def edges(self, source: int) -> range:
        """Positions of the edges leaving ``source``."""
        return range(self.offsets[source], self.offsets[source + 1])

    def deadlock(self, state: int) -> bool:
        """Whether no action is enabled in ``state`` (it stutters forever)."""
        return self.offsets[state] == self.offsets[state + 1]

    def enabled(self, condition: Fairness, state: int) -> bool:
        """Whether an action of ``condition`` is enabled in ``state``."""
        acts = condition[1]
        table = self._enabled.get(acts)
        if table is None:
            offsets, actions = self.offsets, self.actions
            table = [False] * self.count
            for n in range(self.count):
                for p in range(offsets[n], offsets[n + 1]):
                    if actions[p] in acts:
                        table[n] = True
                        break
            self._enabled[acts] = table
        return table[state]


def components(graph: Graph, nodes: Sequence[int], stamp: list[int], mark: int) -> list[list[int]]:
    """The strongly connected components of the subgraph on ``nodes`` (iterative Tarjan).

    The subgraph's states are those with ``stamp[n] == mark`` (every node of
    ``nodes`` must be one).  Components come out in Tarjan's order (reverse
    topological), each in the order its states were popped.
    """
    offsets, targets = graph.offsets, graph.targets
    number, low, on_stack = graph._number, graph._low, graph._on_stack
    stack: list[int] = []
    found: list[list[int]] = []
    counter = 0
    for root in nodes:
        if number[root] >= 0:
            continue
        number[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        work = [(root, offsets[root])]
        while work:
            node, pos = work[-1]
            end = offsets[node + 1]
            descended = False
            while pos < end:
                succ = targets[pos]
                pos += 1
                if stamp[succ] != mark:
                    continue
                if number[succ] < 0:
                    work[-1] = (node, pos)
                    number[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack[succ] = True
                    work.append((succ, offsets[succ]))
                    descended = True
                    break
                if on_stack[succ] and number[succ] < low[node]:
                    low[node] = number[succ]
            if descended:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                if low[node] < low[parent]:
                    low[parent] = low[node]
            if low[node] == number[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
    for n in nodes:  # ready for the next call
        number[n] = -1
    return found


def _taken(graph: Graph, members: set[int]) -> set[int]:
    """The action instances of the edges inside ``members``."""
    return {
        graph.actions[p] for n in members for p in graph.edges(n) if graph.targets[p] in members
    }


def _has_cycle(graph: Graph, component: list[int]) -> bool:
    if len(component) > 1:
        return True
    (node,) = component
    return graph.deadlock(node) or any(graph.targets[p] == node for p in graph.edges(node))


def fair_components(
    graph: Graph, region: Sequence[bool], fairness: Sequence[Fairness]
) -> list[list[int]]:
    """The components of the ``region`` subgraph that hold a cycle satisfying every condition.

    Each returned component (a list of states, sorted) is strongly
    connected, and the cycle that visits all its states and takes all its
    edges is fair: a weakly fair action is taken in it or disabled in one
    of its states, a strongly fair one is taken in it or disabled in all of
    them.
    """
    fair: list[list[int]] = []
    work = [[n for n in range(graph.count) if region[n]]]
    stamp = [0] * graph.count  # which part (of ``work``) a state is in
    mark = 0
    while work:
        part = work.pop()
        mark += 1
        for n in part:
            stamp[n] = mark
        for component in components(graph, part, stamp, mark):
            if not _has_cycle(graph, component):
                continue
            members = set(component)
            taken = _taken(graph, members)
            remove: set[int] = set()
            ok = True
            for condition in fairness:
                if condition[1] & taken:
                    continue
                enabled_at = [n for n in component if graph.enabled(condition, n)]
                if condition[0] == "weak":
                    # Enabled everywhere and never taken: no cycle inside is fair.
                    if len(enabled_at) == len(component):
                        ok = False
                        break
                else:
                    remove.update(enabled_at)
            if not ok:
                continue
            if remove:
                rest = [n for n in component if n not in remove]
                if rest:
                    work.append(rest)
                continue
            fair.append(sorted(component))
    fair.sort()
    return fair


def shortest_prefix(
    graph: Graph,
    initial: Sequence[int],
    region: Sequence[bool],
    trigger: Sequence[bool] | None,
    goal: Sequence[bool],
) -> list[tuple[int, int | None]] | None:
    """A shortest run to a ``goal`` state that stays in ``region`` once triggered.

    The run starts in an initial state and is *triggered* in a state where
    ``trigger`` and ``region`` hold (``trigger=None``: in its initial
    state, which must then be in ``region``); from the trigger on every
    state is in ``region``, and it ends in a ``goal`` state (a ``region``
    state).  Returns ``[(state, action index of the step into it or
    None), ...]`` or ``None`` when there is no such run.
    """
    # Breadth-first over (state, triggered); becoming triggered costs no step
    # (a 0-1 BFS with distances, so the run found is a shortest one).
    Node = tuple[int, bool]
    parent: dict[Node, tuple[Node, int | None] | None] = {}
    distance: dict[Node, int] = {}
    queue: deque[Node] = deque()
    for n in initial:
        node = (n, trigger is None)
        if trigger is None and not region[n]:
            continue
        if node not in distance:
            parent[node] = None
            distance[node] = 0
            queue.append(node)
    done: set[Node] = set()
    end: Node | None = None
    while queue:
        node = queue.popleft()
        if node in done:
            continue  # already settled by a shorter way
        done.add(node)
        state, triggered = node
        if triggered and goal[state]:
            end = node
            break
        here = distance[node]
        if not triggered and trigger is not None and trigger[state] and region[state]:
            switched = (state, True)
            if distance.get(switched, here + 1) > here:
                parent[switched] = (node, None)
                distance[switched] = here
                queue.appendleft(switched)
        for p in graph.edges(state):
            succ = graph.targets[p]
            if triggered and not region[succ]:
                continue
            nxt = (succ, triggered)
            if distance.get(nxt, here + 2) > here + 1:
                parent[nxt] = (node, graph.actions[p])
                distance[nxt] = here + 1
                queue.append(nxt)
    if end is None:
        return None
    path: list[tuple[int, int | None]] = []
    at = end
    while True:
        link = parent[at]
        if link is None:
            path.append((at[0], None))
            break
        prev, action = link
        if action is not None:  # becoming triggered is not a step
            path.append((at[0], action))
        at = prev
    path.reverse()
    return path


def fair_loop(
    graph: Graph,
    component: Sequence[int],
    entry: int,
    fairness: Sequence[Fairness],
    accepting: Sequence[bool] | None,
) -> list[tuple[int, int]]:
    """A cycle from ``entry`` back to it inside ``component`` that is fair and accepting.

    ``component`` is one of :func:`fair_components`'s.  The cycle takes an
    edge of every fairness condition taken in the component, passes a
    state where every weakly fair condition not taken is disabled, and
    (with ``accepting``) passes an accepting state; goals are visited
    nearest first.  Returns ``[(action index, next state), ...]``; an empty
    list for a deadlock (it stutters).
    """
    members = set(component)
    if len(members) == 1 and graph.deadlock(entry):
        return []
    taken = _taken(graph, members)
    # Goals: ("edge", actions) to take one of, or ("state", predicate) to pass.
    goals: list[tuple[str, object]] = []
    for condition in fairness:
        if condition[1] & taken:
            goals.append(("edge", condition[1]))
        elif condition[0] == "weak":
            goals.append(("state", condition))
    if accepting is not None:
        goals.append(("accept", None))

    def met(goal: tuple[str, object], state: int, action: int | None) -> bool:
        kind, what = goal
        if kind == "edge":
            return action is not None and action in what  # type: ignore[operator]
        if kind == "state":
            return not graph.enabled(what, state)  # type: ignore[arg-type]
        return bool(accepting is not None and accepting[state])

    loop: list[tuple[int, int]] = []
    current = entry
    pending = [g for g in goals if not met(g, entry, None)]
    while pending:
        path = _walk(
            graph, members, current, lambda s, a, left=pending: any(met(g, s, a) for g in left)
        )
        for action, state in path:
            pending = [g for g in pending if not met(g, state, action)]
        loop.extend(path)
        current = loop[-1][1]
    if current != entry or not loop:
        # Back to the entry (at least one step: a loop is never empty here).
        loop.extend(_walk(graph, members, current, lambda s, a: s == entry and a is not None))
    return loop


def _walk(
    graph: Graph, members: set[int], start: int, done: Callable[[int, int | None], bool]
) -> list[tuple[int, int]]:
    """A shortest path of at least one step inside ``members`` whose last step satisfies ``done``.

    ``done(state, action)`` is asked of each step (the action taken and the
    state reached).  Returns ``[(action, state), ...]``.
    """
    parent: dict[int, tuple[int, int] | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for p in graph.edges(node):
            succ, action = graph.targets[p], graph.actions[p]
            if succ not in members:
                continue
            if done(succ, action):
                path = [(action, succ)]
                back = node
                while parent[back] is not None:
                    prev, act = parent[back]  # type: ignore[misc]
                    path.append((act, back))
                    back = prev
                path.reverse()
                return path
            if succ not in parent:
                parent[succ] = (node, action)
                queue.append(succ)
    raise AssertionError("a fair component is strongly connected")  # pragma: no cover
