"""Tiny specs for state constraints, possibility properties and stuttering steps.

The figures of each spec are derived in its docstring, and the tests
recompute them with a breadth-first search written out in the test file,
independent of the engine, so a pinned count has a reason of its own.
"""

from __future__ import annotations

from typing import Annotated

from modelcheck import (
    Spec,
    State,
    action,
    action_property,
    constraint,
    invariant,
    reachable,
    terminal,
)
from modelcheck.symbolic import Range

# --- a counter bounded by a constraint ----------------------------------------------------


class Dial(State):
    x: Annotated[int, Range(0, "cap")]
    lit: bool


class BoundedDial(Spec):
    """``up`` adds one to ``x`` (to ``cap``), ``flip`` toggles ``lit``; constraint: x <= limit.

    Inside the constraint: x in 0..limit and lit either way, 2 * (limit + 1)
    states.  Each has two successors (``up`` and ``flip``), so 4 * (limit +
    1) transitions.  Outside: x = limit + 1 with lit either way, 2 states,
    reached in limit + 1 steps and never expanded.  ``within_limit`` fails
    only on those (invariants are checked on states outside the
    constraint, as TLC does), after limit + 1 steps; ``lit_at_limit`` is
    first true limit + 1 steps deep (limit ups and a flip); ``past_limit`` is true in no state the
    constrained search reaches.
    """

    limit: int = 3
    cap: int = 6
    constrained: bool = True

    def initial_states(self) -> Dial:
        return Dial(0, False)

    @action
    def up(self, s: Dial) -> Dial | None:
        return s.replace(x=s.x + 1) if s.x < self.cap else None

    @action
    def flip(self, s: Dial) -> Dial | None:
        return s.replace(lit=not s.lit)

    @constraint
    def bounded(self, s: Dial) -> bool:
        """Explore only up to the limit."""
        return (not self.constrained) or s.x <= self.limit

    @invariant
    def below_cap(self, s: Dial) -> bool:
        """x never reaches the cap."""
        return s.x < self.cap

    @invariant
    def within_limit(self, s: Dial) -> bool:
        """x never passes the limit (false in the states just outside the constraint)."""
        return s.x <= self.limit

    @reachable
    def lit_at_limit(self, s: Dial) -> bool:
        """The dial can be lit at the limit."""
        return s.lit and s.x == self.limit

    @reachable
    def past_limit(self, s: Dial) -> bool:
        """The dial can go two past the limit."""
        return s.x == self.limit + 2

    @reachable
    def over_limit(self, s: Dial) -> bool:
        """The dial can go one past the limit (only in a state outside the constraint)."""
        return s.x == self.limit + 1


class OnlyUp(Spec):
    """One action, ``up``, from 0 to ``cap``; constrained to x <= limit.

    Unconstrained, x = cap is a deadlock.  Constrained, x = limit has its
    successor outside the constraint, so it is not a deadlock (it has a
    step, as in TLC), and the state outside is never expanded, so it is not
    one either: ``never_stuck`` holds.  limit + 1 states inside, limit + 1
    transitions (the last one leaves the constraint), one state outside.
    """

    limit: int = 2
    cap: int = 5

    def initial_states(self) -> Dial:
        return Dial(0, False)

    @action
    def up(self, s: Dial) -> Dial | None:
        return s.replace(x=s.x + 1) if s.x < self.cap else None

    @constraint
    def bounded(self, s: Dial) -> bool:
        """Explore only up to the limit."""
        return s.x <= self.limit

    @terminal
    def never_stuck(self, s: Dial) -> bool:
        """No state is a deadlock."""
        return False

    @action_property
    def steps_up(self, before: Dial, after: Dial) -> bool:
        """Every step adds one, also the step that leaves the constraint."""
        return after.x == before.x + 1 and after.x <= self.limit + 1

    @action_property
    def stays_inside(self, before: Dial, after: Dial) -> bool:
        """No step leaves the constraint (false on the step from limit to limit + 1)."""
        return after.x <= self.limit


class StartsOutside(Spec):
    """Two initial states, x = 0 and x = 9; the constraint x < 5 excludes the second.

    Inside: x = 0, 1, 2 (``up`` stops at 2): 3 states, 2 transitions.
    Outside: the initial state x = 9, so ``small`` fails in 0 steps there.
    """

    cap: int = 9  # the declared range of Dial.x

    def initial_states(self) -> list[Dial]:
        return [Dial(0, False), Dial(9, False)]

    @action
    def up(self, s: Dial) -> Dial | None:
        return s.replace(x=s.x + 1) if s.x < 2 else None

    @constraint
    def bounded(self, s: Dial) -> bool:
        """Initial states past 5 are not explored."""
        return s.x < 5

    @invariant
    def small(self, s: Dial) -> bool:
        """x stays small."""
        return s.x < 5


