"""The BFS engine on tiny specs whose figures are computed by hand (see tests/toy_specs.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import toy_specs
from toy_specs import (
    BoundedQueue,
    Count,
    Counter,
    InterruptedCounter,
    Node,
    OperatorRepair,
    PathGraph,
    RandomWalk,
    TwoProcessLock,
)

from modelcheck import (
    CheckOptions,
    Progress,
    Spec,
    SpecError,
    SpecRuntimeError,
    State,
    Status,
    action,
    check,
    compile_spec,
    invariant,
    recoverable,
)
from modelcheck.result import ExitCode


def figures(result):
    st = result.statistics
    return st.states, st.transitions, st.depth


def statuses(result):
    return {v.property: v.status for v in result.verdicts}


# --- exact state spaces ----------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 5, 40])
def test_counter_has_n_plus_one_states_n_transitions_and_depth_n(n):
    result = check(Counter(n=n))
    assert figures(result) == (n + 1, n, n)
    assert result.complete and result.ok
    assert result.exit_code is ExitCode.OK


def test_two_processes_with_a_lock_have_8_states_14_transitions_depth_3():
    result = check(TwoProcessLock())
    assert figures(result) == (8, 14, 3)
    assert statuses(result) == {"mutual_exclusion": Status.HOLDS, "no_deadlock": Status.HOLDS}


def test_a_lock_that_ignores_its_owner_loses_mutual_exclusion_in_four_steps():
    result = check(TwoProcessLock(broken=True))
    verdict = result.verdict("mutual_exclusion")
    assert verdict.status is Status.VIOLATED
    trace = verdict.counterexample
    assert len(trace) == 4
    assert sorted(s.action for s in trace) == ["acquire", "acquire", "request", "request"]
    assert trace.final.pc == ("crit", "crit")
    assert result.exit_code is ExitCode.VIOLATED


def test_bounded_queue_of_two_letters_and_capacity_two_has_21_states_36_transitions_depth_4():
    result = check(BoundedQueue())
    assert figures(result) == (21, 36, 4)
    assert result.verdict("first_in_first_out").status is Status.HOLDS


def test_bounded_queue_without_last_got_has_one_state_per_word():
    # Words of length <= 3 over 2 letters: 1 + 2 + 4 + 8 = 15 states; puts from the
    # 7 words shorter than 3 (2 each, 14) and gets from the 14 non-empty words: 28.
    result = check(BoundedQueue(capacity=3, track_last=False))
    assert figures(result) == (15, 28, 3)


def test_bounded_queue_becomes_full_after_capacity_puts():
    for capacity in (1, 2, 3):
        trace = check(BoundedQueue(capacity=capacity)).verdict("never_full").counterexample
        assert len(trace) == capacity
        assert [s.action for s in trace] == ["put"] * capacity


def test_nondeterministic_walk_counts_every_choice_as_a_transition():
    for n in (1, 4, 9):
        result = check(RandomWalk(n=n))
        assert figures(result) == (n + 1, 2 * n, n)
        trace = result.verdict("never_at_end").counterexample
        assert [s.state.at for s in trace] == list(range(1, n + 1))


def test_a_nondeterministic_action_that_yields_nothing_is_disabled():
    class Stuck(RandomWalk):
        @action(nondeterministic=True)
        def step(self, s):
            return iter(())

    assert figures(check(Stuck())) == (1, 0, 0)


def test_graph_built_from_paths_has_its_reachable_nodes_and_edges():
    result = check(PathGraph())
    assert figures(result) == (6, 7, 3)


def test_graph_counts_only_nodes_reachable_from_the_start():
    # From d: d -> a -> (b, e) -> c -> x: all 6 again, but distances change:
    # a 1, b and e 2, c 3, x 4.
    result = check(PathGraph(start="d", avoid="zz"))
    assert figures(result) == (6, 7, 4)
    result = check(PathGraph(paths=(("a", "b"), ("c", "d")), avoid="zz"))
    assert figures(result) == (2, 1, 1)


def test_graph_shortest_counterexample_takes_the_shorter_of_two_paths():
    trace = check(PathGraph()).verdict("avoids").counterexample
    # a->b->c->d is 3 steps, a->e->d is 2.
    assert [s.state for s in trace] == [Node("e"), Node("d")]


def test_a_cycle_does_not_add_states_or_depth():
    result = check(PathGraph(paths=(("a", "b", "c", "a"),), avoid="zz"))
    assert figures(result) == (3, 3, 2)
    assert result.verdict("stuck_only_at_d").status is Status.HOLDS


def test_several_initial_states_all_start_at_depth_zero():
    class TwoStarts(Counter):
        def initial_states(self):
            return [Count(0), Count(3)]

    # 0..5 all reachable; 3, 4, 5 are 0, 1, 2 steps from Count(3): depth 2.
    result = check(TwoStarts(n=5))
    assert figures(result) == (6, 5, 2)


# --- verdicts ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, 1, 4, 7])
def test_invariant_counterexample_is_as_long_as_the_distance_to_the_bad_state(bad):
    result = check(Counter(n=7, bad=bad))
    verdict = result.verdict("never_bad")
    assert verdict.status is Status.VIOLATED
    assert len(verdict.counterexample) == bad
    assert verdict.counterexample.final == Count(bad)
    assert verdict.counterexample.initial == Count(0)
    assert verdict.counterexample.violates == "never_bad"
    assert verdict.counterexample.kind == "invariant"
    assert "value=" in verdict.reason


def test_the_search_keeps_going_after_a_violation_and_judges_every_property():
    result = check(Counter(n=7, bad=2))
    assert result.complete
    assert figures(result) == (8, 7, 7)
    assert statuses(result) == {
        "never_bad": Status.VIOLATED,
        "goes_up_by_one": Status.HOLDS,
        "stops_only_at_n": Status.HOLDS,
        "can_reach_n": Status.HOLDS,
    }


def test_action_property_counterexample_ends_with_the_violating_step():
    class Skips(Counter):
        @action
        def jump(self, s):
            return Count(s.value + 2) if s.value == 3 and self.n >= 5 else None

    result = check(Skips(n=6))
    trace = result.verdict("goes_up_by_one").counterexample
    assert len(trace) == 4
    assert trace.steps[-1].action == "jump"
    assert trace.states[-2:] == (Count(3), Count(5))
    assert "value: 3 → 5" in result.verdict("goes_up_by_one").reason


def test_terminal_property_finds_the_shallowest_unexpected_deadlock():
    result = check(PathGraph())
    verdict = result.verdict("stuck_only_at_d")
    assert verdict.status is Status.VIOLATED
    assert [s.state.at for s in verdict.counterexample] == ["b", "c", "x"]
    assert verdict.reason.startswith("no action is enabled")


def test_terminal_property_holds_when_the_only_dead_end_is_allowed():
    assert check(Counter(n=3)).verdict("stops_only_at_n").status is Status.HOLDS


def test_terminal_property_fails_at_any_other_dead_end():
    class StopsEarly(Counter):
        def initial_states(self):
            return Count(0)

        @action
        def inc(self, s):
            return Count(s.value + 1) if s.value < 2 else None

    verdict = check(StopsEarly(n=5)).verdict("stops_only_at_n")
    assert verdict.status is Status.VIOLATED
    assert len(verdict.counterexample) == 2


def test_recoverable_fails_from_a_dead_end_with_a_trace_to_it():
    verdict = check(PathGraph()).verdict("back_to_start")
    assert verdict.status is Status.VIOLATED
    assert verdict.counterexample.final == Node("x")
    assert "1 of 6 reachable states are unrecoverable" in verdict.reason


def test_recoverable_holds_with_every_action_but_not_with_the_automation_alone():
    result = check(OperatorRepair())
    assert figures(result) == (4, 5, 3)
    assert result.verdict("recovers").status is Status.HOLDS
    verdict = result.verdict("recovers_automatically")
    assert verdict.status is Status.VIOLATED
    assert [s.action for s in verdict.counterexample] == ["fail", "restart", "fail"]
    assert "only fail, restart" in verdict.reason


def test_recoverable_using_every_family_is_the_same_as_unrestricted():
    class AllNamed(OperatorRepair):
        @recoverable(using=("fail", "restart", "repair"))
        def recovers_automatically(self, s):
            return s.healthy

    assert check(AllNamed()).verdict("recovers_automatically").status is Status.HOLDS


def test_only_the_selected_properties_are_checked():
    result = check(Counter(n=3, bad=1), properties=["goes_up_by_one"])
    assert [v.property for v in result.verdicts] == ["goes_up_by_one"]
    assert result.ok


def test_selecting_a_single_property_by_name_as_a_string_works():
    result = check(Counter(n=3, bad=1), properties="never_bad")
    assert [v.property for v in result.verdicts] == ["never_bad"]


def test_selecting_an_unknown_property_is_a_spec_error():
    with pytest.raises(SpecError, match=r"no property 'nope'"):
        check(Counter(), properties=["nope"])


# --- limits: never a false "holds" ----------------------------------------------------------


def _never_holds(result):
    assert not result.complete
    assert not result.ok
    assert all(v.status is not Status.HOLDS for v in result.verdicts)
    assert result.exit_code is ExitCode.INCOMPLETE


def test_max_states_stops_at_exactly_that_many_states_and_decides_nothing():
    result = check(Counter(n=10**9), max_states=10)
    assert result.statistics.states == 10
    assert result.stopped_by == "max_states"
    _never_holds(result)


def test_max_states_equal_to_the_state_space_is_complete():
    result = check(Counter(n=9), max_states=10)
    assert result.complete and result.ok


def test_max_depth_stops_at_that_depth_and_decides_nothing():
    result = check(Counter(n=100), max_depth=5)
    assert figures(result)[::2] == (6, 5)
    assert result.stopped_by == "max_depth"
    _never_holds(result)


def test_max_depth_equal_to_the_diameter_is_complete():
    result = check(Counter(n=5), max_depth=5)
    assert result.complete and result.ok


def test_a_violation_found_within_a_limit_is_still_reported():
    result = check(Counter(n=100, bad=3), max_depth=5)
    assert result.verdict("never_bad").status is Status.VIOLATED
    assert result.verdict("goes_up_by_one").status is Status.UNKNOWN
    assert result.exit_code is ExitCode.VIOLATED


def test_time_limit_stops_an_endless_search_promptly():
    started = time.monotonic()
    result = check(Counter(n=10**12), time_limit=0.3, progress_every=1000)
    elapsed = time.monotonic() - started
    assert result.stopped_by == "time_limit"
    assert elapsed < 5
    assert result.statistics.states > 1
    _never_holds(result)


def test_ctrl_c_stops_cleanly_with_the_partial_result():
    result = check(InterruptedCounter(n=100, stop_at=7))
    assert result.stopped_by == "interrupted"
    assert result.statistics.states == 8
    _never_holds(result)


def test_ctrl_c_during_the_recoverability_analysis_keeps_the_violations_and_claims_nothing():
    class InterruptedAnalysis(Counter):
        @recoverable
        def back_to_zero(self, s):
            raise KeyboardInterrupt  # only the analysis after the search calls it

    result = check(InterruptedAnalysis(n=5, bad=3))
    assert result.stopped_by == "interrupted" and not result.complete
    assert result.statistics.states == 6
    assert len(result.verdict("never_bad").counterexample) == 3
    assert result.verdict("goes_up_by_one").status is Status.UNKNOWN
    assert result.verdict("back_to_zero").status is Status.UNKNOWN
    assert result.exit_code == ExitCode.VIOLATED


def test_stop_at_first_reports_one_violation_and_leaves_the_rest_unknown():
    result = check(PathGraph(), stop_at_first=True)
    assert result.stopped_by == "first_violation"
    assert not result.complete
    assert [v.status for v in result.verdicts].count(Status.VIOLATED) == 1
    assert result.verdict("avoids").status is Status.VIOLATED  # the shallowest (2 steps)
    assert len(result.verdict("avoids").counterexample) == 2
    assert result.verdict("back_to_start").status is Status.UNKNOWN
    assert result.exit_code is ExitCode.VIOLATED


def test_stop_at_first_on_a_correct_spec_explores_everything():
    result = check(TwoProcessLock(), stop_at_first=True)
    assert result.complete and result.ok
    assert figures(result) == (8, 14, 3)


@pytest.mark.parametrize(
    "options",
    [{"max_states": 0}, {"max_depth": -1}, {"time_limit": 0}, {"progress_every": 0}],
)
def test_nonsensical_limits_are_refused(options):
    with pytest.raises(ValueError):
        CheckOptions(**options)


def test_progress_is_reported_every_n_states_with_growing_counts():
    seen: list[Progress] = []
    check(Counter(n=50), progress=seen.append, progress_every=10)
    assert len(seen) == 5
    assert [p.states for p in seen] == sorted(p.states for p in seen)
    assert all(p.peak_memory_bytes > 0 for p in seen)


# --- errors inside a spec --------------------------------------------------------------------


@pytest.mark.parametrize("k", [0, 3, 6])
def test_an_action_that_raises_is_a_spec_runtime_error_with_the_trace_to_that_state(k):
    with pytest.raises(SpecRuntimeError) as info:
        check(Counter(n=10, explode_at=k))
    err = info.value
    assert err.trace is not None
    assert len(err.trace) == k
    assert err.trace.final == Count(k)
    text = str(err)
    assert "Counter.inc raised ZeroDivisionError: boom" in text
    assert "inc()" in text
    assert f"value={k}" in text
    # ... and where: the spec's own file and the line that raised.
    raising_line = next(
        n
        for n, line in enumerate(Path(toy_specs.__file__).read_text().splitlines(), start=1)
        if "boom" in line and "raise" in line
    )
    assert f"at {toy_specs.__file__}:{raising_line} " in text


def test_an_action_with_arguments_that_raises_names_them():
    class Fails(TwoProcessLock):
        @action(p=(0, 1))
        def release(self, s, p):
            if p == 1 and s.pc[p] == "crit":
                raise RuntimeError("release failed")
            return None

    with pytest.raises(SpecRuntimeError, match=r"release\(p=1\)") as info:
        check(Fails())
    assert len(info.value.trace) == 2  # request(p=1), acquire(p=1)


def test_an_invariant_that_raises_is_a_spec_runtime_error_naming_the_property():
    class Fragile(Counter):
        @invariant
        def never_bad(self, s):
            return 1 // (s.value - 2) is not None

    with pytest.raises(SpecRuntimeError, match=r"property Fragile.never_bad raised") as info:
        check(Fragile(n=5))
    assert len(info.value.trace) == 2


def test_a_recoverable_predicate_that_raises_is_a_spec_runtime_error():
    class Fragile(Counter):
        @recoverable
        def can_reach_n(self, s):
            return 1 // (s.value - 2) is not None

    with pytest.raises(SpecRuntimeError, match=r"property Fragile.can_reach_n raised") as info:
        check(Fragile(n=5))
    assert len(info.value.trace) == 2


@pytest.mark.parametrize(
    "returned",
    [[1], {"value": 1}, 5, "next"],
    ids=["list", "dict", "int", "str"],
)
def test_an_action_returning_a_non_state_is_a_clear_spec_error(returned):
    class Sloppy(Counter):
        @action
        def inc(self, s):
            return returned if s.value == 0 else None

    with pytest.raises(SpecError) as info:
        check(Sloppy())
    text = str(info.value)
    assert "Sloppy.inc" in text
    assert "state" in text
    assert type(returned).__name__ in text


def test_an_action_returning_a_state_with_a_mutable_field_is_a_clear_spec_error():
    class Bag(State):
        items: object

    class Sloppy(Counter):
        def initial_states(self):
            return Bag(())

        @action
        def inc(self, s):
            return Bag([1]) if s.items == () else None

    with pytest.raises(SpecError, match=r"unhashable field.*tuple instead of list"):
        check(Sloppy())


def test_a_nondeterministic_action_returning_none_is_a_spec_error_not_a_crash():
    class Sloppy(RandomWalk):
        @action(nondeterministic=True)
        def step(self, s):
            return None

    with pytest.raises(SpecError, match=r"Sloppy.step"):
        check(Sloppy())


# --- the model contract engines use ----------------------------------------------------------


def test_model_successors_list_every_action_and_next_state_in_declaration_order():
    model = compile_spec(TwoProcessLock())
    (start,) = model.initial_states
    assert [(a.label, t.pc) for a, t in model.successors(start)] == [
        ("request(p=0)", ("wait", "think")),
        ("request(p=1)", ("think", "wait")),
    ]


def test_model_action_between_names_the_action_that_leads_from_one_state_to_another():
    model = compile_spec(OperatorRepair())
    broken = model.initial_states[0].replace(healthy=False)
    assert model.action_between(broken, broken.replace(healthy=True)).family == "repair"
    with pytest.raises(SpecError, match=r"no action leads"):
        model.action_between(broken, broken)


class _Empty(Spec):
    def initial_states(self):
        return Count(0)

    @action
    def never(self, s):
        return None


def test_a_spec_with_a_single_state_and_no_enabled_action_is_explored():
    result = check(_Empty())
    assert figures(result) == (1, 0, 0)
    assert result.ok  # no properties: vacuously complete and fine


# --- garbage collection during a search -----------------------------------------------------


class _Cyclic:
    """An object in a reference cycle: only the cyclic collector can free it."""

    freed = 0

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _Cyclic.freed += 1


def test_the_search_pauses_automatic_gc_but_still_frees_cyclic_garbage_and_restores_gc():
    import gc

    collector_on_during_search = set()

    class Littering(Counter):
        @action
        def inc(self, s):
            _Cyclic()  # garbage a careless spec might leave behind
            collector_on_during_search.add(gc.isenabled())
            return Count(s.value + 1) if s.value < self.n else None

    assert gc.isenabled()
    _Cyclic.freed = 0
    result = check(Littering(n=20_000))
    assert result.statistics.states == 20_001
    assert collector_on_during_search == {False}
    # Young-generation collections every 1024 states freed (nearly) all of it,
    # without any collection after the search.
    assert _Cyclic.freed >= 20_000 - 2 * 1024
    assert gc.isenabled()


def test_gc_is_restored_when_a_spec_raises():
    import gc

    with pytest.raises(SpecRuntimeError):
        check(Counter(n=10, explode_at=3))
    assert gc.isenabled()
