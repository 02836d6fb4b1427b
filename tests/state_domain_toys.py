"""Toy specs whose choices depend on the state (``@action(m=lambda self, s: ...)``).

``TwoPhaseCommit`` is Lamport's TLA+ ``TwoPhase`` model of two-phase commit:
a transaction manager (TM) and ``rms`` resource managers exchanging messages
through a set ``msgs`` that only grows.  Its state counts are published for
TLC (288 states with 3 resource managers, 1,568 with 4) and
``tests/test_state_domains.py`` recomputes them with a hand-written BFS.
"""

from __future__ import annotations

from modelcheck import Choice, Spec, State, action, invariant


class TwoPhase(State):
    rm: tuple[str, ...]  # per resource manager: working, prepared, committed, aborted
    tm: str  # init, committed, aborted
    tm_prepared: frozenset[str]
    msgs: frozenset[tuple[str, ...]]


class TwoPhaseCommit(Spec):
    """Two-phase commit with the TM's and the RMs' receipts chosen from ``msgs``."""

    rms: int = 3
    #: A resource-manager state ``never_reaches`` forbids ("" forbids none):
    #: ``forbid="committed"`` asks for a shortest run to a commit.
    forbid: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f"r{i + 1}" for i in range(self.rms))

    def initial_states(self) -> TwoPhase:
        return TwoPhase(("working",) * self.rms, "init", frozenset(), frozenset())

    def _set(self, s: TwoPhase, r: str, value: str) -> tuple[str, ...]:
        i = self.names.index(r)
        return (*s.rm[:i], value, *s.rm[i + 1 :])

    @action(m=lambda self, s: {m for m in s.msgs if m[0] == "prepared"})
    def tm_rcv_prepared(self, s: TwoPhase, m: tuple[str, str]) -> TwoPhase | None:
        if s.tm != "init":
            return None
        return s.replace(tm_prepared=s.tm_prepared | {m[1]})

    @action
    def tm_commit(self, s: TwoPhase) -> TwoPhase | None:
        if s.tm != "init" or len(s.tm_prepared) != self.rms:
            return None
        return s.replace(tm="committed", msgs=s.msgs | {("commit",)})

    @action
    def tm_abort(self, s: TwoPhase) -> TwoPhase | None:
        if s.tm != "init":
            return None
        return s.replace(tm="aborted", msgs=s.msgs | {("abort",)})

    @action(r=lambda self: self.names)
    def rm_prepare(self, s: TwoPhase, r: str) -> TwoPhase | None:
        if s.rm[self.names.index(r)] != "working":
            return None
        return s.replace(rm=self._set(s, r, "prepared"), msgs=s.msgs | {("prepared", r)})

    @action(r=lambda self: self.names)
    def rm_choose_to_abort(self, s: TwoPhase, r: str) -> TwoPhase | None:
        if s.rm[self.names.index(r)] != "working":
            return None
        return s.replace(rm=self._set(s, r, "aborted"))

    # The decision an RM receives: any commit or abort message present.
    @action(r=lambda self: self.names, m=lambda self, s, r: [m for m in s.msgs if len(m) == 1])
    def rm_rcv(self, s: TwoPhase, r: str, m: tuple[str]) -> TwoPhase | None:
        outcome = "committed" if m == ("commit",) else "aborted"
        return s.replace(rm=self._set(s, r, outcome))

    @invariant
    def consistent(self, s: TwoPhase) -> bool:
        """No resource manager commits while another aborts."""
        return not ("committed" in s.rm and "aborted" in s.rm)

    @invariant
    def never_reaches(self, s: TwoPhase) -> bool:
        """No resource manager is in the state ``forbid``."""
        return self.forbid not in s.rm


class Ping(State):
    sent: int
    delivered: int


class LossyChannel(Spec):
    """Sends up to ``limit`` messages; each is delivered or lost, and says which.

    States (sent, delivered) with delivered <= sent <= limit: for limit 2,
    (0,0) (1,0) (1,1) (2,0) (2,1) (2,2): 6 states; each state with sent <
    limit has two steps: 3 * 2 = 6 transitions.
    """

    limit: int = 2

    def initial_states(self) -> Ping:
        return Ping(0, 0)

    @action(nondeterministic=True)
    def send(self, s: Ping) -> list[Choice]:
        if s.sent == self.limit:
            return []
        return [
            Choice(s.replace(sent=s.sent + 1, delivered=s.delivered + 1), outcome="delivered"),
            Choice(s.replace(sent=s.sent + 1), outcome="lost"),
        ]

    @invariant
    def not_all_lost(self, s: Ping) -> bool:
        """Fails once every message sent so far (two of them) was lost."""
        return not (s.sent == self.limit and s.delivered == 0)
