"""Tiny specs in the symbolic subset (and a few just outside it) for the z3 engine tests.

Figures are small enough to check by hand: ``SymCounter(n=4, bad=3)``
violates ``never_bad`` in exactly 3 steps; ``TwoProcessLock(broken=True)``
lets both processes in after request, request, enter, enter (4 steps).
"""

from __future__ import annotations

from typing import Annotated

from modelcheck import Spec, State, action, action_property, invariant, terminal
from modelcheck.symbolic import Each, OneOf, Range, put

# --- a bounded counter --------------------------------------------------------------------


class CountState(State):
    value: Annotated[int, Range(0, "n")]
    stopped: bool


class SymCounter(Spec):
    """Counts 0..n, then may stop; ``bad`` is a value the invariant forbids."""

    n: int = 4
    bad: int = -1

    def initial_states(self) -> CountState:
        return CountState(0, False)

    @action
    def inc(self, s: CountState) -> CountState | None:
        if s.value < self.n and not s.stopped:
            return s.replace(value=s.value + 1)
        return None

    @action
    def stop(self, s: CountState) -> CountState | None:
        if s.value == self.n and not s.stopped:
            return s.replace(stopped=True)
        return None

    @invariant
    def never_bad(self, s: CountState) -> bool:
        """The counter never shows the forbidden value."""
        return s.value != self.bad

    @action_property
    def goes_up_by_one(self, s: CountState, t: CountState) -> bool:
        """Each counting step adds exactly one."""
        return t.value == s.value + 1 or t.stopped

    @terminal
    def stops_at_n(self, s: CountState) -> bool:
        """The counter only ends stopped at n."""
        return s.stopped and s.value == self.n


# --- a two-process lock -------------------------------------------------------------------

IDLE, WAITING, CRITICAL = "idle", "waiting", "critical"


class LockState(State):
    pc: Annotated[tuple[str, ...], Each(2, OneOf(IDLE, WAITING, CRITICAL))]
    holder: Annotated[int, Range(-1, 1)]  # -1: the lock is free


class TwoProcessLock(Spec):
    """Two processes take a lock to enter a critical section; ``broken`` skips the lock."""

    broken: bool = False

    def initial_states(self) -> LockState:
        return LockState((IDLE, IDLE), -1)

    @action(p=range(2))
    def request(self, s: LockState, p: int) -> LockState | None:
        if s.pc[p] == IDLE:
            return s.replace(pc=put(s.pc, p, WAITING))
        return None

    @action(p=range(2))
    def enter(self, s: LockState, p: int) -> LockState | None:
        if s.pc[p] == WAITING and (self.broken or s.holder == -1):
            return s.replace(pc=put(s.pc, p, CRITICAL), holder=p)
        return None

    @action(p=range(2))
    def leave(self, s: LockState, p: int) -> LockState | None:
        if s.pc[p] == CRITICAL:
            return s.replace(pc=put(s.pc, p, IDLE), holder=-1)
        return None

    @invariant
    def mutual_exclusion(self, s: LockState) -> bool:
        """At most one process is in the critical section."""
        return not (s.pc[0] == CRITICAL and s.pc[1] == CRITICAL)


class LockWithLemma(TwoProcessLock):
    """The same lock with the lemma that makes mutual exclusion inductive."""

    @invariant(lemma=True)
    def holder_is_the_one_inside(self, s: LockState) -> bool:
        """A process is in the critical section exactly when it holds the lock."""
        # Without it, induction starts from pc=(critical, waiting) with the lock
        # free, and process 1 walks in.
        return all((s.pc[p] == CRITICAL) == (s.holder == p) for p in range(2)) or self.broken


# --- outside the subset ---------------------------------------------------------------------


class Plain(State):
    value: int


class Unbounded(Spec):
    """A field with no declared bounds."""

    def initial_states(self) -> Plain:
        return Plain(0)

    @action
    def inc(self, s: Plain) -> Plain | None:
        return s.replace(value=s.value + 1) if s.value < 3 else None


class SetState(State):
    value: Annotated[int, Range(0, 3)]


class UsesASet(Spec):
    """Puts a state value in a Python set (needs a hash: outside the subset)."""

    def initial_states(self) -> SetState:
        return SetState(0)

    @action
    def inc(self, s: SetState) -> SetState | None:
        if s.value >= 2:
            return None
        seen = {s.value}  # the unsupported construct
        return s.replace(value=s.value + len(seen))


class PairState(State):
    values: Annotated[tuple[int, ...], Each(3, Range(0, 3))]
    i: Annotated[int, Range(0, 1)]


