"""Tiny purpose-built specs whose state spaces can be computed by hand.

Each spec's docstring gives its figures (states, transitions, depth) and
how they were derived, so a test asserting them has a reason independent of
the checker's own output.
"""

from __future__ import annotations

import enum

from modelcheck import (
    Spec,
    State,
    action,
    action_property,
    invariant,
    recoverable,
    terminal,
)

# --- a bounded counter ------------------------------------------------------------------


class Count(State):
    value: int


class Counter(Spec):
    """Counts 0, 1, ..., n and stops.

    States 0..n: n + 1 states, one ``inc`` step between neighbours: n
    transitions, and state k is k steps deep: depth n.  ``bad`` is a value
    the invariant forbids (reached in exactly ``bad`` steps); ``explode_at``
    makes ``inc`` raise in that state.
    """

    n: int = 5
    bad: int = -1
    explode_at: int = -1

    def initial_states(self) -> Count:
        return Count(0)

    @action
    def inc(self, s: Count) -> Count | None:
        if s.value == self.explode_at:
            raise ZeroDivisionError("boom")
        return Count(s.value + 1) if s.value < self.n else None

    @invariant
    def never_bad(self, s: Count) -> bool:
        """The counter never shows the forbidden value."""
        return s.value != self.bad

    @action_property
    def goes_up_by_one(self, s: Count, t: Count) -> bool:
        """Each step adds exactly one."""
        return t.value == s.value + 1

    @terminal
    def stops_only_at_n(self, s: Count) -> bool:
        """The counter only stops at n."""
        return s.value == self.n

    @recoverable
    def can_reach_n(self, s: Count) -> bool:
        """n is reachable from everywhere."""
        return s.value == self.n


class InterruptedCounter(Counter):
    """A :class:`Counter` whose ``inc`` raises KeyboardInterrupt at ``stop_at``, as Ctrl-C would.

    The search expands 0..stop_at: ``stop_at + 1`` states and ``stop_at`` steps.
    """

    stop_at: int = 7

    @action
    def inc(self, s: Count) -> Count | None:
        if s.value == self.stop_at:
            raise KeyboardInterrupt
        return Count(s.value + 1) if s.value < self.n else None


# --- two processes and a lock -------------------------------------------------------------

THINK, WAIT, CRIT = "think", "wait", "crit"


class LockState(State):
    pc: tuple[str, str]
    owner: int  # -1 when the lock is free


class TwoProcessLock(Spec):
    """Two processes: think -> wait (request), wait -> crit (acquire), crit -> think (release).

    Hand count with a correct lock (``broken=False``):

    - lock free: each pc in {think, wait}: 4 states; in each, each process
      has exactly one enabled step (request or acquire): 4 * 2 = 8 transitions;
    - lock held by p: pc[p] = crit, the other in {think, wait}: 2 states per
      p, 4 in all; release is always enabled (1), the other can request only
      from think (1 for think, 0 for wait): 2 * (2 + 1) = 6 transitions.

    Total 8 states, 14 transitions.  Depths: (think, think) 0;
    (wait, think), (think, wait) 1; (wait, wait), (crit, think),
    (think, crit) 2; (crit, wait), (wait, crit) 3: depth 3.

    With ``broken=True`` acquire ignores the lock, and both processes are
    in the critical section after request, request, acquire, acquire: a
    shortest counterexample of 4 steps (each process needs two steps).
    """

    broken: bool = False

    def initial_states(self) -> LockState:
        return LockState(pc=(THINK, THINK), owner=-1)

    @action(p=(0, 1), actor=lambda p: f"P{p}")
    def request(self, s: LockState, p: int) -> LockState | None:
        if s.pc[p] != THINK:
            return None
        return s.replace(pc=_put(s.pc, p, WAIT))

    @action(p=(0, 1), actor=lambda p: f"P{p}")
    def acquire(self, s: LockState, p: int) -> LockState | None:
        if s.pc[p] != WAIT or (s.owner != -1 and not self.broken):
            return None
        return s.replace(pc=_put(s.pc, p, CRIT), owner=p)

    @action(p=(0, 1), actor=lambda p: f"P{p}")
    def release(self, s: LockState, p: int) -> LockState | None:
        if s.pc[p] != CRIT:
            return None
        return s.replace(pc=_put(s.pc, p, THINK), owner=-1)

    @invariant
    def mutual_exclusion(self, s: LockState) -> bool:
        """At most one process is in its critical section."""
        return s.pc.count(CRIT) <= 1

    @terminal
    def no_deadlock(self, s: LockState) -> bool:
        """No state is stuck."""
        return False