class Fork(Spec):
    """A state outside the constraint must not displace a shallower counterexample.

    From 0, ``left`` gives 1 and ``right`` gives 2; from 1, ``left`` gives 10,
    which is outside the constraint x < 10.  ``not_2_or_10`` fails in 2
    (1 step) and in 10 (2 steps).  The search meets 10 while expanding
    level 1, before it checks 2, which is also on level 1; the shortest
    counterexample is still the 1-step one.
    """

    cap: int = 10

    def initial_states(self) -> Dial:
        return Dial(0, False)

    @action
    def left(self, s: Dial) -> Dial | None:
        if s.x == 0:
            return s.replace(x=1)
        return s.replace(x=10) if s.x == 1 else None

    @action
    def right(self, s: Dial) -> Dial | None:
        return s.replace(x=2) if s.x == 0 else None

    @constraint
    def small(self, s: Dial) -> bool:
        """States from 10 on are not explored."""
        return s.x < 10

    @invariant
    def not_2_or_10(self, s: Dial) -> bool:
        """x is never 2 or 10."""
        return s.x not in (2, 10)

    @reachable
    def two_or_ten(self, s: Dial) -> bool:
        """x can be 2 or 10 (first in 1 step)."""
        return s.x in (2, 10)


class RaisingConstraint(Spec):
    """A constraint with a bug: it divides by zero on x = 2 (reached in 2 steps)."""

    cap: int = 5

    def initial_states(self) -> Dial:
        return Dial(0, False)

    @action
    def up(self, s: Dial) -> Dial | None:
        return s.replace(x=s.x + 1) if s.x < 4 else None

    @constraint
    def broken(self, s: Dial) -> bool:
        """Divides by zero at 2."""
        return 1 / (2 - s.x) != 0


# --- Lamport clocks with a clock bound ----------------------------------------------------


class Clocks(State):
    clock: tuple[int, ...]


class LamportClocks(Spec):
    """``n`` processes with Lamport clocks; the clock bound is a constraint, as in TLC models.

    ``tick(p)`` adds one to p's clock; ``hear(p, q)`` (p != q) sets p's
    clock to max(p's, q's) + 1, as on receiving a message stamped with q's
    clock.  Clocks grow without bound; the constraint keeps each at most
    ``bound``.  The figures are pinned by an independent breadth-first
    search in ``tests/test_constraint.py``.
    """

    n: int = 2
    bound: int = 3

    def initial_states(self) -> Clocks:
        return Clocks((0,) * self.n)

    @action(p="n")
    def tick(self, s: Clocks, p: int) -> Clocks:
        c = list(s.clock)
        c[p] += 1
        return Clocks(tuple(c))

    @action(p="n", q="n")
    def hear(self, s: Clocks, p: int, q: int) -> Clocks | None:
        if p == q:
            return None
        c = list(s.clock)
        c[p] = max(c[p], c[q]) + 1
        return Clocks(tuple(c))

    @constraint
    def clock_bound(self, s: Clocks) -> bool:
        """Every clock is at most the bound."""
        return max(s.clock) <= self.bound

    @reachable
    def all_at_bound(self, s: Clocks) -> bool:
        """Every clock can reach the bound."""
        return all(c == self.bound for c in s.clock)


# --- stuttering steps ---------------------------------------------------------------------


class Lamp(State):
    level: Annotated[int, Range(0, 2)]
    on: bool


class Stutter(Spec):
    """``brighten`` raises ``level`` (to 2), ``switch`` toggles ``on``, ``idle`` returns the state.

    6 states (level 0..2, on either way).  ``idle`` is a self-loop in every
    state, and action properties see it: ``rises`` (level goes up on every
    step) fails in 1 step, on ``idle`` (the first action, so the first step
    the search meets).  ``rises_when_it_changes`` is TLA+'s
    ``[level' > level]_level`` and holds; ``never_dims`` holds too.
    """

    def initial_states(self) -> Lamp:
        return Lamp(0, False)

    @action
    def idle(self, s: Lamp) -> Lamp:
        return s

    @action
    def brighten(self, s: Lamp) -> Lamp | None:
        return s.replace(level=s.level + 1) if s.level < 2 else None

    @action
    def switch(self, s: Lamp) -> Lamp:
        return s.replace(on=not s.on)

    @action_property
    def rises(self, before: Lamp, after: Lamp) -> bool:
        """The level goes up on every step."""
        return after.level > before.level

    @action_property(changing="level")
    def rises_when_it_changes(self, before: Lamp, after: Lamp) -> bool:
        """Every step that changes the level raises it ([level' > level]_level)."""
        return after.level > before.level

    @action_property(changing=("level", "on"))
    def never_dims(self, before: Lamp, after: Lamp) -> bool:
        """A step that changes anything never lowers the level."""
        return after.level >= before.level
