"""nlb-failover: the health-check flip-flop of the October 2025 AWS outage.

The incident's third layer.  As EC2 recovered, the load balancers' health
check subsystem checked new instances before their network state had
propagated.  Those checks alternated between failing and passing; the
failover automation removed a target from DNS on a failure and returned it
on the next success, so targets (and whole NLB nodes) went in and out of
DNS, and capacity dropped, until engineers disabled automatic failover by
hand.  AWS's stated remediation for NLB is a velocity control: a limit on
how much capacity health-check failover may remove.

The model, in those terms:

- ``targets`` targets (default 3).  Each is *propagated* or not (its
  network state has reached the health checkers) and *in DNS* or not.
  Initially every target is in DNS and none is propagated.
- ``propagate(t)`` is the environment (EC2's network state propagation)
  finishing for target ``t``.  It is weakly fair: the lag is finite.
- ``check(t)`` is one health check of ``t`` and the automation's response
  to it (weakly fair: checks keep running).  A propagated target passes.
  A target that is not propagated may fail or pass (the write-ups' "health
  checks alternating between failing and healthy"); the step names which
  (``check(t=0, outcome='fail')``).  With the automation on, a failure
  removes an in-DNS target from DNS and a pass returns a removed one.
- *A membership change is new network state.*  With ``churn_restales``
  (default on) removing or returning ``t`` makes its network state
  unpropagated again: the change has to reach the health checkers before a
  check against ``t`` is reliable.  This is the model's one assumption
  beyond the write-ups, and it is what lets the flapping outlive a finite
  propagation lag, as in the incident, where it went on until the operator
  stepped in.  With ``churn_restales=false`` the lag ends the flapping by
  itself (every liveness verdict holds under weak fairness).
- ``velocity_limit``: the velocity control, a limit on the capacity
  health-check failover may remove.  ``removals`` counts the removals of
  the incident (a run is one incident), and a removal is allowed only while
  ``removals < max_removals``; a failing check past that is not acted on.
  So at most ``max_removals`` targets ever leave DNS.
- ``window()`` (with ``velocity_limit`` and ``window_resets``): the limit
  read as a *rate* instead.  The control's window closes and the count
  starts again from the targets still out of DNS (a target removed and not
  yet returned still counts), so at most ``max_removals`` targets are out
  at once, but a window lets new removals in.  Weakly fair: windows keep
  closing.
- ``disable_automation()`` is the operator: automatic failover off and
  every target back in DNS (what the engineers did at 9:36 AM PDT).  It is
  *not* fair, so no run is forced to take it: the liveness properties are
  about the automation alone.

Properties and verdicts (pinned in ``tests/test_nlb_failover.py``):

- ``capacity_above_minimum`` (invariant): at least ``min_capacity`` targets
  are in DNS.  Violated by default (three failing checks empty DNS: 3
  steps); holds with ``velocity_limit`` (``max_removals = targets -
  min_capacity``).
- ``membership_settles`` (``<>[]stable``, stable: every target propagated
  and in DNS, after which nothing changes membership): violated by default
  with the flip-flop as the lasso: fail, removed, pass, returned, again.
  The velocity limit fixes it: once the incident's removals are spent, a
  failing check removes nothing, every removed target comes back on a pass
  and propagates, and membership settles.  Read as a rate
  (``window_resets``) it does not: it bounds how much capacity is out at
  once, not how often a target flips, and the lasso stays fair (windows
  keep closing).  ``hold_until_propagated`` is a fix on its own: the
  automation does not act on a failing check of a target whose network
  state has not propagated (the checker knows the check is not yet
  meaningful); nothing unpropagated is removed and a propagated target
  never fails, so both properties hold.  The write-ups name the cause
  (checks before propagation) and only the velocity control as the
  remedy; this flag is the model's reading of that cause, not a quoted AWS
  fix.

    modelcheck check specs/nlb_failover.py
    modelcheck check specs/nlb_failover.py -p velocity_limit=true
    modelcheck check specs/nlb_failover.py -p velocity_limit=true -p window_resets=true
    modelcheck check specs/nlb_failover.py -p hold_until_propagated=true
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from modelcheck import Choice, Spec, State, action, eventually_always, invariant


def _put(values: tuple[bool, ...], i: int, value: bool) -> tuple[bool, ...]:
    """``values`` with position ``i`` replaced."""
    return (*values[:i], value, *values[i + 1 :])


class NlbState(State):
    # propagated[t]: target t's network state has reached the health checkers
    propagated: tuple[bool, ...]
    # in_dns[t]: target t is in DNS (receives traffic)
    in_dns: tuple[bool, ...]
    # automatic failover is on (the operator can turn it off)
    automation: bool
    # removals counted by the velocity control (always 0 without velocity_limit)
    removals: int


class NlbFailover(Spec):
    """Health-check-driven DNS failover over targets whose network state lags."""

    components: ClassVar[dict[str, str]] = {
        "propagated": "Network state {}",
        "in_dns": "DNS {}",
        "automation": "Failover",
        "removals": "Failover",
    }

    targets: int = 3
    min_capacity: int = 1
    max_removals: int = 2
    velocity_limit: bool = False
    window_resets: bool = False
    hold_until_propagated: bool = False
    churn_restales: bool = True

    def initial_states(self) -> NlbState:
        return NlbState(
            propagated=(False,) * self.targets,
            in_dns=(True,) * self.targets,
            automation=True,
            removals=0,
        )

    # --- the environment ----------------------------------------------------------------

    @action(t="targets", actor=lambda t: f"Network state {t}", fair="weak")
    def propagate(self, s: NlbState, t: int) -> NlbState | None:
        """Target t's network state reaches the health checkers."""
        if s.propagated[t]:
            return None
        return s.replace(propagated=_put(s.propagated, t, True))

    # --- the automation -----------------------------------------------------------------

    @action(t="targets", nondeterministic=True, actor="Failover", fair="weak")
    def check(self, s: NlbState, t: int) -> Iterator[Choice]:
        """One health check of target t and the automation's response to it."""
        outcomes = ("pass",) if s.propagated[t] else ("fail", "pass")
        for outcome in outcomes:
            yield Choice(self._respond(s, t, outcome), outcome=outcome)

    def _respond(self, s: NlbState, t: int, outcome: str) -> NlbState:
        if not s.automation:
            return s
        if outcome == "fail" and s.in_dns[t]:
            if self.hold_until_propagated and not s.propagated[t]:
                return s  # a check before propagation is not acted on
            if self.velocity_limit and s.removals >= self.max_removals:
                return s  # the velocity control refuses the removal
            removals = s.removals + 1 if self.velocity_limit else 0
            return self._membership(s.replace(removals=removals), t, False)
        if outcome == "pass" and not s.in_dns[t]:
            return self._membership(s, t, True)
        return s

    def _membership(self, s: NlbState, t: int, in_dns: bool) -> NlbState:
        propagated = _put(s.propagated, t, False) if self.churn_restales else s.propagated
        return s.replace(in_dns=_put(s.in_dns, t, in_dns), propagated=propagated)

    @action(
        actor="Failover",
        fair=lambda self: "weak" if self.velocity_limit and self.window_resets else None,
    )
    def window(self, s: NlbState) -> NlbState | None:
        """The velocity window closes; the next counts the targets still out of DNS."""
        if not (self.velocity_limit and self.window_resets):
            return None
        out = s.in_dns.count(False)
        if s.removals == out:
            return None  # nothing to forget: closing the window changes nothing
        return s.replace(removals=out)

    # --- the operator (never fair: no run is forced to call for help) --------------------

    @action(actor="Operator", operator=True)
    def disable_automation(self, s: NlbState) -> NlbState | None:
        """An engineer turns automatic failover off and returns every target to DNS."""
        if not s.automation:
            return None
        in_dns = (True,) * self.targets
        propagated = s.propagated
        if self.churn_restales:
            propagated = tuple(p and was for p, was in zip(s.propagated, s.in_dns, strict=True))
        return s.replace(automation=False, in_dns=in_dns, propagated=propagated, removals=0)

    # --- properties ---------------------------------------------------------------------

    @invariant
    def capacity_above_minimum(self, s: NlbState) -> bool:
        """At least ``min_capacity`` targets are in DNS."""
        return s.in_dns.count(True) >= self.min_capacity

    @eventually_always
    def membership_settles(self, s: NlbState) -> bool:
        """<>[]stable: from some point on every target is propagated and in DNS."""
        return all(s.propagated) and all(s.in_dns)
