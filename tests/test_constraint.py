"""State constraints (``@constraint``) with TLC's semantics, in every engine.

TLC (``ModelChecker.doInit``/``doNext``) puts a state that fails the
CONSTRAINT neither in its set of distinct states nor in the queue, but
still checks the invariants on it, and checks implied actions on the step
that reaches it; a state whose every successor fails the constraint is not
a deadlock.  The figures below come from :func:`tlc_search`, a plain
breadth-first search written here after that description, over successor
functions written here too, independent of the engine and of the specs'
own action code.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Annotated

import pytest
from constraint_toys import (
    BoundedDial,
    Dial,
    Fork,
    LamportClocks,
    OnlyUp,
    RaisingConstraint,
    StartsOutside,
)
from hypothesis import settings
from typer.testing import CliRunner

from modelcheck import (
    Spec,
    SpecError,
    SpecRuntimeError,
    State,
    action,
    check,
    compile_spec,
    constraint,
    invariant,
    replay,
)
from modelcheck.cli import app
from modelcheck.engines.explore_graph import explore_graph
from modelcheck.engines.simulate import SimulateOptions, simulate
from modelcheck.render.json import result_to_json
from modelcheck.render.text import render_result
from modelcheck.symbolic import Range

TOYS = Path(__file__).resolve().parent / "constraint_toys.py"


def tlc_search(initials, next_states, within, invariants=()):
    """TLC's search with a constraint: figures and the depth of each invariant's first failure."""
    depth = {}
    outside = {}
    queue = deque()
    for s in initials:
        if within(s):
            if s not in depth:
                depth[s] = 0
                queue.append(s)
        else:
            outside.setdefault(s, 0)
    transitions = 0
    while queue:
        s = queue.popleft()
        for t in next_states(s):
            transitions += 1
            if t in depth or t in outside:
                continue
            if within(t):
                depth[t] = depth[s] + 1
                queue.append(t)
            else:
                outside[t] = depth[s] + 1
    first_failure = {}
    for name, holds in invariants:
        failing = [d for s, d in [*depth.items(), *outside.items()] if not holds(s)]
        first_failure[name] = min(failing) if failing else None
    return {
        "states": len(depth),
        "outside": len(outside),
        "transitions": transitions,
        "depth": max(depth.values(), default=0),
        "first_failure": first_failure,
    }


def clock_successors(n):
    def next_states(clock):
        out = []
        for p in range(n):
            out.append((*clock[:p], clock[p] + 1, *clock[p + 1 :]))
        for p in range(n):
            for q in range(n):
                if p != q:
                    c = list(clock)
                    c[p] = max(c[p], c[q]) + 1
                    out.append(tuple(c))
        return out

    return next_states


def dial_successors(cap):
    def next_states(s):
        x, lit = s
        return ([(x + 1, lit)] if x < cap else []) + [(x, not lit)]

    return next_states


# --- counts -------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "bound"), [(2, 3), (2, 5), (3, 2), (3, 3)])
def test_lamport_clocks_counts_equal_an_independent_tlc_style_search(n, bound):
    expected = tlc_search([(0,) * n], clock_successors(n), lambda c: max(c) <= bound, invariants=())
    result = check(LamportClocks(n=n, bound=bound))
    st = result.statistics
    assert (st.states, st.constrained, st.transitions, st.depth) == (
        expected["states"],
        expected["outside"],
        expected["transitions"],
        expected["depth"],
    )
    assert result.complete


@pytest.mark.parametrize("limit", [0, 1, 3, 4])
def test_a_counter_bounded_by_a_constraint_has_the_independent_searchs_figures(limit):
    spec = BoundedDial(limit=limit, cap=limit + 3)
    expected = tlc_search(
        [(0, False)],
        dial_successors(limit + 3),
        lambda s: s[0] <= limit,
        invariants=[
            ("below_cap", lambda s: s[0] < limit + 3),
            ("within_limit", lambda s: s[0] <= limit),
        ],
    )
    result = check(spec)
    st = result.statistics
    assert (st.states, st.constrained, st.transitions, st.depth) == (
        expected["states"],
        expected["outside"],
        expected["transitions"],
        expected["depth"],
    )
    assert (st.states, st.constrained) == (2 * (limit + 1), 2)  # the docstring's figures
    assert result.verdict("below_cap").status.value == "holds"
    assert expected["first_failure"]["below_cap"] is None
    ce = result.verdict("within_limit").counterexample
    assert len(ce) == expected["first_failure"]["within_limit"] == limit + 1


def test_without_the_constraint_the_same_spec_explores_every_state():
    result = check(BoundedDial(constrained=False))
    expected = tlc_search([(0, False)], dial_successors(6), lambda s: True)
    assert (result.statistics.states, result.statistics.constrained) == (expected["states"], 0)
    assert result.verdict("below_cap").status.value == "violated"


# --- which checks run on a state outside the constraint -------------------------------------


def test_invariants_are_checked_on_states_outside_the_constraint_as_tlc_does():
    result = check(BoundedDial())
    ce = result.verdict("within_limit").counterexample
    assert ce.final.x == 4  # the state outside the constraint
    assert result.verdict("within_limit").reason == "within_limit is false where x=4"
    outcome = replay(compile_spec(BoundedDial()), ce)
    assert outcome.legal and outcome.property_fails


def test_action_properties_are_checked_on_the_step_that_leaves_the_constraint():
    result = check(OnlyUp(limit=2))
    assert result.verdict("steps_up").status.value == "holds"
    ce = result.verdict("stays_inside").counterexample
    assert len(ce) == 3 and ce.final.x == 3  # the step from 2 to 3, outside x <= 2
    assert ce.states[-2].x == 2


def test_a_state_whose_successors_are_all_outside_is_not_a_deadlock_nor_is_one_outside():
    result = check(OnlyUp(limit=2, cap=5))
    assert result.verdict("never_stuck").status.value == "holds"
    assert (result.statistics.states, result.statistics.constrained) == (3, 1)
    assert result.statistics.transitions == 3  # the step out of the constraint counts
    expected = tlc_search([0], lambda x: [x + 1] if x < 5 else [], lambda x: x <= 2)
    assert (expected["states"], expected["outside"], expected["transitions"]) == (3, 1, 3)


def test_an_initial_state_outside_the_constraint_is_checked_not_counted_not_expanded():
    result = check(StartsOutside())
    assert (result.statistics.states, result.statistics.constrained) == (3, 1)
    assert result.statistics.transitions == 2
    ce = result.verdict("small").counterexample
    assert len(ce) == 0 and ce.initial.x == 9


def test_a_deeper_state_outside_does_not_displace_a_shallower_counterexample():
    result = check(Fork())
    ce = result.verdict("not_2_or_10").counterexample
    assert [s.label for s in ce.steps] == ["right()"]
    assert result.statistics.constrained == 1
    witness = result.verdict("two_or_ten").witness
    assert [s.label for s in witness.steps] == ["right()"]


def test_stop_at_first_also_stops_at_a_violation_found_outside_the_constraint():
    result = check(BoundedDial(), properties=("within_limit",), stop_at_first=True)
    assert result.stopped_by == "first_violation"
    assert len(result.verdict("within_limit").counterexample) == 4


def test_a_depth_limit_below_the_states_outside_leaves_them_unchecked_and_says_incomplete():
    result = check(BoundedDial(), properties=("within_limit",), max_depth=3)
    assert not result.complete
    assert result.verdict("within_limit").status.value == "unknown"


def test_coverage_counts_only_the_steps_between_explored_states():
    result = check(LamportClocks(n=2, bound=2), coverage=True)
    next_states, within = clock_successors(2), (lambda c: max(c) <= 2)
    inside, queue = {(0, 0)}, deque([(0, 0)])
    while queue:
        for t in next_states(queue.popleft()):
            if within(t) and t not in inside:
                inside.add(t)
                queue.append(t)
    steps_inside = sum(1 for s in inside for t in next_states(s) if within(t))
    assert sum(c.fired for c in result.coverage) == steps_inside
    assert result.statistics.transitions == sum(len(next_states(s)) for s in inside)


# --- reports --------------------------------------------------------------------------------


def test_the_text_report_says_how_many_states_are_outside_the_constraint():
    text = render_result(check(BoundedDial()), traces=False)
    assert (
        "explored 8 distinct states (and 2 outside the constraint, checked but not explored), "
        "16 transitions, depth 4" in text
    )
    assert "(and" not in render_result(check(BoundedDial(constrained=False)), traces=False)


def test_the_json_report_counts_states_outside_the_constraint_apart():
    data = result_to_json(check(BoundedDial()))
    assert data["statistics"]["states"] == 8
    assert data["statistics"]["constrained"] == 2


def test_list_shows_the_constraints():
    result = CliRunner().invoke(app, ["list", str(TOYS)])
    assert result.exit_code == 0
    block = result.stdout.split("LamportClocks")[1]
    assert "constraints (states failing one are not explored):\n    clock_bound" in block


# --- spec errors --------------------------------------------------------------------------------


class _S(State):
    x: int


def test_a_constraint_with_the_wrong_parameters_is_a_spec_error():
    class Wrong(Spec):
        def initial_states(self):
            return _S(0)

        @action
        def step(self, s):
            return None

        @constraint
        def bounded(self, before, after):
            return True

    with pytest.raises(
        SpecError, match=r"Wrong.bounded .* is a constraint and must take \(self, state\)"
    ):
        compile_spec(Wrong())


def test_a_method_that_is_both_a_constraint_and_an_invariant_is_a_spec_error():
    class Both(Spec):
        def initial_states(self):
            return _S(0)

        @action
        def step(self, s):
            return None

        @constraint
        @invariant
        def bounded(self, s):
            return True

    with pytest.raises(SpecError, match="both as a property and as a constraint; keep one"):
        compile_spec(Both())


def test_a_constraint_that_raises_is_named_with_its_line_and_the_trace():
    with pytest.raises(SpecRuntimeError) as caught:
        check(RaisingConstraint())
    message = str(caught.value)
    assert "constraint RaisingConstraint.broken raised ZeroDivisionError" in message
    assert "constraint_toys.py:" in message
    assert caught.value.trace is not None and len(caught.value.trace) == 1


# --- the other engines ------------------------------------------------------------------------


def test_simulation_never_extends_a_state_outside_the_constraint():
    result = simulate(
        compile_spec(BoundedDial()),
        SimulateOptions(runs=30, depth=40, properties=("below_cap",), shortest=False),
    )
    assert result.violated == ()
    assert result.distinct_states == 10  # the 8 inside and the 2 outside, nothing beyond
    assert result.terminal_runs == 0  # a walk that stops outside is not stuck


def test_simulation_finds_a_violation_on_a_state_outside_the_constraint():
    result = simulate(
        compile_spec(BoundedDial()),
        SimulateOptions(runs=30, depth=40, properties=("within_limit",)),
    )
    (ce,) = result.counterexamples
    assert len(ce.trace) == 4 and ce.proven_shortest


def test_the_hypothesis_bridge_does_not_step_past_a_state_outside_the_constraint():
    from modelcheck.integrations.hypothesis import run

    # Unconstrained, `up` reaches 5 and deadlocks, which never_stuck forbids; with the
    # constraint no state is a deadlock: the one past the limit is not extended.
    run(
        OnlyUp(limit=2, cap=5),
        settings=settings(max_examples=30, database=None),
        properties=("never_stuck",),
    )


def test_the_state_graph_draws_states_outside_the_constraint_without_their_successors():
    graph = explore_graph(compile_spec(BoundedDial()))
    assert len(graph.states) == 10
    assert {graph.states[n].x for n in graph.outside} == {4}
    assert len(graph.edges) == 16
    assert graph.terminal == frozenset()
    from modelcheck.render.dot import render_dot

    model = compile_spec(BoundedDial())
    dot = render_dot(model, check(BoundedDial()))
    assert "(2 outside the constraint, dotted border: not explored)" in dot
    assert dot.count('style="dotted,filled"') == 2  # outside, and violating within_limit


def test_replay_refuses_a_trace_that_goes_on_from_a_state_outside_the_constraint():
    free = check(BoundedDial(constrained=False)).verdict("below_cap").counterexample  # 6 ups
    outcome = replay(compile_spec(BoundedDial()), free)
    assert not outcome.legal
    assert outcome.steps_replayed == 4
    assert "step 5: the state before it fails the constraint BoundedDial.bounded" in outcome.message


# --- bmc and prove encode the constraint -----------------------------------------------------


def test_prove_uses_the_constraint_and_agrees_with_breadth_first_search():
    from modelcheck.engines.z3 import prove

    model = compile_spec(BoundedDial())
    proved = prove(model, 1, ("below_cap",))
    assert proved.verdict("below_cap").status.value == "holds"
    assert check(BoundedDial()).verdict("below_cap").status.value == "holds"
    unconstrained = prove(compile_spec(BoundedDial(constrained=False)), 1, ("below_cap",))
    assert unconstrained.verdict("below_cap").status.value != "holds"


@pytest.mark.parametrize(
    "spec",
    [BoundedDial(), BoundedDial(limit=1, cap=4), OnlyUp(), StartsOutside(), Fork()],
    ids=["dial", "dial-1", "only-up", "starts-outside", "fork"],
)
def test_bmc_gives_the_verdicts_and_shortest_traces_of_breadth_first_search(spec):
    from modelcheck.engines.z3 import bmc

    model = compile_spec(spec)
    names = tuple(p.name for p in model.properties if p.kind != "reachable")
    explicit = check(spec, properties=names)
    symbolic = bmc(model, 8, names)
    for verdict in symbolic.verdicts:
        expected = explicit.verdict(verdict.property)
        if expected.status.value == "violated":
            assert verdict.status.value == "violated", verdict.property
            assert verdict.counterexample.states == expected.counterexample.states
        else:
            assert verdict.status.value in ("holds", "unknown"), verdict.property


def test_bmc_sees_no_deadlock_where_every_successor_is_outside_the_constraint():
    from modelcheck.engines.z3 import bmc

    result = bmc(compile_spec(OnlyUp()), 8, ("never_stuck",))
    assert result.complete
    assert result.verdict("never_stuck").status.value == "holds"


def test_the_json_of_a_constrained_check_through_the_cli(tmp_path):
    out = tmp_path / "result.json"
    result = CliRunner().invoke(app, ["check", f"{TOYS}:BoundedDial", "--json", str(out), "-q"])
    assert result.exit_code == 1
    data = json.loads(out.read_text())
    assert (data["statistics"]["states"], data["statistics"]["constrained"]) == (8, 2)


class _Tight(State):
    x: Annotated[int, Range(0, "limit")]


class TightDeclaration(Spec):
    """Declares x in 0..limit, but the step past the constraint x <= limit reaches limit + 1."""

    limit: int = 2

    def initial_states(self):
        return _Tight(0)

    @action
    def up(self, s):
        return s.replace(x=s.x + 1)

    @constraint
    def bounded(self, s):
        return s.x <= self.limit


def test_bmc_asks_for_room_for_the_states_just_past_the_constraint():
    from modelcheck.engines.z3 import bmc
    from modelcheck.symbolic import SubsetError

    with pytest.raises(SubsetError, match="a state just past a @constraint is reached too"):
        bmc(compile_spec(TightDeclaration()), 6)
    assert check(TightDeclaration()).statistics.constrained == 1  # the explicit search is fine


def test_model_based_exploration_does_not_drive_the_system_past_the_constraint():
    from modelcheck.integrations.mbt import Binding, explore

    calls = []

    class Counter:
        def __init__(self):
            self.x = 0

        def up(self):
            calls.append(self.x)
            self.x += 1

    binding = Binding(
        spec=OnlyUp(limit=2, cap=5),
        start=Counter,
        actions={"up": lambda system: system.up()},
        observe=lambda system: Dial(system.x, False),
        properties=("never_stuck",),
    )
    result = explore(binding, depth=10)
    assert calls == [0, 1, 2]  # up to the state outside x <= 2, and no further
    assert result.states == 4 and result.paths == 1
