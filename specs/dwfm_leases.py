"""dwfm-leases: lease recovery after a store outage, and its congestive collapse (October 2025).

In the outage's second layer, EC2's DropletWorkflow Manager (DWFM) keeps a
lease on each physical host ("droplet") and renews it through the store that
had just failed.  While the store was down the leases timed out; when it came
back, DWFM had to re-establish all of them at once, and each attempt now
took longer than the lease timeout, so attempts timed out and were retried
faster than they could finish.  Nothing completed until engineers throttled
the incoming work and restarted DWFM hosts.

The model, in those terms:

- ``hosts`` leases, each ``valid`` or waiting for a renewal (``queued``).
- The store is up or down; it fails at most ``outages`` times (an
  environment step nobody has to take) and always heals (weakly fair).
  While it is down, any valid lease may expire, which queues its renewal;
  renewals in flight are lost and queued again.
- DWFM starts queued renewals while fewer than ``concurrency`` are in
  flight.  The store's throughput is shared: with ``n`` renewals in flight
  each needs ``work * n`` ticks to complete (its age counts the ticks since
  it started), and then its lease is valid again.  A renewal ``timeout``
  ticks old that has not completed is abandoned and retried at once (it
  stays in flight, its age back at 0): the retry of the incident, which
  keeps the load where it is.
- So once so many renewals are in flight that ``work * n > timeout``, none
  ever completes and none ever leaves: the renewals take longer than the
  timeout, the *congestive collapse*, a trap that the automation alone
  cannot leave.
- Operators can ``throttle`` (turn admission control on) and ``restart``
  DWFM (its renewals in flight go back to the queue), each once: an
  intervention, not a loop.  Both are families of their own, never forced
  (not fair), so "by automation alone" means without them, and a run that
  never recovers cannot blame them.

The fix (``admission=True``) is admission control: DWFM starts a renewal
only if, with it, every renewal in flight still completes within the
timeout (``work * (n + 1) <= timeout``).  It is what the engineers
did by hand when they throttled DWFM's incoming work; AWS's summary of the
event names throttling of this kind among its remediations.

Properties: ``leases_recover`` (``[]<>`` every lease valid: under fairness of
the automated actions the system gets back to full health again and again,
however the bounded outages fall) fails without the fix with a lasso of
renewals timing out and being retried forever; ``recoverable_by_automation``
fails with the shortest run into the trap.  ``recoverable_with_operators``
fails too, and its counterexample is the incident's lesson: an operator who
restarts DWFM without throttling it first sends it straight back into the
collapse, and then nothing is left to try; throttling, then restarting,
always gets out.  With the fix all three hold.

    modelcheck check specs/dwfm_leases.py
    modelcheck check specs/dwfm_leases.py -p admission=true
"""

from __future__ import annotations

from typing import ClassVar

from modelcheck import Spec, State, action, recoverable
from modelcheck.spec import always_eventually

UP, DOWN = "up", "down"
#: The action families of the automation (the rest are the operators' and the environment's).
AUTOMATION = ("heal", "expire", "fail", "start", "tick")


class Leases(State):
    store: str  # "up" or "down"
    outages_left: int  # how many more times the store may fail
    valid: int  # leases that are valid
    queued: int  # leases waiting for a renewal to start
    inflight: tuple[int, ...]  # the ages of the renewals in flight, sorted
    throttled: bool  # admission control switched on by an operator
    restarted: bool  # an operator has restarted DWFM


