"""Lamport's distributed mutual exclusion, written the natural way.

After the TLA+ ``LamportMutex`` spec: ``procs`` processes with logical
clocks, FIFO channels ``net[p][q]`` (tuples of message tuples), each
process's view of the request queue ``req[p][q]`` (0: no request) and the
set of processes that acknowledged it.  ``@constraint`` bounds the clocks
(TLC's ``maxClock``), the standard way to make the state space finite.
"""

from __future__ import annotations

from modelcheck import Spec, State, action, constraint, invariant


class LM(State):
    clock: tuple[int, ...]
    req: tuple[tuple[int, ...], ...]
    ack: tuple[frozenset[int], ...]
    net: tuple[tuple[tuple[tuple, ...], ...], ...]
    crit: frozenset[int]


def put(t: tuple, i: int, v: object) -> tuple:
    return (*t[:i], v, *t[i + 1 :])


class LamportMutex(Spec):
    procs: int = 2
    max_clock: int = 3

    def initial_states(self) -> LM:
        n = self.procs
        empty = tuple(tuple(() for _ in range(n)) for _ in range(n))
        return LM((0,) * n, ((0,) * n,) * n, (frozenset(),) * n, empty, frozenset())

    def _before(self, req: tuple[int, ...], p: int, q: int) -> bool:
        # p's request precedes q's: smaller clock, ties broken by process id.
        return req[p] != 0 and (req[q] == 0 or (req[p], p) < (req[q], q))

    def _send(self, net, p: int, q: int, msg: tuple):
        return put(net, p, put(net[p], q, net[p][q] + (msg,)))

    @action(p="procs")
    def request(self, s: LM, p: int) -> LM | None:
        if s.req[p][p] != 0:
            return None
        clock = s.clock[p] + 1
        net = s.net
        for q in range(self.procs):
            if q != p:
                net = self._send(net, p, q, ("req", clock))
        return s.replace(
            clock=put(s.clock, p, clock),
            req=put(s.req, p, put(s.req[p], p, clock)),
            ack=put(s.ack, p, frozenset({p})),
            net=net,
        )

    @action(p="procs", q="procs")
    def receive(self, s: LM, p: int, q: int) -> LM | None:
        """p takes the oldest message q sent it."""
        if p == q or not s.net[q][p]:
            return None
        msg, rest = s.net[q][p][0], s.net[q][p][1:]
        net = put(s.net, q, put(s.net[q], p, rest))
        kind = msg[0]
        if kind == "req":
            clock = max(s.clock[p], msg[1]) + 1
            net = self._send(net, p, q, ("ack", clock))
            return s.replace(
                clock=put(s.clock, p, clock), req=put(s.req, p, put(s.req[p], q, msg[1])), net=net
            )
        if kind == "ack":
            clock = max(s.clock[p], msg[1]) + 1
            return s.replace(
                clock=put(s.clock, p, clock), ack=put(s.ack, p, s.ack[p] | {q}), net=net
            )
        return s.replace(req=put(s.req, p, put(s.req[p], q, 0)), net=net)  # release

    @action(p="procs")
    def enter(self, s: LM, p: int) -> LM | None:
        if p in s.crit or len(s.ack[p]) != self.procs:
            return None
        if all(self._before(s.req[p], p, q) for q in range(self.procs) if q != p):
            return s.replace(crit=s.crit | {p})
        return None

    @action(p="procs")
    def exit(self, s: LM, p: int) -> LM | None:
        if p not in s.crit:
            return None
        net = s.net
        for q in range(self.procs):
            if q != p:
                net = self._send(net, p, q, ("rel",))
        return s.replace(
            crit=s.crit - {p},
            req=put(s.req, p, put(s.req[p], p, 0)),
            ack=put(s.ack, p, frozenset()),
            net=net,
        )

    @constraint
    def clocks_bounded(self, s: LM) -> bool:
        return max(s.clock) <= self.max_clock

    @invariant
    def mutual_exclusion(self, s: LM) -> bool:
        return len(s.crit) <= 1
