"""dns-race: the DNS Planner / Enactor / clean-up race of October 2025.

A Planner writes plans 1..G.  Enactors pick up the newest plan, write it to
the endpoints one at a time, record it as the active plan, then clean up
plans much older than their own.  With no fix, a slow Enactor's staleness
check (made at pick-up) goes stale: it overwrites a newer plan with its old
one, and a fast Enactor's clean-up then deletes that old plan while an
endpoint points at it - the record is emptied and nothing repairs it.

This file follows ``shared/models/dns-race.md`` literally: the same
variables, initial state and actions, and no extra bookkeeping in the state,
so its state counts equal the reference figures.

    modelcheck check specs/dns_race.py
    modelcheck check specs/dns_race.py -p check_at_apply=true
"""

from __future__ import annotations

from typing import ClassVar

from modelcheck import (
    BitSet,
    Spec,
    State,
    action,
    action_property,
    invariant,
    recoverable,
    terminal,
)

IDLE, APPLYING, CLEANING = "Idle", "Applying", "Cleaning"


def _put(values: tuple[int | str, ...], i: int, value: int | str) -> tuple:
    """``values`` with position ``i`` replaced."""
    changed = list(values)
    changed[i] = value
    return tuple(changed)


class DnsState(State):
    latest: int  # newest plan the Planner has created
    store: BitSet  # plans that exist in the plan store (bit p set: plan p exists)
    applied: int  # plan recorded as active by the last Enactor to finish
    dns: tuple[int, ...]  # dns[m]: the plan endpoint m's record points at
    pc: tuple[str, ...]  # pc[e]: Idle, Applying or Cleaning
    plan: tuple[int, ...]  # plan[e]: the plan Enactor e holds (0 when idle)
    next: tuple[int, ...]  # next[e]: the next endpoint Enactor e writes


class DnsRace(Spec):
    """Planner / Enactors / clean-up, with the two candidate fixes as flags."""

    # Who owns which state field, for sequence diagrams: "{}" makes one
    # component per position (dns[1] is "DNS 1"); a field named after an
    # actor is that actor's own state.
    components: ClassVar[dict[str, str]] = {
        "latest": "Planner",
        "store": "Plan store",
        "applied": "Active plan",
        "dns": "DNS {}",
        "pc": "Enactor {}",
        "plan": "Enactor {}",
        "next": "Enactor {}",
    }

    enactors: int = 2
    endpoints: int = 2
    generations: int = 4
    keep: int = 1
    check_at_apply: bool = False
    protect_active: bool = False

    def initial_states(self) -> DnsState:
        return DnsState(
            latest=1,
            store=1 << 1,
            applied=1,
            dns=(1,) * self.endpoints,
            pc=(IDLE,) * self.enactors,
            plan=(0,) * self.enactors,
            next=(0,) * self.enactors,
        )

    # --- actions ---------------------------------------------------------------------

    @action(actor="Planner")
    def plan(self, s: DnsState) -> DnsState | None:
        """The Planner creates the next plan."""
        if s.latest < self.generations:
            return s.replace(latest=s.latest + 1, store=s.store | 1 << (s.latest + 1))
        return None

    @action(e="enactors", actor=lambda e: f"Enactor {e}")
    def pickup(self, s: DnsState, e: int) -> DnsState | None:
        """Enactor e takes the newest plan - checking staleness once, here."""
        if s.pc[e] == IDLE and s.store >> s.applied & 1 and s.latest > s.applied:
            return s.replace(
                pc=_put(s.pc, e, APPLYING), plan=_put(s.plan, e, s.latest), next=_put(s.next, e, 0)
            )
        return None

    @action(e="enactors", actor=lambda e: f"Enactor {e}")
    def apply(self, s: DnsState, e: int) -> DnsState | None:
        """Enactor e writes its plan to its next endpoint (a compare-and-set with fix 1)."""
        if s.pc[e] != APPLYING:
            return None
        m = s.next[e]
        if m >= self.endpoints:
            return None
        mine = s.plan[e]
        dns = s.dns
        if not self.check_at_apply or mine > dns[m]:
            dns = _put(dns, m, mine)
        return s.replace(dns=dns, next=_put(s.next, e, m + 1))

    @action(e="enactors", actor=lambda e: f"Enactor {e}")
    def finish(self, s: DnsState, e: int) -> DnsState | None:
        """Enactor e records its plan as the active one."""
        if s.pc[e] != APPLYING or s.next[e] != self.endpoints:
            return None
        mine = s.plan[e]
        applied = max(s.applied, mine) if self.check_at_apply else mine
        return s.replace(applied=applied, pc=_put(s.pc, e, CLEANING))

    @action(e="enactors", actor=lambda e: f"Enactor {e}")
    def cleanup(self, s: DnsState, e: int) -> DnsState | None:
        """Enactor e deletes plans older than its own by more than ``keep``."""
        if s.pc[e] != CLEANING:
            return None
        limit = s.plan[e] - self.keep
        doomed = s.store & ((1 << max(limit, 0)) - 1)  # every stored p < limit
        if self.protect_active:
            for in_use in (s.applied, *s.dns):
                doomed &= ~(1 << in_use)
        return s.replace(
            store=s.store & ~doomed,
            pc=_put(s.pc, e, IDLE),
            plan=_put(s.plan, e, 0),
            next=_put(s.next, e, 0),
        )

    # --- properties --------------------------------------------------------------------

    @invariant
    def active_plan_never_deleted(self, s: DnsState) -> bool:
        """The active plan and every plan a DNS record points at still exist."""
        store = s.store
        return bool(store >> s.applied & 1) and all(store >> d & 1 for d in s.dns)

    @action_property
    def applied_generation_monotonic(self, s: DnsState, t: DnsState) -> bool:
        """No step moves the active plan or any endpoint back to an older plan."""
        return t.applied >= s.applied and all(
            after >= before for before, after in zip(s.dns, t.dns, strict=True)
        )

    @recoverable(using=("plan", "pickup", "apply", "finish", "cleanup"))
    def always_recoverable(self, s: DnsState) -> bool:
        """Healthy: every endpoint resolves and the newest plan is active."""
        store = s.store
        return all(store >> d & 1 for d in s.dns) and s.applied == s.latest

    @terminal
    def no_unexpected_deadlock(self, s: DnsState) -> bool:
        """A state with no enabled action has the last plan active."""
        return s.applied == self.generations