class DwfmLeases(Spec):
    """DWFM's lease renewals after a store outage, with admission control as the fix."""

    hosts: int = 3
    concurrency: int = 3
    work: int = 1
    timeout: int = 2
    outages: int = 1
    admission: bool = False

    components: ClassVar[dict[str, str]] = {
        "store": "Store",
        "outages_left": "Store",
        "valid": "Leases",
        "queued": "DWFM",
        "inflight": "DWFM",
        "throttled": "DWFM",
        "restarted": "DWFM",
    }

    def __attrs_post_init__(self) -> None:
        if not 0 < self.work <= self.timeout:
            raise ValueError("work must be at least 1 tick and at most the timeout")
        if self.concurrency < 1 or self.hosts < 1:
            raise ValueError("hosts and concurrency must be at least 1")

    def initial_states(self) -> Leases:
        return Leases(UP, self.outages, self.hosts, 0, (), False, False)

    def _admits(self, s: Leases) -> bool:
        """Whether DWFM may start one more renewal."""
        if len(s.inflight) >= self.concurrency:
            return False
        if self.admission or s.throttled:  # only if all still complete in time
            return self.work * (len(s.inflight) + 1) <= self.timeout
        return True

    # --- the environment: the store fails (at most ``outages`` times) and heals --------------

    @action(actor="Store")
    def fail(self, s: Leases) -> Leases | None:
        """The store fails; renewals in flight are lost and queued again."""
        if s.store != UP or s.outages_left == 0:
            return None
        return s.replace(
            store=DOWN,
            outages_left=s.outages_left - 1,
            queued=s.queued + len(s.inflight),
            inflight=(),
        )

    @action(actor="Store", fair="weak")
    def heal(self, s: Leases) -> Leases | None:
        """The store comes back."""
        return s.replace(store=UP) if s.store == DOWN else None

    @action(actor="Lease timer")
    def expire(self, s: Leases) -> Leases | None:
        """While the store is down, a lease times out and its renewal is queued."""
        if s.store != DOWN or s.valid == 0:
            return None
        return s.replace(valid=s.valid - 1, queued=s.queued + 1)

    # --- DWFM ------------------------------------------------------------------------------

    @action(actor="DWFM", fair="weak")
    def start(self, s: Leases) -> Leases | None:
        """DWFM starts a queued renewal (while fewer than ``concurrency`` are in flight)."""
        if s.store != UP or s.queued == 0 or not self._admits(s):
            return None
        return s.replace(queued=s.queued - 1, inflight=tuple(sorted((*s.inflight, 0))))

    @action(actor="DWFM", fair="weak")
    def tick(self, s: Leases) -> Leases | None:
        """Time passes: renewals age; those old enough for the load complete; the timed out
        are retried at once."""
        if s.store != UP or not s.inflight:
            return None
        needed = self.work * len(s.inflight)  # the store's throughput, shared
        ages, done = [], 0
        for age in s.inflight:
            age += 1
            if age >= needed:
                done += 1  # the lease is valid again
            elif age >= self.timeout:
                ages.append(0)  # abandoned and retried, still in flight
            else:
                ages.append(age)
        return s.replace(valid=s.valid + done, inflight=tuple(sorted(ages)))

    # --- operators (never forced: not fair) --------------------------------------------------

    @action(actor="Operator", operator=True)
    def throttle(self, s: Leases) -> Leases | None:
        """An operator switches admission control on."""
        return None if s.throttled else s.replace(throttled=True)

    @action(actor="Operator", operator=True)
    def restart(self, s: Leases) -> Leases | None:
        """An operator restarts DWFM (once): its renewals in flight go back to the queue."""
        if s.restarted or not s.inflight:
            return None
        return s.replace(queued=s.queued + len(s.inflight), inflight=(), restarted=True)

    # --- properties --------------------------------------------------------------------------

    @always_eventually
    def leases_recover(self, s: Leases) -> bool:
        """Again and again, every lease is valid (under fairness of heal, start and tick)."""
        return s.valid == self.hosts

    @recoverable(using=AUTOMATION)
    def recoverable_by_automation(self, s: Leases) -> bool:
        """From every reachable state the automation alone can make every lease valid."""
        return s.valid == self.hosts

    @recoverable
    def recoverable_with_operators(self, s: Leases) -> bool:
        """From every reachable state some run, operators' included, makes every lease valid."""
        return s.valid == self.hosts
