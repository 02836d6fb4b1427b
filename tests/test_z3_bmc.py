"""Bounded model checking (z3) agrees with breadth-first search.

For every invariant, action and terminal property of each small
configuration: BFS finds a violation exactly when BMC does, at the same
shortest length, with the same trace (BMC picks the run BFS reports); and
a BMC counterexample is an ordinary trace that saves, loads and replays.
"""

from __future__ import annotations

import pytest
from dns_race import DnsRace
from symbolic_toys import LockWithLemma, SymCounter, TwoProcessLock

from modelcheck import Status, check, compile_spec, load_trace, replay, save_trace
from modelcheck.engines.z3 import bmc

CONFIGS = [
    pytest.param(SymCounter(), 6, id="counter"),
    pytest.param(SymCounter(n=4, bad=3), 6, id="counter-bad-3"),
    pytest.param(TwoProcessLock(), 7, id="lock"),
    pytest.param(TwoProcessLock(broken=True), 7, id="lock-broken"),
    pytest.param(LockWithLemma(broken=True), 5, id="lock-with-lemma-broken"),
    pytest.param(DnsRace(), 13, id="dns-no-fix"),
    pytest.param(DnsRace(protect_active=True), 13, id="dns-protect-active"),
    pytest.param(DnsRace(check_at_apply=True), 8, id="dns-check-at-apply"),
    pytest.param(DnsRace(check_at_apply=True, protect_active=True), 8, id="dns-both"),
    pytest.param(DnsRace(enactors=1, endpoints=1, generations=3), 12, id="dns-1-1-3"),
    pytest.param(DnsRace(enactors=2, endpoints=1, generations=3), 12, id="dns-2-1-3"),
]


@pytest.mark.parametrize(("spec", "depth"), CONFIGS)
def test_bmc_verdicts_and_shortest_traces_equal_breadth_first_search(spec, depth):
    explicit = check(spec)
    symbolic = bmc(compile_spec(spec), depth)
    assert symbolic.engine == "bmc"
    for verdict in symbolic.verdicts:
        expected = explicit.verdict(verdict.property)
        if expected.status is Status.VIOLATED and len(expected.counterexample) <= depth:
            assert verdict.status is Status.VIOLATED, verdict.property
            assert verdict.counterexample.initial == expected.counterexample.initial
            assert [(s.label, s.state) for s in verdict.counterexample] == [
                (s.label, s.state) for s in expected.counterexample
            ], verdict.property
        else:
            assert verdict.status is not Status.VIOLATED, verdict.property
            if symbolic.complete:  # no run is longer than the depth searched
                assert expected.status is Status.HOLDS


def test_a_bounded_search_that_covers_every_run_is_complete_and_says_holds():
    result = bmc(compile_spec(SymCounter()), 10)
    assert result.complete and result.exit_code == 0
    assert {v.status for v in result.verdicts} == {Status.HOLDS}


def test_no_violation_within_the_depth_is_unknown_not_holds():
    result = bmc(compile_spec(DnsRace(check_at_apply=True)), 4)
    assert not result.complete and result.exit_code == 3
    assert {v.status for v in result.verdicts} == {Status.UNKNOWN}


def test_a_bmc_counterexample_saves_loads_and_replays_in_the_explicit_engine(tmp_path):
    model = compile_spec(DnsRace())
    result = bmc(model, 10, ("active_plan_never_deleted",))
    trace = result.verdict("active_plan_never_deleted").counterexample
    save_trace(trace, tmp_path / "t.json")
    replayed = replay(model, load_trace(tmp_path / "t.json"))
    assert replayed.legal and replayed.property_fails
    assert len(replayed.trace) == 10


def test_the_bmc_command_prints_the_same_ten_step_story_as_check(tmp_path):
    from typer.testing import CliRunner

    from modelcheck.cli import app

    runner = CliRunner()
    path = "specs/dns_race.py"
    symbolic = runner.invoke(app, ["bmc", path, "--depth", "12"])
    explicit = runner.invoke(app, ["check", path])
    assert symbolic.exit_code == 1, symbolic.output

    def story(text: str) -> str:
        start = text.index("Counterexample to active_plan_never_deleted")
        return text[start : text.index("\n\n", start)]

    assert story(symbolic.output) == story(explicit.output)
    assert "result=violated engine=bmc" in symbolic.output
