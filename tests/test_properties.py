"""Explaining failures: which fields a property read, and judging a trace's last state."""

from __future__ import annotations

from toy_specs import Count, Counter, OperatorRepair, PathGraph, TwoProcessLock

from modelcheck import Spec, State, Step, Trace, action, compile_spec, invariant
from modelcheck.properties import describe_state, evaluate_on_trace, explain, fields_read


class Pair(State):
    a: int
    b: int
    c: int


class PairSpec(Spec):
    def initial_states(self):
        return Pair(0, 0, 0)

    @action
    def noop(self, s):
        return None

    @invariant
    def a_below_b(self, s):
        """a < b, unless c says otherwise."""
        return s.a < s.b or s.c > 0

    @invariant
    def whole_state(self, s):
        return tuple(s) != (1, 1, 1)


def prop(spec, name):
    return compile_spec(spec).property(name)


def test_explain_names_only_the_fields_the_property_read_with_their_values():
    text = explain(prop(PairSpec(), "a_below_b"), Pair(3, 2, 0))
    assert text == "a_below_b is false where a=3, b=2, c=0"


def test_fields_read_records_reads_in_order_per_state():
    assert fields_read(prop(PairSpec(), "a_below_b"), Pair(3, 2, 0)) == [{"a": 3, "b": 2, "c": 0}]
    # Short-circuit: when a < b holds, c is never read.
    assert fields_read(prop(PairSpec(), "a_below_b"), Pair(1, 2, 0)) == [{"a": 1, "b": 2}]


def test_a_property_that_needs_the_real_object_falls_back_to_a_plain_reason():
    p = prop(PairSpec(), "whole_state")
    assert fields_read(p, Pair(1, 1, 1)) is None
    assert explain(p, Pair(1, 1, 1)) == "whole_state is false"


def test_explain_of_an_action_property_shows_the_changed_fields_old_and_new():
    text = explain(prop(Counter(), "goes_up_by_one"), Count(3), Count(5))
    assert text == "goes_up_by_one is false on this step: value: 3 → 5"


def test_explain_of_a_tuple_field_shows_it_whole():
    text = explain(prop(TwoProcessLock(), "mutual_exclusion"), TwoProcessLock().initial_states())
    assert text == "mutual_exclusion is false where pc=(think, think)"


def test_evaluate_on_trace_says_whether_an_invariant_fails_at_the_end():
    model = compile_spec(Counter(n=3, bad=2))
    good = Trace(Count(0), (Step("inc", (), Count(1)),))
    bad = Trace(Count(0), (Step("inc", (), Count(1)), Step("inc", (), Count(2))))
    assert evaluate_on_trace(model, "never_bad", good) == (
        False,
        "never_bad holds in the last state",
    )
    assert evaluate_on_trace(model, "never_bad", bad) == (
        True,
        "never_bad is false where value=2",
    )


def test_evaluate_on_trace_for_an_action_property_needs_a_step():
    model = compile_spec(Counter())
    assert evaluate_on_trace(model, "goes_up_by_one", Trace(Count(0))) == (
        False,
        "the trace has no step",
    )


def test_evaluate_on_trace_for_recoverability_searches_forward_with_the_allowed_actions():
    model = compile_spec(OperatorRepair())
    stuck = Trace(model.initial_states[0].replace(healthy=False, restarts=1))
    fails, reason = evaluate_on_trace(model, "recovers_automatically", stuck)
    assert fails
    assert "using only fail, restart" in reason
    assert evaluate_on_trace(model, "recovers", stuck)[0] is False


def test_evaluate_on_trace_for_a_terminal_property_requires_a_dead_end():
    model = compile_spec(PathGraph())
    start = model.initial_states[0]
    fails, reason = evaluate_on_trace(model, "stuck_only_at_d", Trace(start))
    assert not fails and "not a deadlock" in reason


def test_describe_state_lists_fields_with_formatted_values():
    assert describe_state(Pair(1, 2, 3)) == "a=1 b=2 c=3"
    assert describe_state({"x": frozenset({2, 1})}) == "x={1, 2}"
