"""Toy specs whose choices depend on the state (``@action(m=lambda self, s: ...)``).

``TwoPhaseCommit`` is Lamport's TLA+ ``TwoPhase`` model of two-phase commit:
a transaction manager (TM) and ``rms`` resource managers exchanging messages
through a set ``msgs`` that only grows.  Its state counts are published for
TLC (288 states with 3 resource managers, 1,568 with 4) and
``tests/test_state_domains.py`` recomputes them with a hand-written BFS.
"""

from __future__ import annotations

from typing import Annotated

from modelcheck import Choice, Spec, State, action, invariant
from modelcheck.symbolic import Each, Range, put


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


# --- in the symbolic subset -------------------------------------------------------------


class Mailbox(State):
    sent: Annotated[tuple[bool, ...], Each("n", bool)]
    got: Annotated[tuple[bool, ...], Each("n", bool)]


class Deliveries(Spec):
    """``n`` messages, each sent once and then received once, in any order.

    Each message is unsent, sent, or sent and received: 3 ** n states; the
    receiver chooses among the messages sent but not yet received.  With
    ``forbid_all=True`` the invariant fails once every message is received,
    after 2 * n steps.
    """

    n: int = 2
    forbid_all: bool = False

    def initial_states(self) -> Mailbox:
        return Mailbox((False,) * self.n, (False,) * self.n)

    @action(i="n")
    def send(self, s: Mailbox, i: int) -> Mailbox | None:
        if s.sent[i]:
            return None
        return s.replace(sent=put(s.sent, i, True))

    # Bounded for the z3 engine: a fixed range filtered by the state.
    @action(i=lambda self, s: [i for i in range(self.n) if s.sent[i] and not s.got[i]])
    def receive(self, s: Mailbox, i: int) -> Mailbox:
        return s.replace(got=put(s.got, i, True))

    @invariant
    def only_sent_is_received(self, s: Mailbox) -> bool:
        """A message is received only after it was sent."""
        return all(s.sent[i] or not s.got[i] for i in range(self.n))

    @invariant
    def not_all_received(self, s: Mailbox) -> bool:
        """With ``forbid_all``: some message is still not received."""
        return not (self.forbid_all and all(s.got))


class Position(State):
    x: Annotated[int, Range(0, 3)]


class UnboundedChoice(Spec):
    """Jumps ahead by one or two, choosing from a set built of the state's values.

    Fine concretely (x = 0, 1, 2, 3: 4 states); a set of symbolic values has
    no hash, so the z3 engine cannot enumerate this domain and says so.
    """

    def initial_states(self) -> Position:
        return Position(0)

    @action(to=lambda self, s: {s.x + 1, s.x + 2} if s.x < 2 else set())
    def jump(self, s: Position, to: int) -> Position:
        return s.replace(x=to)

    @invariant
    def in_range(self, s: Position) -> bool:
        """Always true."""
        return s.x <= 3
