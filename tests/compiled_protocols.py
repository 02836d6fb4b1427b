"""Classic protocols written in the symbolic subset, for the compiled-engine differential tests.

Each is small, typed, and has a flag that breaks it, so that both a holding
and a failing verdict (with a counterexample to compare) are exercised:

* :class:`Peterson` — Peterson's two-process mutual exclusion; ``broken``
  lets a process in without the turn check.
* :class:`TokenRing` — Dijkstra's K-state self-stabilising token ring; the
  invariant is that some machine is privileged, and the ring converges to a
  single privilege from any start (``closure`` checks that stepping never
  makes two privileges out of one); ``k`` below the number of machines is
  the known way to break convergence (a terminal/recoverability question).
* :class:`TwoPhase` — the two-phase commit of Gray and Lamport with a
  message set as bits; ``early_commit`` lets the manager commit on one vote.
"""

from __future__ import annotations

from typing import Annotated

from modelcheck import (
    BitSet,
    Spec,
    State,
    action,
    action_property,
    invariant,
    reachable,
    recoverable,
    terminal,
)
from modelcheck.symbolic import Bits, Each, OneOf, Range, put

# --- Peterson's mutual exclusion ---------------------------------------------------------

START, WANT, WAIT, CRIT = "start", "want", "wait", "crit"


class PetersonState(State):
    pc: Annotated[tuple[str, ...], Each(2, OneOf(START, WANT, WAIT, CRIT))]
    flag: Annotated[tuple[bool, ...], Each(2, bool)]
    turn: Annotated[int, Range(0, 1)]


class Peterson(Spec):
    """Two processes: raise the flag, give the turn away, wait, enter, leave."""

    broken: bool = False

    def initial_states(self) -> PetersonState:
        return PetersonState((START, START), (False, False), 0)

    @action(p=range(2))
    def want(self, s: PetersonState, p: int) -> PetersonState | None:
        if s.pc[p] != START:
            return None
        return s.replace(pc=put(s.pc, p, WANT), flag=put(s.flag, p, True))

    @action(p=range(2))
    def yield_turn(self, s: PetersonState, p: int) -> PetersonState | None:
        if s.pc[p] != WANT:
            return None
        return s.replace(pc=put(s.pc, p, WAIT), turn=1 - p)

    @action(p=range(2))
    def enter(self, s: PetersonState, p: int) -> PetersonState | None:
        other = 1 - p
        if s.pc[p] == WAIT and (self.broken or not s.flag[other] or s.turn == p):
            return s.replace(pc=put(s.pc, p, CRIT))
        return None

    @action(p=range(2))
    def leave(self, s: PetersonState, p: int) -> PetersonState | None:
        if s.pc[p] != CRIT:
            return None
        return s.replace(pc=put(s.pc, p, START), flag=put(s.flag, p, False))

    @invariant
    def mutual_exclusion(self, s: PetersonState) -> bool:
        """Never both processes in the critical section."""
        return not (s.pc[0] == CRIT and s.pc[1] == CRIT)

    @action_property
    def turn_given_away(self, s: PetersonState, t: PetersonState) -> bool:
        """The turn changes only to the other process of the one that yields."""
        return s.turn == t.turn or any(s.pc[p] == WANT and t.pc[p] == WAIT for p in range(2))

    @reachable
    def someone_enters(self, s: PetersonState) -> bool:
        """Process 1 can reach the critical section."""
        return s.pc[1] == CRIT

    @recoverable
    def both_idle(self, s: PetersonState) -> bool:
        """Healthy: both processes are back at the start (reachable from everywhere)."""
        return s.pc[0] == START and s.pc[1] == START


# --- Dijkstra's K-state token ring ---------------------------------------------------------


class RingState(State):
    x: Annotated[tuple[int, ...], Each("machines", Range(0, "top"))]