def _put(values: tuple, i: int, value: object) -> tuple:
    return (*values[:i], value, *values[i + 1 :])


# --- a bounded FIFO queue -------------------------------------------------------------------


class QueueState(State):
    items: tuple[str, ...]
    last_got: str = ""


class BoundedQueue(Spec):
    """A FIFO queue of capacity ``capacity`` over the letters of ``alphabet``.

    ``put(v)`` appends v when not full; ``get()`` removes the head when not
    empty and records it in ``last_got`` ("" before any get).

    Figures for the letters a, b and capacity C = 2, counting
    (items, last_got):

    - last_got = "": no get yet, items is any word of length <= 2:
      1 + 2 + 4 = 7 states;
    - last_got = x (x in a, b): put x, get, then puts reach every word of
      length <= 2: 7 states each.

    21 states.  Transitions: the 3 words of length < 2 times 3 values of
    last_got have 2 puts each (18); the 6 non-empty words times 3 have one
    get each (18): 36.  Depth: (w, "") needs |w| steps; (w, x) needs put x,
    get and |w| puts, the get removing x from the head: 2 + |w| <= 4, and
    ("aa", "b") needs exactly 4: depth 4.
    """

    capacity: int = 2
    alphabet: tuple[str, ...] = ("a", "b")
    track_last: bool = True

    def initial_states(self) -> QueueState:
        return QueueState(items=())

    @action(v=lambda spec: spec.alphabet)
    def put(self, s: QueueState, v: str) -> QueueState | None:
        if len(s.items) >= self.capacity:
            return None
        return s.replace(items=(*s.items, v))

    @action
    def get(self, s: QueueState) -> QueueState | None:
        if not s.items:
            return None
        return QueueState(items=s.items[1:], last_got=s.items[0] if self.track_last else "")

    @invariant
    def never_full(self, s: QueueState) -> bool:
        """The queue never holds ``capacity`` items (fails in ``capacity`` steps)."""
        return len(s.items) < self.capacity

    @action_property
    def first_in_first_out(self, s: QueueState, t: QueueState) -> bool:
        """A get removes the oldest item; a put appends at the end."""
        if len(t.items) < len(s.items):
            return t.items == s.items[1:]
        return t.items[:-1] == s.items


# --- nondeterministic choice ----------------------------------------------------------------


class Position(State):
    at: int


class RandomWalk(Spec):
    """A walk on 0..n: each step goes to a neighbour chosen nondeterministically.

    n + 1 positions, each reachable; position k has two neighbours except 0
    and n (one each): 2 * (n + 1) - 2 = 2n transitions; position k is k steps
    from 0: depth n.
    """

    n: int = 4

    def initial_states(self) -> Position:
        return Position(0)

    @action(nondeterministic=True)
    def step(self, s: Position) -> list[Position]:
        return [Position(p) for p in (s.at - 1, s.at + 1) if 0 <= p <= self.n]

    @invariant
    def never_at_end(self, s: Position) -> bool:
        """The walk never reaches n (fails in n steps)."""
        return s.at != self.n


# --- a graph built from paths ---------------------------------------------------------------


class Node(State):
    at: str


