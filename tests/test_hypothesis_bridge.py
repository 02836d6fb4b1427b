"""The spec-to-Hypothesis bridge: rules, properties, terminal states, reports, shortest traces."""

from __future__ import annotations

import io
import unittest

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine
from mbt_toys import Stuck, Tally, TwoCounters

from modelcheck import compile_spec, load_trace, replay
from modelcheck.errors import PropertyViolation, SpecError
from modelcheck.integrations import hypothesis as modelcheck_hypothesis

QUICK = settings(
    max_examples=30, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
# Short runs keep Hypothesis' shrinking of dns-race quick (it finds the race in < 15 steps).
DNS = settings(QUICK, stateful_step_count=15, max_examples=50)


def test_a_spec_becomes_a_state_machine_with_one_rule_per_family():
    machine = modelcheck_hypothesis.state_machine(TwoCounters())
    assert issubclass(machine, RuleBasedStateMachine)
    state = machine.setup_state()
    assert {r.function.__name__ for r in state.rules} == {"bump", "no_action_enabled"}
    assert [r.function.__name__ for r in state.initializers] == ["start"]


def test_a_holding_spec_passes_and_terminal_states_do_not_crash_the_machine():
    # Tally stops at n=2 long before Hypothesis' 50 steps: the no-op rule keeps it going.
    # Passing means no exception: a violation raises PropertyViolation, and a
    # machine with no applicable rule makes Hypothesis raise an error.
    modelcheck_hypothesis.run(Tally(n=2), settings=QUICK)
    modelcheck_hypothesis.run(TwoCounters(n=2), settings=QUICK)
    # The same machine does fail when the spec is broken, so passing is meaningful.
    with pytest.raises(PropertyViolation):
        modelcheck_hypothesis.run(Tally(n=2, bad=2), settings=QUICK)


def test_as_test_case_is_a_unittest_case_that_pytest_collects():
    case = modelcheck_hypothesis.as_test_case(Tally(n=3), settings=QUICK)
    assert issubclass(case, unittest.TestCase)
    outcome = unittest.TextTestRunner(stream=io.StringIO()).run(case())
    assert outcome.wasSuccessful()


def test_an_invariant_violation_is_reported_as_a_proven_shortest_trace_that_replays(tmp_path):
    with pytest.raises(PropertyViolation) as info:
        modelcheck_hypothesis.run(Tally(n=6, bad=3), settings=QUICK, trace_dir=tmp_path)
    message = str(info.value)
    assert "never_bad fails" in message
    assert "the trace below has 3 steps, proven shortest" in message
    assert "Counterexample to never_bad (invariant): 3 steps" in message
    assert "modelcheck replay" in message
    saved = load_trace(tmp_path / "Tally-never_bad.json")
    outcome = replay(compile_spec(Tally(n=6, bad=3)), saved)
    assert outcome.legal and outcome.property_fails
    assert isinstance(info.value, AssertionError)
    assert len(info.value.trace) == 3


def test_an_unexpected_deadlock_is_found_where_the_run_gets_stuck(tmp_path):
    with pytest.raises(PropertyViolation) as info:
        modelcheck_hypothesis.run(Stuck(), settings=QUICK, trace_dir=tmp_path)
    assert "ends_at_two fails" in str(info.value)
    assert "no action is enabled" in str(info.value)


def test_without_the_bounded_search_the_trace_is_only_shrunk(tmp_path):
    with pytest.raises(PropertyViolation) as info:
        modelcheck_hypothesis.run(
            Tally(n=6, bad=3), settings=QUICK, trace_dir=tmp_path, shortest=False
        )
    assert "only shrunk" in str(info.value)


def test_a_search_budget_too_small_says_only_shrunk(tmp_path):
    import dns_race

    with pytest.raises(PropertyViolation) as info:
        modelcheck_hypothesis.run(
            dns_race.DnsRace(),
            settings=DNS,
            trace_dir=tmp_path,
            properties="applied_generation_monotonic",
            shortest_max_states=3,
        )
    assert "only shrunk: breadth-first search" in str(info.value)
    assert "3-state budget" in str(info.value)


def test_dns_race_hypothesis_failure_is_a_legal_counterexample(tmp_path):
    import dns_race

    with pytest.raises(PropertyViolation) as info:
        modelcheck_hypothesis.run(dns_race.DnsRace(), settings=DNS, trace_dir=tmp_path)
    trace = info.value.trace
    outcome = replay(compile_spec(dns_race.DnsRace()), trace)
    assert outcome.legal and outcome.property_fails
    assert "proven shortest" in str(info.value)


def test_only_the_chosen_properties_are_checked():
    # With every property, the forbidden value 3 is found ...
    with pytest.raises(PropertyViolation, match="never_bad"):
        modelcheck_hypothesis.run(Tally(n=6, bad=3), settings=QUICK)
    # ... and with only up_by_one chosen, the same runs pass.
    modelcheck_hypothesis.run(Tally(n=6, bad=3), settings=QUICK, properties=["up_by_one"])


def test_an_unknown_property_is_a_clear_spec_error():
    with pytest.raises(SpecError, match=r"no property 'nevr_bad'.*never_bad"):
        modelcheck_hypothesis.state_machine(Tally(), properties=["nevr_bad"])


def test_a_spec_that_raises_is_a_spec_error_with_its_trace():
    with pytest.raises(SpecError, match="ZeroDivisionError"):
        modelcheck_hypothesis.run(Tally(explode_at=1), settings=QUICK)
