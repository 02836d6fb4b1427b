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
    modelcheck bmc specs/dns_race.py --depth 12
    modelcheck prove specs/dns_race.py -p check_at_apply=true -p generations=50

It is in the symbolic subset (``modelcheck.symbolic``): every field has a
declared bounded type, so the z3 engine runs the same actions on symbolic
values; the lemmas at the end make the fix provable by induction.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from modelcheck import (
    BitSet,
    Spec,
    State,
    Symmetry,
    action,
    action_property,
    invariant,
    recoverable,
    terminal,
)
from modelcheck.symbolic import Bits, Each, OneOf, Range, all_of, below, implies, minimum

IDLE, APPLYING, CLEANING = "Idle", "Applying", "Cleaning"


def _put(values: tuple[int | str, ...], i: int, value: int | str) -> tuple:
    """``values`` with position ``i`` replaced."""
    changed = list(values)
    changed[i] = value
    return tuple(changed)


class DnsState(State):
    # Each field has a declared bounded type (the symbolic subset) for z3;
    # at run time the values are the plain ints, strings and tuples.
    # newest plan the Planner has created
    latest: Annotated[int, Range(1, "generations")]
    # plans that exist in the plan store (bit p set: plan p exists)
    store: Annotated[BitSet, Bits(1, "generations")]
    # plan recorded as active by the last Enactor to finish
    applied: Annotated[int, Range(0, "generations")]
    # dns[m]: the plan endpoint m's record points at
    dns: Annotated[tuple[int, ...], Each("endpoints", Range(0, "generations"))]
    # pc[e]: Idle, Applying or Cleaning
    pc: Annotated[tuple[str, ...], Each("enactors", OneOf(IDLE, APPLYING, CLEANING))]
    # plan[e]: the plan Enactor e holds (0 when idle)
    plan: Annotated[tuple[int, ...], Each("enactors", Range(0, "generations"))]
    # next[e]: the next endpoint Enactor e writes
    next: Annotated[tuple[int, ...], Each("enactors", Range(0, "endpoints"))]


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

    # The Enactors are interchangeable: renaming them maps runs to runs and
    # leaves every property as it was (no field holds an Enactor's id), so
    # `check --symmetry` explores one state per orbit of the renamings.
    symmetry: ClassVar[Symmetry] = Symmetry("enactors", per_id=("pc", "plan", "next"))

    enactors: int = 2
    endpoints: int = 2
    generations: int = 4
    keep: int = 1
    check_at_apply: bool = False
    protect_active: bool = False
    #: Lets an operator restore deleted plans by hand (off: the reference model).
    operator: bool = False

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

    @action(actor="Operator", operator=True)
    def restore(self, s: DnsState) -> DnsState | None:
        """An operator re-creates, by hand, the deleted plans that the active-plan record or a
        DNS record points at (only with ``operator=True``; not part of the reference model)."""
        if not self.operator:
            return None
        wanted = 1 << s.applied
        for d in s.dns:
            wanted |= 1 << d
        if s.store & wanted == wanted:
            return None
        return s.replace(store=s.store | wanted)

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

    # --- lemmas: auxiliary invariants for `modelcheck prove` ---------------------------
    # k-induction assumes the properties in an arbitrary state that satisfies
    # them, reachable or not, and asks whether one step can break them.  The
    # lemmas below are facts about reachable states that rule out the
    # unreachable states from which a step would; `prove` proves each of them
    # too (they are never trusted), and the explicit engines ignore them.
    # They are written with the one-term helpers of modelcheck.symbolic, so
    # that z3 sees one formula rather than one path per Enactor and endpoint.

    @invariant(lemma=True)
    def nothing_newer_than_latest(self, s: DnsState) -> bool:
        """No plan is active, held or pointed at before the Planner created it."""
        # Needed by every property: without it a state with applied = 3 and
        # latest = 2 satisfies them, and a clean-up of plan 4 - 1 ... deletes it.
        return all_of(
            s.applied <= s.latest,
            *(d <= s.latest for d in s.dns),
            *(p <= s.latest for p in s.plan),
        )

    @invariant(lemma=True)
    def written_endpoints_are_at_least_the_writers_plan(self, s: DnsState) -> bool:
        """With fix 1, an endpoint an Enactor has written is at its plan or newer."""
        # The heart of fix 1: the compare-and-set makes an Enactor's writes
        # stick (later writes only go up), so when it cleans up, every record
        # and the active plan are at least its plan, hence newer than anything
        # it deletes.  Without this, induction starts from a Cleaning Enactor
        # holding plan 4 while dns[0] = 2, and its clean-up deletes plan 2.
        if not self.check_at_apply:
            return True  # fix 1 off: false (the race), and not needed
        facts = []
        for e in range(self.enactors):
            mine = s.plan[e]
            cleaning = s.pc[e] == CLEANING
            applying = s.pc[e] == APPLYING
            facts.append(implies(cleaning, s.applied >= mine))
            for m, d in enumerate(s.dns):
                written = cleaning | (applying & (m < s.next[e]))
                facts.append(implies(written, d >= mine))
        return all_of(*facts)

    @invariant(lemma=True)
    def plans_from_oldest_in_use_to_latest_exist(self, s: DnsState) -> bool:
        """With fix 1, every plan from the oldest in use up to the latest is stored."""
        # What active_plan_never_deleted needs to be inductive: the plans in
        # use lie in this interval (by nothing_newer_than_latest), the Planner
        # extends it at the top, and clean-up deletes only below it (by
        # written_endpoints_are_at_least_the_writers_plan).
        if not self.check_at_apply:
            return True
        oldest = s.applied
        for d in s.dns:
            oldest = minimum(oldest, d)
        span = below(s.latest + 1) & ~below(oldest)
        return s.store & span == span
