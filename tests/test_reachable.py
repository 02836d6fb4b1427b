"""Possibility properties (``@reachable``): a shortest witness, or a failure when none exists.

The expected witness lengths are the breadth-first distances computed here
by a search written out in the test, independent of the engine.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path

import pytest
from constraint_toys import BoundedDial, Fork, LamportClocks
from typer.testing import CliRunner

from modelcheck import (
    ExitCode,
    Spec,
    SpecError,
    State,
    Status,
    action,
    check,
    compile_spec,
    invariant,
    load_trace,
    reachable,
    replay,
)
from modelcheck.cli import app
from modelcheck.engines.simulate import SimulateOptions, simulate
from modelcheck.render.json import result_to_json
from modelcheck.render.text import render_result

TOYS = Path(__file__).resolve().parent / "constraint_toys.py"
DIAL = f"{TOYS}:BoundedDial"
runner = CliRunner()


def run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def distance(initial, next_states, within, goal):
    """Breadth-first distance to the nearest state satisfying ``goal`` (None: unreachable)."""
    depth = {initial: 0}
    queue = deque([initial])
    while queue:
        s = queue.popleft()
        if goal(s):
            return depth[s]
        if not within(s):
            continue
        for t in next_states(s):
            if t not in depth:
                depth[t] = depth[s] + 1
                queue.append(t)
    return None


def dial(limit, cap):
    def next_states(s):
        x, lit = s
        return ([(x + 1, lit)] if x < cap else []) + [(x, not lit)]

    return next_states


# --- check ----------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [0, 2, 3])
def test_a_reachable_property_holds_with_a_shortest_witness(limit):
    result = check(BoundedDial(limit=limit, cap=limit + 3))
    verdict = result.verdict("lit_at_limit")
    assert verdict.status is Status.HOLDS
    assert verdict.counterexample is None
    witness = verdict.witness
    expected = distance(
        (0, False),
        dial(limit, limit + 3),
        lambda s: s[0] <= limit,
        lambda s: s[1] and s[0] == limit,
    )
    assert len(witness) == expected == limit + 1
    assert witness.final.lit and witness.final.x == limit
    assert (witness.violates, witness.kind) == ("lit_at_limit", "reachable")
    assert verdict.reason == f"lit_at_limit is true where lit=True, x={limit}"


def test_a_reachable_property_no_state_satisfies_fails_a_complete_search():
    result = check(BoundedDial(), properties="past_limit")
    verdict = result.verdict("past_limit")
    assert result.complete
    assert verdict.status is Status.VIOLATED
    assert verdict.counterexample is None and verdict.witness is None
    assert verdict.reason == "no reachable state satisfies past_limit"
    assert result.exit_code is ExitCode.VIOLATED
    # The same spec without the constraint reaches it: the constraint is what hides it.
    free = check(BoundedDial(constrained=False), properties="past_limit")
    assert len(free.verdict("past_limit").witness) == 5


def test_an_incomplete_search_that_found_no_witness_says_unknown_and_exits_3():
    result = check(BoundedDial(), properties="lit_at_limit", max_depth=2)
    assert result.verdict("lit_at_limit").status is Status.UNKNOWN
    assert result.exit_code is ExitCode.INCOMPLETE
    # A witness found before a limit is a witness all the same.
    early = check(BoundedDial(limit=1, cap=4), properties="lit_at_limit", max_depth=2)
    assert early.verdict("lit_at_limit").status is Status.HOLDS
    assert not early.complete and early.exit_code is ExitCode.INCOMPLETE


def test_a_state_outside_the_constraint_is_a_witness_as_it_is_a_counterexample():
    verdict = check(BoundedDial()).verdict("over_limit")
    assert verdict.status is Status.HOLDS
    assert len(verdict.witness) == 4 and verdict.witness.final.x == 4


def test_every_property_holding_including_possibilities_exits_0():
    result = check(LamportClocks(n=2, bound=3))
    assert result.ok and result.exit_code is ExitCode.OK

    def clocks(c):  # tick p, or p hears q and jumps past q's clock
        ticks = [(c[0] + 1, c[1]), (c[0], c[1] + 1)]
        return [*ticks, (max(c) + 1, c[1]), (c[0], max(c) + 1)]

    expected = distance((0, 0), clocks, lambda c: max(c) <= 3, lambda c: c == (3, 3))
    assert len(result.verdict("all_at_bound").witness) == expected == 4


def test_a_witness_does_not_stop_a_search_that_stops_at_the_first_violation():
    result = check(Fork(), stop_at_first=True)
    assert result.verdict("two_or_ten").status is Status.HOLDS
    assert result.verdict("not_2_or_10").status is Status.VIOLATED
    alone = check(Fork(), properties="two_or_ten", stop_at_first=True)
    assert alone.complete and alone.stopped_by is None


def test_a_reachable_property_with_the_wrong_parameters_is_a_spec_error():
    class S(State):
        x: int

    class Wrong(Spec):
        def initial_states(self):
            return S(0)

        @action
        def step(self, s):
            return None

        @reachable
        def somewhere(self, before, after):
            return True

    with pytest.raises(SpecError, match=r"is a reachable \(possibility\) property and must take"):
        compile_spec(Wrong())


# --- reports --------------------------------------------------------------------------------


def test_the_text_report_shows_the_witness_and_the_failed_possibility():
    text = render_result(check(BoundedDial()))
    assert "lit_at_limit  reachable  holds  (shortest witness: 4 steps)" in text
    assert "past_limit    reachable  VIOLATED  (no reachable state satisfies past_limit)" in text
    assert "Witness for lit_at_limit (reachable): 4 steps" in text
    assert "  satisfied: lit_at_limit is true where lit=True, x=3" in text
    assert "violated=within_limit,past_limit" in text


def test_the_json_report_carries_the_witness_in_the_trace_format():
    data = result_to_json(check(BoundedDial()))
    verdicts = {v["property"]: v for v in data["verdicts"]}
    holds = verdicts["lit_at_limit"]
    assert holds["status"] == "holds" and holds["counterexample"] is None
    assert len(holds["witness"]["steps"]) == 4
    assert holds["witness"]["property"]["kind"] == "reachable"
    failed = verdicts["past_limit"]
    assert failed["status"] == "violated" and failed["witness"] is None
    assert verdicts["within_limit"]["witness"] is None


# --- the command line: select, save, replay, explain ---------------------------------------------


def test_property_selects_a_reachable_property_on_the_command_line():
    result = run("check", DIAL, "--property", "lit_at_limit")
    assert result.exit_code == 0
    assert "Witness for lit_at_limit (reachable): 4 steps" in result.stdout
    assert "within_limit" not in result.stdout
    failed = run("check", DIAL, "--property", "past_limit")
    assert failed.exit_code == 1
    assert "result=violated" in failed.stdout and "violated=past_limit" in failed.stdout


def test_a_saved_witness_replays_as_a_witness_and_explains_what_made_it_true(tmp_path):
    result = run("check", DIAL, "--property", "lit_at_limit", "--trace-dir", tmp_path)
    assert result.exit_code == 0
    path = tmp_path / "lit_at_limit.json"
    assert json.loads(path.read_text())["property"]["kind"] == "reachable"
    replayed = run("replay", DIAL, path)
    assert replayed.exit_code == 0
    assert "the trace is a legal run and a witness: lit_at_limit is true" in replayed.stdout
    # With another limit the same run no longer ends where the property is true: exit 1.
    moved = run("replay", DIAL, path, "-p", "limit=4", "-p", "cap=7")
    assert moved.exit_code == 1
    assert "no longer a witness" in moved.stdout
    explained = run("explain", DIAL, path)
    assert explained.exit_code == 0
    assert (
        "lit_at_limit (reachable) is satisfied at the end of this 4-step trace" in explained.stdout
    )
    assert "Culprit steps (undoing any one of them alone makes the property false):" in (
        explained.stdout
    )
    assert "step   4  flip(): lit False → True" in explained.stdout


def test_replay_of_a_witness_through_the_library():
    witness = check(BoundedDial()).verdict("lit_at_limit").witness
    outcome = replay(compile_spec(BoundedDial()), witness)
    assert outcome.legal and outcome.property_fails is False


def test_bmc_and_prove_reject_a_reachable_property_they_are_asked_for_with_exit_2():
    for command in ("bmc", "prove"):
        result = run(command, DIAL, "--property", "lit_at_limit")
        assert result.exit_code == 2, command
        assert "lit_at_limit is a reachable property, which the symbolic engine" in result.stderr
        # Not asked for, it does not stand in the way of the others.
        others = run(command, DIAL, "--property", "below_cap")
        assert others.exit_code in (0, 3), command


# --- simulation and Hypothesis ----------------------------------------------------------------


def test_simulation_reports_a_witness_cut_to_a_shortest_one():
    result = simulate(
        compile_spec(BoundedDial()),
        SimulateOptions(runs=20, depth=30, properties=("lit_at_limit",)),
    )
    (verdict,) = result.verdicts
    assert verdict.status is Status.HOLDS
    assert len(verdict.witness) == 4
    assert "proven shortest" in verdict.reason
    assert result.exit_code is ExitCode.OK


def test_simulation_leaves_an_unreached_possibility_unknown():
    result = simulate(
        compile_spec(BoundedDial()), SimulateOptions(runs=5, depth=30, properties=("past_limit",))
    )
    (verdict,) = result.verdicts
    assert verdict.status is Status.UNKNOWN
    assert verdict.reason == "not reached in 5 runs of up to 30 steps"


def test_the_hypothesis_bridge_does_not_treat_a_possibility_as_a_violation():
    from hypothesis import settings

    from modelcheck.integrations.hypothesis import run as run_hypothesis

    run_hypothesis(
        BoundedDial(),
        settings=settings(max_examples=20, database=None),
        properties=("below_cap", "past_limit"),
    )


def test_a_witness_trace_loads_back_with_its_kind(tmp_path):
    run("check", DIAL, "--property", "over_limit", "--trace-dir", tmp_path)
    trace = load_trace(tmp_path / "over_limit.json")
    assert (trace.violates, trace.kind, len(trace)) == ("over_limit", "reachable", 4)


def test_an_invariant_stated_as_the_negation_of_a_possibility_agrees_with_it():
    # The old workaround: "expected VIOLATED" invariant. Same state, same trace, exit 1.
    class Neg(BoundedDial):
        @invariant
        def never_lit_at_limit(self, s):
            return not (s.lit and s.x == self.limit)

    result = check(Neg())
    old = result.verdict("never_lit_at_limit").counterexample
    new = result.verdict("lit_at_limit").witness
    assert old.states == new.states


def test_the_readme_example_prints_what_the_readme_shows():
    import re

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Bounding the search, possibilities and stuttering steps") :]
    source = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    shown = re.search(r"```text\n(.*?)```", section, re.DOTALL).group(1).splitlines()
    namespace: dict[str, object] = {}
    exec(compile(source, "README LossyLink", "exec"), namespace)
    printed = render_result(check(namespace["LossyLink"]()), traces=False).splitlines()
    assert len(shown) == 9
    for line, actual in zip(shown, printed, strict=False):
        if line.endswith(", ..."):  # the timings are elided
            assert actual.startswith(line.removesuffix(" ...")), (line, actual)
        else:
            assert line == actual


def test_the_html_report_steps_through_a_witness_like_a_counterexample():
    from modelcheck.render.html import render_html

    page = render_html(check(BoundedDial()), compile_spec(BoundedDial()))
    assert "Witness for lit_at_limit (reachable):\n  4 steps" in page
    assert '<div class="banner good witness"><b>Satisfied:</b>' in page
    assert "shortest witness: 4 steps" in page
    assert "<th>outside the constraint</th><td>2</td>" in page
