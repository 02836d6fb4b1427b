"""What the statistics mean: seconds include the initial states; depth counts steps."""

from __future__ import annotations

import time

from modelcheck import Spec, State, action, check, compile_spec, invariant
from modelcheck.engines.simulate import SimulateOptions, simulate
from modelcheck.render.text import render_summary, render_trace
from modelcheck.wording import n_steps, plural

PAUSE = 0.3


class One(State):
    n: int


class SlowStart(Spec):
    """Computing the initial states takes PAUSE seconds (a stand-in for many of them)."""

    def initial_states(self):
        time.sleep(PAUSE)
        return One(0)

    @action
    def inc(self, s):
        return s.replace(n=s.n + 1) if s.n < 1 else None

    @invariant
    def below_one(self, s):
        return s.n < 1


def test_check_seconds_include_computing_the_initial_states():
    # Not a speed threshold: sleeping PAUSE seconds guarantees at least that much time.
    assert check(SlowStart()).statistics.seconds >= PAUSE


def test_simulate_seconds_include_computing_the_initial_states():
    assert simulate(compile_spec(SlowStart()), SimulateOptions(runs=1)).seconds >= PAUSE


def test_one_step_is_one_step_everywhere():
    result = check(SlowStart())
    summary = render_summary(result)
    assert "depth 1 step," in summary
    assert "(shortest counterexample: 1 step)" in summary
    assert render_trace(result.verdict("below_one").counterexample).startswith(
        "Counterexample to below_one (invariant): 1 step\n"
    )
    assert "1 steps" not in summary


def test_plural_forms():
    assert [n_steps(n) for n in (0, 1, 2, 1234)] == ["0 steps", "1 step", "2 steps", "1,234 steps"]
    assert plural(1, "run") == "1 run" and plural(3, "legal step") == "3 legal steps"
