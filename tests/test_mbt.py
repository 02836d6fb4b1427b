"""Model-based testing: lock-step runs, divergences side by side, exhaustive interleavings."""

from __future__ import annotations

import pytest
from hypothesis import settings
from mbt_toys import CounterImpl, Tally, TwoCounters

from modelcheck.errors import SpecError
from modelcheck.integrations import hypothesis as modelcheck_hypothesis
from modelcheck.integrations.mbt import Binding, MbtFailure, explore, side_by_side

QUICK = settings(max_examples=40, derandomize=True, database=None)


def counters(n=2, **impl):
    started = []

    def start():
        system = CounterImpl(**impl)
        started.append(system)
        return system

    binding = Binding(
        spec=TwoCounters(n=n),
        start=start,
        actions={"bump": lambda system, which: system.bump(which)},
        observe=lambda system: dict(system.values),
        abstract=lambda state: {"a": state.a, "b": state.b},
        stop=lambda system: setattr(system, "closed", True),
    )
    return binding, started


def test_a_correct_implementation_passes_every_interleaving_to_the_depth():
    binding, started = counters(n=2)
    report = explore(binding, depth=4)
    # Interleavings of two counters 0..2 over 4 steps: choose which 2 steps bump a.
    assert report.paths == 6
    assert report.states == 9
    assert all(system.closed for system in started)


def test_explore_stops_at_terminal_states_before_the_depth():
    binding, _ = counters(n=1)
    report = explore(binding, depth=10)
    assert report.paths == 2  # a then b, or b then a


def test_a_divergence_shows_model_and_observed_state_side_by_side():
    binding, started = counters(n=3, skip_at=1)
    with pytest.raises(MbtFailure) as info:
        explore(binding, depth=4)
    failure = info.value
    assert failure.kind == "divergence"
    assert failure.observed == {"a": 3, "b": 0}
    assert "diverged from the model" in str(failure)
    assert "a      2      3         <- differs" in str(failure)
    assert [s.label for s in failure.trace.steps] == ["bump(which='a')", "bump(which='a')"]
    assert all(system.closed for system in started)


def test_an_exception_in_the_implementation_is_a_failure_of_kind_error():
    binding, _ = counters(n=3, raise_at=1)
    with pytest.raises(MbtFailure) as info:
        explore(binding, depth=3)
    assert info.value.kind == "error"
    assert "OSError: disk on fire" in str(info.value)


def test_a_property_violation_of_the_model_fails_the_lock_step_run():
    binding = Binding(
        spec=Tally(n=5, bad=2),
        start=lambda: [0],
        actions={"inc": lambda box: box.__setitem__(0, box[0] + 1)},
        observe=lambda box: box[0],
        abstract=lambda s: s.value,
    )
    with pytest.raises(MbtFailure) as info:
        explore(binding, depth=5)
    assert info.value.kind == "violation"
    assert info.value.property == "never_bad"
    assert len(info.value.trace) == 2


def test_the_hypothesis_lock_step_test_passes_and_finds_divergences(tmp_path):
    good, _ = counters(n=3)
    modelcheck_hypothesis.run_mbt(good, settings=QUICK)
    bad, _ = counters(n=3, skip_at=2)
    with pytest.raises(MbtFailure) as info:
        modelcheck_hypothesis.run_mbt(bad, settings=QUICK, trace_dir=tmp_path)
    assert info.value.kind == "divergence"
    assert "<- differs" in str(info.value)
    assert len(info.value.trace) == 3  # shrunk to a, a, a


def test_every_action_family_must_be_mapped_and_only_those():
    with pytest.raises(SpecError, match="does not map bump"):
        Binding(spec=TwoCounters(), start=dict, actions={}, observe=dict).model()
    with pytest.raises(SpecError, match=r"'bmp'.*Did you mean 'bump'"):
        Binding(
            spec=TwoCounters(), start=dict, actions={"bmp": print, "bump": print}, observe=dict
        ).model()


def test_side_by_side_of_values_that_are_not_records():
    assert "<- differs" in side_by_side(1, 2)
    assert "<- differs" not in side_by_side(1, 1)
