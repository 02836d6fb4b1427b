"""Two-phase commit with the TM's receive choosing its message from the state.

The same protocol as ``two_phase.py``; only ``tm_rcv_prepared`` differs:
instead of one action instance per resource manager (most of them disabled
in any state), it takes its message from the state's message set, as TLA+'s
``\\E m \\in msgs`` does.
"""

from __future__ import annotations

from two_phase import TP, TwoPhase

from modelcheck import action


class TwoPhaseChoose(TwoPhase):
    @action(r=lambda self, s: [m[1] for m in s.msgs if m[0] == "prepared"])
    def tm_rcv_prepared(self, s: TP, r: int) -> TP | None:
        if s.tm == "init" and r not in s.tm_prepared:
            return s.replace(tm_prepared=s.tm_prepared | {r})
        return None
