"""Toy specs with interchangeable processes, for symmetry reduction.

A lock shared by ``n`` identical processes,
with fields that *hold* process ids (``owner``, ``last``, ``served``), so
canonicalisation must rename values and break ties between processes with
equal per-process fields, which dns-race (no id-holding field) never asks.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from modelcheck import (
    Spec,
    State,
    Symmetry,
    action,
    action_property,
    invariant,
    reachable,
    terminal,
)
from modelcheck.symbolic import Each, OneOf, Range

IDLE, WAITING, CRITICAL = "idle", "waiting", "critical"
NOBODY = -1


def _put(values: tuple, i: int, value: object) -> tuple:
    changed = list(values)
    changed[i] = value
    return tuple(changed)


class LockState(State):
    pc: tuple[str, ...]
    # times each process has been in its critical section, capped at ``rounds``
    visits: tuple[int, ...]
    # the process in its critical section, or NOBODY
    owner: int
    # the last process to leave its critical section, or NOBODY
    last: int
    # the processes that have been in their critical section at least once
    served: frozenset[int]


class SharedLock(Spec):
    """``n`` processes request, enter and leave one critical section.

    ``broken=True`` lets a process enter while another holds the lock, which
    breaks ``mutual_exclusion``; ``rounds`` bounds the visits counted.
    ``no_owner_handover`` is an action property: the lock never passes from
    one process straight to another.
    """

    symmetry: ClassVar[Symmetry] = Symmetry(
        "n", per_id=("pc", "visits"), holds_id=("owner", "last", "served")
    )

    n: int = 3
    rounds: int = 2
    broken: bool = False

    def initial_states(self) -> LockState:
        return LockState(
            pc=(IDLE,) * self.n,
            visits=(0,) * self.n,
            owner=NOBODY,
            last=NOBODY,
            served=frozenset(),
        )

    @action(p="n")
    def request(self, s: LockState, p: int) -> LockState | None:
        if s.pc[p] == IDLE and s.visits[p] < self.rounds:
            return s.replace(pc=_put(s.pc, p, WAITING))
        return None

    @action(p="n")
    def enter(self, s: LockState, p: int) -> LockState | None:
        if s.pc[p] == WAITING and (s.owner == NOBODY or self.broken):
            return s.replace(pc=_put(s.pc, p, CRITICAL), owner=p, served=s.served | {p})
        return None

    @action(p="n")
    def leave(self, s: LockState, p: int) -> LockState | None:
        if s.pc[p] == CRITICAL:
            return s.replace(
                pc=_put(s.pc, p, IDLE),
                visits=_put(s.visits, p, s.visits[p] + 1),
                owner=NOBODY if s.owner == p else s.owner,
                last=p,
            )
        return None

    @invariant
    def mutual_exclusion(self, s: LockState) -> bool:
        return sum(pc == CRITICAL for pc in s.pc) <= 1

    @invariant
    def owner_is_in_its_critical_section(self, s: LockState) -> bool:
        return s.owner == NOBODY or s.pc[s.owner] == CRITICAL

    @action_property
    def no_owner_handover(self, s: LockState, t: LockState) -> bool:
        return s.owner == NOBODY or t.owner in (NOBODY, s.owner)

    @reachable
    def everyone_served(self, s: LockState) -> bool:
        return len(s.served) == self.n


class LeakyLock(SharedLock):
    """``SharedLock`` declaring too little: ``served`` holds ids but is not renamed."""

    symmetry: ClassVar[Symmetry] = Symmetry("n", per_id=("pc", "visits"), holds_id=("owner",))


# --- the lock again, with declared field types (the compiled engine's subset) --------------


class TypedLockState(State):
    # Declared in the order "idle", "waiting", "critical", which is not the order
    # symmetry sorts rows by ("critical" < "idle" < "waiting").
    pc: Annotated[tuple[str, ...], Each("n", OneOf(IDLE, WAITING, CRITICAL))]
    visits: Annotated[tuple[int, ...], Each("n", Range(0, lambda spec: spec.visits_high))]
    # the process in its critical section, or NOBODY: an int holding an id
    owner: Annotated[int, Range(NOBODY, lambda spec: spec.n - 1)]
    # the last process to leave, or NOBODY: a OneOf holding an id
    last: Annotated[int, OneOf(NOBODY, 0, 1, 2, 3)]
    # the last two processes to enter, most recent first: a tuple holding ids
    recent: Annotated[tuple[int, ...], Each(2, Range(NOBODY, lambda spec: spec.n - 1))]


class TypedLock(Spec):
    """:class:`SharedLock` in the symbolic subset (``n`` at most 4), with id-holding fields
    of each kind the compiled engine renames: a ``Range``, a ``OneOf`` and a tuple.

    ``visit_bits`` declares ``visits`` over that many bits instead of ``0..rounds``: the
    same states, packed over two 63-bit words from 11 bits on (with ``n=4``; from 14
    bits on, one process's row has leaves in both).
    """

    symmetry: ClassVar[Symmetry] = Symmetry(
        "n", per_id=("pc", "visits"), holds_id=("owner", "last", "recent")
    )

    n: int = 3
    rounds: int = 2
    broken: bool = False
    visit_bits: int = 0

    @property
    def visits_high(self) -> int:
        return (1 << self.visit_bits) - 1 if self.visit_bits else self.rounds

    def initial_states(self) -> TypedLockState:
        return TypedLockState(
            pc=(IDLE,) * self.n,
            visits=(0,) * self.n,
            owner=NOBODY,
            last=NOBODY,
            recent=(NOBODY, NOBODY),
        )

    @action(p="n")
    def request(self, s: TypedLockState, p: int) -> TypedLockState | None:
        if s.pc[p] == IDLE and s.visits[p] < self.rounds:
            return s.replace(pc=_put(s.pc, p, WAITING))
        return None

    @action(p="n")
    def enter(self, s: TypedLockState, p: int) -> TypedLockState | None:
        if s.pc[p] == WAITING and (s.owner == NOBODY or self.broken):
            return s.replace(pc=_put(s.pc, p, CRITICAL), owner=p, recent=(p, s.recent[0]))
        return None

    @action(p="n")
    def leave(self, s: TypedLockState, p: int) -> TypedLockState | None:
        if s.pc[p] == CRITICAL:
            return s.replace(
                pc=_put(s.pc, p, IDLE),
                visits=_put(s.visits, p, s.visits[p] + 1),
                owner=NOBODY if s.owner == p else s.owner,
                last=p,
            )
        return None

    @invariant
    def mutual_exclusion(self, s: TypedLockState) -> bool:
        return sum(pc == CRITICAL for pc in s.pc) <= 1

    @invariant
    def owner_is_in_its_critical_section(self, s: TypedLockState) -> bool:
        return all(s.owner != p or s.pc[p] == CRITICAL for p in range(self.n))

    @action_property
    def no_owner_handover(self, s: TypedLockState, t: TypedLockState) -> bool:
        return s.owner == NOBODY or t.owner == NOBODY or t.owner == s.owner

    @reachable
    def every_round_done(self, s: TypedLockState) -> bool:
        return all(v == self.rounds for v in s.visits)

    @terminal
    def ends_with_every_round_done(self, s: TypedLockState) -> bool:
        return all(v == self.rounds for v in s.visits)
