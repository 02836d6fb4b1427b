"""Two-phase commit as a newcomer writes it: a frozenset of message tuples.

The transaction manager (TM) and ``rms`` resource managers, after Lamport's
TLA+ ``TwoPhase`` spec: messages are never lost or removed, and each
resource manager has one action instance per kind of step.  Written the
natural way on purpose (strings, tuples, frozensets), to measure what the
Python engine does with such specs.
"""

from __future__ import annotations

from modelcheck import Spec, State, action, invariant

WORKING, PREPARED, COMMITTED, ABORTED = "working", "prepared", "committed", "aborted"
COMMIT, ABORT = ("commit",), ("abort",)


class TP(State):
    rm: tuple[str, ...]
    tm: str
    tm_prepared: frozenset[int]
    msgs: frozenset[tuple]


class TwoPhase(Spec):
    rms: int = 3

    def initial_states(self) -> TP:
        return TP((WORKING,) * self.rms, "init", frozenset(), frozenset())

    def _set(self, s: TP, r: int, value: str) -> tuple[str, ...]:
        return (*s.rm[:r], value, *s.rm[r + 1 :])

    @action(r="rms")
    def tm_rcv_prepared(self, s: TP, r: int) -> TP | None:
        if s.tm == "init" and ("prepared", r) in s.msgs and r not in s.tm_prepared:
            return s.replace(tm_prepared=s.tm_prepared | {r})
        return None

    @action
    def tm_commit(self, s: TP) -> TP | None:
        if s.tm == "init" and len(s.tm_prepared) == self.rms:
            return s.replace(tm="committed", msgs=s.msgs | {COMMIT})
        return None

    @action
    def tm_abort(self, s: TP) -> TP | None:
        if s.tm == "init":
            return s.replace(tm="aborted", msgs=s.msgs | {ABORT})
        return None

    @action(r="rms")
    def rm_prepare(self, s: TP, r: int) -> TP | None:
        if s.rm[r] == WORKING:
            return s.replace(rm=self._set(s, r, PREPARED), msgs=s.msgs | {("prepared", r)})
        return None

    @action(r="rms")
    def rm_choose_to_abort(self, s: TP, r: int) -> TP | None:
        if s.rm[r] == WORKING:
            return s.replace(rm=self._set(s, r, ABORTED))
        return None

    @action(r="rms")
    def rm_rcv_commit(self, s: TP, r: int) -> TP | None:
        if COMMIT in s.msgs and s.rm[r] != COMMITTED:
            return s.replace(rm=self._set(s, r, COMMITTED))
        return None

    @action(r="rms")
    def rm_rcv_abort(self, s: TP, r: int) -> TP | None:
        if ABORT in s.msgs and s.rm[r] != ABORTED:
            return s.replace(rm=self._set(s, r, ABORTED))
        return None

    @invariant
    def consistent(self, s: TP) -> bool:
        """No resource manager commits while another aborts."""
        return not (COMMITTED in s.rm and ABORTED in s.rm)
