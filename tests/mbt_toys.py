"""Tiny specs and implementations shared by the simulation, Hypothesis and MBT tests.

``Tally`` counts 0..n in steps of one; its figures are hand-computable: n + 1
states, every run is the single path 0, 1, ..., n (n steps) and stops there.
``Stuck`` reaches a terminal state that its terminal check rejects.
"""

from __future__ import annotations

from modelcheck import Spec, State, action, action_property, invariant, terminal


class Num(State):
    value: int


class Tally(Spec):
    """0, 1, ..., n; ``bad`` is forbidden by the invariant; ``explode_at`` makes inc raise."""

    n: int = 4
    bad: int = -1
    explode_at: int = -1

    def initial_states(self) -> Num:
        return Num(0)

    @action
    def inc(self, s: Num) -> Num | None:
        if s.value == self.explode_at:
            raise ZeroDivisionError("boom")
        return Num(s.value + 1) if s.value < self.n else None

    @invariant
    def never_bad(self, s: Num) -> bool:
        """The tally never shows the forbidden value."""
        return s.value != self.bad

    @action_property
    def up_by_one(self, s: Num, t: Num) -> bool:
        """Each step adds one."""
        return t.value == s.value + 1

    @terminal
    def stops_at_n(self, s: Num) -> bool:
        """Only n is terminal."""
        return s.value == self.n


class Stuck(Spec):
    """0 -> 1 and stop; the terminal check wants 2, so state 1 is an unexpected deadlock."""

    def initial_states(self) -> Num:
        return Num(0)

    @action
    def step(self, s: Num) -> Num | None:
        return Num(1) if s.value == 0 else None

    @terminal
    def ends_at_two(self, s: Num) -> bool:
        """Stopping is only fine at 2."""
        return s.value == 2


class Pair(State):
    a: int
    b: int


class TwoCounters(Spec):
    """Two counters 0..n, incremented independently: (n + 1)^2 states."""

    n: int = 2

    def initial_states(self) -> Pair:
        return Pair(0, 0)

    @action(which=("a", "b"))
    def bump(self, s: Pair, which: str) -> Pair | None:
        value = getattr(s, which)
        return s.replace(**{which: value + 1}) if value < self.n else None


class CounterImpl:
    """An implementation of TwoCounters; ``skip_at`` makes ``a`` jump over a value (a bug)."""

    def __init__(self, skip_at: int = -1, raise_at: int = -1) -> None:
        self.values = {"a": 0, "b": 0}
        self.skip_at = skip_at
        self.raise_at = raise_at
        self.closed = False

    def bump(self, which: str) -> None:
        if which == "a" and self.values["a"] == self.raise_at:
            raise OSError("disk on fire")
        step = 2 if which == "a" and self.values["a"] == self.skip_at else 1
        self.values[which] += step
