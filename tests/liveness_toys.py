"""Tiny specs whose liveness verdicts are worked out by hand (see tests/test_liveness.py)."""

from __future__ import annotations

from modelcheck import (
    Spec,
    State,
    action,
    always_eventually,
    constraint,
    eventually,
    eventually_always,
    invariant,
    leads_to,
)


class Count(State):
    x: int


class LoopingCounter(Spec):
    """x counts 0, 1, 2 by ``step``; ``idle`` may do nothing, forever, before x is 2.

    Unfair, the run that idles at x=0 forever never reaches 2; with
    ``weak=True`` ``step`` is weakly fair (always enabled below 2, so it
    must be taken), and every run reaches 2 and stops there.
    """

    weak: bool = False

    def initial_states(self):
        return [Count(0)]

    @action(fair=lambda self: "weak" if self.weak else None)
    def step(self, s):
        return Count(s.x + 1) if s.x < 2 else None

    @action
    def idle(self, s):
        return s if s.x < 2 else None

    @eventually
    def reaches_two(self, s):
        return s.x == 2

    @always_eventually
    def two_again_and_again(self, s):
        return s.x == 2


class StuckCounter(Spec):
    """x goes from 0 to 1 and no further: a deadlock, so ``eventually x == 2`` fails
    even with every action fair (the run stutters forever in x=1)."""

    def initial_states(self):
        return [Count(0)]

    @action(fair="strong")
    def step(self, s):
        return Count(1) if s.x == 0 else None

    @eventually
    def reaches_two(self, s):
        return s.x == 2

    @eventually
    def reaches_one(self, s):
        return s.x == 1


class Procs(State):
    pc: tuple[str, str]


class Mutex(Spec):
    """Two processes share a critical section; ``enter`` is fair as ``fairness`` says.

    A process may stay idle forever (``request`` is not fair), but once in
    the critical section it leaves (``exit`` is weakly fair).  With weak
    fairness of ``enter`` process 0 can starve: it waits while process 1
    requests, enters and exits again and again, so ``enter(p=0)`` is
    disabled whenever process 1 is critical and is never *continuously*
    enabled.  With strong fairness ``enter(p=0)``, enabled again and again,
    must be taken: no starvation.
    """

    fairness: str = "weak"

    def initial_states(self):
        return [Procs(("idle", "idle"))]

    @action(p=2)
    def request(self, s, p):
        if s.pc[p] != "idle":
            return None
        return Procs(_set(s.pc, p, "waiting"))

    @action(p=2, fair=lambda self: None if self.fairness == "none" else self.fairness)
    def enter(self, s, p):
        if s.pc[p] != "waiting" or "critical" in s.pc:
            return None
        return Procs(_set(s.pc, p, "critical"))

    @action(p=2, fair="weak")
    def exit(self, s, p):
        if s.pc[p] != "critical":
            return None
        return Procs(_set(s.pc, p, "idle"))

    @invariant
    def mutual_exclusion(self, s):
        return s.pc != ("critical", "critical")

    @leads_to(lambda self, s: s.pc[0] == "waiting")
    def process_0_enters(self, s):
        return s.pc[0] == "critical"


def _set(values, i, value):
    return tuple(value if j == i else v for j, v in enumerate(values))


class Link(State):
    sent: bool
    acked: bool
    noise: int


class Handshake(Spec):
    """A request is acknowledged and reset; ``jitter`` changes nothing that matters.

    Unfair, the run may ``jitter`` forever after sending, so the request is
    never acknowledged; with ``ack`` weakly fair (``fair_ack=True``) every
    request is acknowledged: ``sent ~> acked`` holds.
    """

    fair_ack: bool = False

    def initial_states(self):
        return [Link(False, False, 0)]

    @action(fair="weak")
    def send(self, s):
        return Link(True, False, s.noise) if not s.sent else None

    @action(fair=lambda self: "weak" if self.fair_ack else None)
    def ack(self, s):
        return Link(True, True, s.noise) if s.sent and not s.acked else None

    @action(fair="weak")
    def reset(self, s):
        return Link(False, False, s.noise) if s.acked else None

    @action
    def jitter(self, s):
        return Link(s.sent, s.acked, 1 - s.noise)

    @leads_to("is_sent")
    def acknowledged(self, s):
        return s.acked

    def is_sent(self, s):
        return s.sent

    @leads_to(lambda self, s: s.noise == 7)
    def never_triggered(self, s):
        return s.acked


class FlipFlop(Spec):
    """x flips between 0 and 1 until ``settle`` sets it to 2, where it stays.

    ``<>[] x == 2`` fails unfairly (flip forever) and holds when ``settle``
    is weakly fair (it is enabled in 0 and 1, so a run must take it).
    ``never`` is strongly fair but never enabled: the check warns.
    """

    fair_settle: bool = False

    def initial_states(self):
        return [Count(0)]

    @action
    def flip(self, s):
        return Count(1 - s.x) if s.x < 2 else None

    @action(fair=lambda self: "weak" if self.fair_settle else None)
    def settle(self, s):
        return Count(2) if s.x < 2 else None

    @action(fair="strong")
    def never(self, s):
        return Count(3) if s.x == 5 else None

    @eventually_always
    def settled(self, s):
        return s.x == 2


class BoundedLoop(LoopingCounter):
    """LoopingCounter under a state constraint: liveness is not checked."""

    @constraint
    def small(self, s):
        return s.x < 2


class Machine(State):
    mode: str  # "ok", "stuck" or "fixed"


class JammingMachine(Spec):
    """A machine that works ("ok"), may jam ("stuck") and then spins there; operators
    can ``reset`` it (back to "ok", where it may jam again) or ``repair`` it ("fixed",
    where it can no longer jam).  Worked out by hand for ``healthy_again_and_again``
    (``[]<> mode != "stuck"``), with ``spin`` and ``work`` weakly fair:

    * the automation alone violates it from "ok" (jam, then spin forever) and from
      "stuck": 2 of the 3 states are trapped; "fixed" is not (it only works);
    * from the loop (stuck, spinning), ``reset()`` leads to "ok", which is still
      trapped, and ``repair()`` to "fixed", which is not: the way out is ``repair()``.

    With ``sabotage=True`` the machine cannot jam by itself; only the operator action
    ``sabotage`` sends it to "stuck": the automation alone satisfies the property.
    With ``no_repair=True`` "fixed" is unreachable and neither operator leads out.
    """

    sabotage: bool = False
    no_repair: bool = False

    def initial_states(self):
        return [Machine("ok")]

    @action(fair="weak")
    def work(self, s):
        return s if s.mode in ("ok", "fixed") else None

    @action
    def jam(self, s):
        return Machine("stuck") if s.mode == "ok" and not self.sabotage else None

    @action(fair="weak")
    def spin(self, s):
        return s if s.mode == "stuck" else None

    @action(operator=True)
    def reset(self, s):
        return Machine("ok") if s.mode == "stuck" else None

    @action(operator=True)
    def repair(self, s):
        return Machine("fixed") if s.mode == "stuck" and not self.no_repair else None

    @action(operator=True)
    def jolt(self, s):
        return Machine("stuck") if s.mode == "ok" and self.sabotage else None

    @always_eventually
    def healthy_again_and_again(self, s):
        return s.mode != "stuck"