class ComputedIndex(Spec):
    """Indexes a tuple with a computed symbolic index (use at())."""

    def initial_states(self) -> PairState:
        return PairState((0, 0, 0), 0)

    @action
    def bump(self, s: PairState) -> PairState | None:
        if s.values[s.i + 1] < 3:
            return s.replace(values=put(s.values, s.i + 1, s.values[s.i + 1] + 1))
        return None


class Overflow(Spec):
    """Counts past its declared range."""

    def initial_states(self) -> SetState:
        return SetState(0)

    @action
    def inc(self, s: SetState) -> SetState | None:
        return s.replace(value=s.value + 1) if s.value < 5 else None


# --- values past the bit width or the declared ranges (soundness of bmc and prove) ------------
# x is declared in 0..3, so the z3 engine encodes ints in 12 bits (at least 8, plus a margin
# of 4): -2048..2047.  3 * 1000 = 3000 does not fit; a 12-bit multiplication wraps it to
# 3000 - 4096 = -1096.


class WrapState(State):
    x: Annotated[int, Range(0, 3)]
    alarm: bool


class WrapInAction(Spec):
    """Raises the alarm once ``x * 1000`` passes 2000: at x = 3, after 4 steps in Python."""

    def initial_states(self) -> WrapState:
        return WrapState(0, False)

    @action
    def inc(self, s: WrapState) -> WrapState | None:
        return s.replace(x=s.x + 1) if s.x < 3 else None

    @action
    def sound(self, s: WrapState) -> WrapState | None:
        if s.x * 1000 > 2000 and not s.alarm:  # wraps to -1096 at x = 3 in 12 bits
            return s.replace(alarm=True)
        return None

    @invariant
    def quiet(self, s: WrapState) -> bool:
        """The alarm never goes off (false: it does at x = 3)."""
        return not s.alarm


class WrapInProperty(WrapInAction):
    """The same counter with no alarm; a second invariant wraps instead of an action."""

    @action
    def sound(self, s: WrapState) -> WrapState | None:
        return None

    @invariant
    def stays_small(self, s: WrapState) -> bool:
        """``x * 1000`` stays at most 2000 (false at x = 3, where 12 bits wrap it)."""
        return s.x * 1000 <= 2000  # wraps to -1096 at x = 3 in 12 bits


class EscapesRange(Overflow):
    """Counts to 5 although its field is declared in 0..3; the invariant restates the range."""

    @invariant
    def within_declared_range(self, s: SetState) -> bool:
        """The counter stays in 0..3 (false: it reaches 4 after 4 steps)."""
        return s.value <= 3


class TwoCounters(State):
    a: Annotated[int, Range(0, 3)]
    b: Annotated[int, Range(0, 3)]


class SettledBeforeItWraps(Spec):
    """Two states in one BFS level: the first violates ``small``, the second would wrap it.

    From (0, 0) one step leads to (1, 0) and one to (3, 0).  ``small`` fails at
    (1, 0); at (3, 0) its ``a * 1000`` does not fit 12 bits, but a search never
    evaluates a property it has already settled, so it never computes it there.
    """

    def initial_states(self) -> TwoCounters:
        return TwoCounters(0, 0)

    @action
    def one(self, s: TwoCounters) -> TwoCounters | None:
        return s.replace(a=1) if s.a == 0 else None

    @action
    def three(self, s: TwoCounters) -> TwoCounters | None:
        return s.replace(a=3) if s.a == 0 else None

    @action
    def count(self, s: TwoCounters) -> TwoCounters | None:
        return s.replace(b=s.b + 1) if s.a != 0 and s.b < 3 else None

    @invariant
    def small(self, s: TwoCounters) -> bool:
        """a is never 1, and a * 1000 stays at most 2000 (false at a = 1, first)."""
        return s.a != 1 and s.a * 1000 <= 2000


class Pendulum(Spec):
    """From 0 a step to 1 or to 2, and from either a step back to 0.

    The level of 1 and 2 makes the same successor twice (0, already stored), so
    past ``max_depth=1`` both steps back are taken; only the second breaks
    ``never_back_from_two``.
    """

    n: int = 2

    def initial_states(self) -> CountState:
        return CountState(0, False)

    @action
    def out(self, s: CountState) -> CountState | None:
        return s.replace(value=1) if s.value == 0 else None

    @action
    def far(self, s: CountState) -> CountState | None:
        return s.replace(value=2) if s.value == 0 else None

    @action
    def back(self, s: CountState) -> CountState | None:
        return s.replace(value=0) if s.value != 0 else None

    @action_property
    def never_back_from_two(self, s: CountState, t: CountState) -> bool:
        """No step from 2 to 0 (false: out-and-back by ``far``, 2 steps)."""
        return not (s.value == 2 and t.value == 0)