class PathGraph(Spec):
    """A directed graph given as paths; the state is the current node.

    Default graph: a->b->c->d, a->e->d, d->a, c->x.  Reachable from a:
    a, b, c, d, e, x: 6 states; edges a-b, b-c, c-d, a-e, e-d, d-a, c-x:
    7 transitions.  Distances from a: b, e 1; c, d 2; x 3: depth 3.
    x has no successor (a deadlock) and cannot get back to a.
    """

    paths: tuple[tuple[str, ...], ...] = (
        ("a", "b", "c", "d"),
        ("a", "e", "d"),
        ("d", "a"),
        ("c", "x"),
    )
    start: str = "a"
    avoid: str = "d"

    def initial_states(self) -> Node:
        return Node(self.start)

    def successors_of(self, node: str) -> list[str]:
        nxt = {p[i + 1] for p in self.paths for i in range(len(p) - 1) if p[i] == node}
        return sorted(nxt)

    @action(nondeterministic=True)
    def move(self, s: Node) -> list[Node]:
        return [Node(n) for n in self.successors_of(s.at)]

    @invariant
    def avoids(self, s: Node) -> bool:
        """The walk never visits ``avoid``."""
        return s.at != self.avoid

    @terminal
    def stuck_only_at_d(self, s: Node) -> bool:
        """The only dead end allowed is d."""
        return s.at == "d"

    @recoverable
    def back_to_start(self, s: Node) -> bool:
        """The start is reachable again from everywhere."""
        return s.at == self.start


# --- automation versus an operator ---------------------------------------------------------


class Health(State):
    healthy: bool
    restarts: int


class OperatorRepair(Spec):
    """A service that can break; only an operator can repair it.

    States: (healthy, restarts) with restarts in 0..limit; automation may
    ``fail`` a healthy service or ``restart`` a broken one until ``limit``
    restarts are used up; the operator ``repair``s anything.  From a broken
    state with no restart left only ``repair`` helps, so recovery holds with
    every action and fails with the automation alone.

    With limit 1: (healthy, 0) -fail-> (broken, 0) -restart-> (healthy, 1)
    -fail-> (broken, 1), plus repair from each broken state back to the
    healthy one with the same count: 4 states, 5 transitions, depth 3.
    Only (broken, 1) cannot recover automatically, 3 steps deep.
    """

    limit: int = 1

    def initial_states(self) -> Health:
        return Health(healthy=True, restarts=0)

    @action
    def fail(self, s: Health) -> Health | None:
        return s.replace(healthy=False) if s.healthy else None

    @action
    def restart(self, s: Health) -> Health | None:
        if s.healthy or s.restarts >= self.limit:
            return None
        return Health(healthy=True, restarts=s.restarts + 1)

    @action
    def repair(self, s: Health) -> Health | None:
        return None if s.healthy else s.replace(healthy=True)

    @recoverable
    def recovers(self, s: Health) -> bool:
        """Healthy again, by any means."""
        return s.healthy

    @recoverable(using=("fail", "restart"))
    def recovers_automatically(self, s: Health) -> bool:
        """Healthy again without an operator."""
        return s.healthy


# --- values that exercise the trace format -----------------------------------------------


class Color(enum.Enum):
    RED = 1
    GREEN = 2


class Inner(State):
    x: int
    y: int


class Rich(State):
    color: Color
    tags: frozenset[str]
    pair: tuple[int, int]
    inner: Inner


class RichValues(Spec):
    """One step: recolour, tag and move; exercises enums, sets, tuples and nested states."""

    def initial_states(self) -> Rich:
        return Rich(Color.RED, frozenset({"beta", "alpha"}), (1, 2), Inner(0, 0))

    @action(tag=("gamma",))
    def paint(self, s: Rich, tag: str) -> Rich | None:
        if s.color is Color.GREEN:
            return None
        return Rich(Color.GREEN, s.tags | {tag}, (s.pair[1], s.pair[0]), Inner(1, s.inner.y))

    @invariant
    def stays_red(self, s: Rich) -> bool:
        """Fails after the first step."""
        return s.color is Color.RED