class TokenRing(Spec):
    """Machine 0 is privileged when x[0] == x[n-1], machine i > 0 when x[i] != x[i-1]."""

    machines: int = 3
    k: int = 3
    top: int = 2  # k - 1; the declared bound of every counter

    def initial_states(self) -> list[RingState]:
        # Every start: the ring stabilises from anywhere.
        starts = [()]
        for _ in range(self.machines):
            starts = [(*xs, v) for xs in starts for v in range(self.k)]
        return [RingState(xs) for xs in starts]

    def privileged(self, s: RingState, i: int) -> bool:
        if i == 0:
            return s.x[0] == s.x[self.machines - 1]
        return s.x[i] != s.x[i - 1]

    def privileges(self, s: RingState) -> int:
        return sum(1 for i in range(self.machines) if self.privileged(s, i))

    @action(i=lambda self: range(self.machines))
    def move(self, s: RingState, i: int) -> RingState | None:
        if not self.privileged(s, i):
            return None
        if i == 0:
            return s.replace(x=put(s.x, 0, s.x[0] + 1 if s.x[0] < self.k - 1 else 0))
        return s.replace(x=put(s.x, i, s.x[i - 1]))

    @invariant
    def someone_privileged(self, s: RingState) -> bool:
        """The ring never deadlocks: some machine holds a privilege."""
        return self.privileges(s) >= 1

    @action_property
    def closure(self, s: RingState, t: RingState) -> bool:
        """Once a single privilege, always a single privilege."""
        return self.privileges(s) != 1 or self.privileges(t) == 1

    @recoverable
    def legitimate(self, s: RingState) -> bool:
        """Healthy: exactly one machine is privileged (reachable from every state)."""
        return self.privileges(s) == 1


# --- two-phase commit ---------------------------------------------------------------------

WORKING, PREPARED, COMMITTED, ABORTED = "working", "prepared", "committed", "aborted"


class TwoPhaseState(State):
    rm: Annotated[tuple[str, ...], Each("rms", OneOf(WORKING, PREPARED, COMMITTED, ABORTED))]
    tm: Annotated[str, OneOf("init", "committed", "aborted")]
    prepared: Annotated[BitSet, Bits(0, "last")]  # the TM has heard "prepared" from these
    votes: Annotated[BitSet, Bits(0, "last")]  # "prepared" messages in flight
    decision: Annotated[str, OneOf("none", "commit", "abort")]  # the broadcast decision


class TwoPhase(Spec):
    """Resource managers vote; the manager commits when all voted, or aborts."""

    rms: int = 3
    last: int = 2  # rms - 1
    early_commit: bool = False

    def initial_states(self) -> TwoPhaseState:
        return TwoPhaseState((WORKING,) * self.rms, "init", 0, 0, "none")

    @action(r=lambda self: range(self.rms))
    def rm_prepare(self, s: TwoPhaseState, r: int) -> TwoPhaseState | None:
        if s.rm[r] != WORKING:
            return None
        return s.replace(rm=put(s.rm, r, PREPARED), votes=s.votes | 1 << r)

    @action(r=lambda self: range(self.rms))
    def rm_abort(self, s: TwoPhaseState, r: int) -> TwoPhaseState | None:
        if s.rm[r] != WORKING:
            return None
        return s.replace(rm=put(s.rm, r, ABORTED))

    @action(r=lambda self: range(self.rms))
    def tm_receive(self, s: TwoPhaseState, r: int) -> TwoPhaseState | None:
        if s.tm != "init" or not s.votes >> r & 1:
            return None
        return s.replace(prepared=s.prepared | 1 << r, votes=s.votes & ~(1 << r))

    @action
    def tm_commit(self, s: TwoPhaseState) -> TwoPhaseState | None:
        everyone = (1 << self.rms) - 1
        heard = s.prepared != 0 if self.early_commit else s.prepared == everyone
        if s.tm != "init" or not heard:
            return None
        return s.replace(tm="committed", decision="commit")

    @action
    def tm_abort(self, s: TwoPhaseState) -> TwoPhaseState | None:
        if s.tm != "init":
            return None
        return s.replace(tm="aborted", decision="abort")

    @action(r=lambda self: range(self.rms))
    def rm_learn(self, s: TwoPhaseState, r: int) -> TwoPhaseState | None:
        if s.decision == "commit" and s.rm[r] != COMMITTED:
            return s.replace(rm=put(s.rm, r, COMMITTED))
        if s.decision == "abort" and (s.rm[r] == WORKING or s.rm[r] == PREPARED):
            return s.replace(rm=put(s.rm, r, ABORTED))
        return None

    @invariant
    def consistent(self, s: TwoPhaseState) -> bool:
        """No resource manager commits while another aborts."""
        return not (any(v == COMMITTED for v in s.rm) and any(v == ABORTED for v in s.rm))

    @terminal
    def all_decided(self, s: TwoPhaseState) -> bool:
        """The protocol only stops once every resource manager has decided."""
        return all(v == COMMITTED or v == ABORTED for v in s.rm)
