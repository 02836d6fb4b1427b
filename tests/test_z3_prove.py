"""k-induction (z3): proofs, lemmas, counterexamples to induction, and soundness against BFS."""

from __future__ import annotations

import pytest
from dns_race import DnsRace
from symbolic_toys import (
    EscapesRange,
    LockWithLemma,
    SymCounter,
    TwoProcessLock,
    WrapInAction,
    WrapInProperty,
)

from modelcheck import Status, check, compile_spec
from modelcheck.engines.z3 import prove

SOUNDNESS = [
    pytest.param(SymCounter(n=4, bad=3), id="counter-bad-3"),
    pytest.param(TwoProcessLock(broken=True), id="lock-broken"),
    pytest.param(LockWithLemma(broken=True), id="lock-with-lemma-broken"),
    pytest.param(DnsRace(), id="dns-no-fix"),
    pytest.param(DnsRace(protect_active=True), id="dns-protect-active"),
    pytest.param(DnsRace(check_at_apply=True), id="dns-check-at-apply"),
    pytest.param(DnsRace(check_at_apply=True, protect_active=True), id="dns-both"),
    pytest.param(DnsRace(enactors=2, endpoints=1, generations=3), id="dns-2-1-3"),
    pytest.param(WrapInAction(), id="wrap-in-action"),
    pytest.param(WrapInProperty(), id="wrap-in-property"),
    pytest.param(EscapesRange(), id="escapes-range"),
]


@pytest.mark.parametrize("spec", SOUNDNESS)
@pytest.mark.parametrize("k", [1, 2])
def test_a_property_bfs_finds_violated_is_never_proved(spec, k):
    explicit = check(spec)
    result = prove(compile_spec(spec), k)
    for verdict in result.verdicts:
        expected = explicit.verdict(verdict.property).status
        if expected is Status.VIOLATED:
            assert verdict.status is not Status.HOLDS, verdict.property
        if verdict.status is Status.HOLDS:
            assert expected is Status.HOLDS, verdict.property
        if verdict.status is Status.VIOLATED:  # found by the base case: a real run
            assert expected is Status.VIOLATED


@pytest.mark.parametrize("flags", [(True, False), (True, True)])
def test_fix_one_is_proved_for_dns_race_with_the_lemmas(flags):
    result = prove(compile_spec(DnsRace(check_at_apply=flags[0], protect_active=flags[1])))
    assert result.engine == "prove" and result.exit_code == 0
    assert {v.property: v.status for v in result.verdicts} == {
        "active_plan_never_deleted": Status.HOLDS,
        "applied_generation_monotonic": Status.HOLDS,
        "no_unexpected_deadlock": Status.HOLDS,
    }


def test_fix_one_is_proved_past_what_enumeration_reaches():
    spec = DnsRace(check_at_apply=True, enactors=3, endpoints=3, generations=12)
    result = prove(compile_spec(spec))
    assert result.ok


def test_without_the_lemmas_induction_fails_with_a_counterexample_to_induction():
    class NoLemmas(DnsRace):
        pass

    for name in (
        "nothing_newer_than_latest",
        "written_endpoints_are_at_least_the_writers_plan",
        "plans_from_oldest_in_use_to_latest_exist",
    ):
        setattr(NoLemmas, name, lambda self, s: True)  # plain methods: no longer lemmas
    model = compile_spec(NoLemmas(check_at_apply=True))
    assert model.lemmas == ()
    result = prove(model, 1, ("active_plan_never_deleted",))
    verdict = result.verdicts[0]
    assert verdict.status is Status.UNKNOWN and result.exit_code == 3
    cti = verdict.counterexample
    assert "counterexample to induction" in verdict.reason
    spec = model.spec
    # It starts in a state satisfying the invariant and ends in one violating it,
    # through steps the spec's own code takes.
    assert spec.active_plan_never_deleted(cti.initial)
    assert not spec.active_plan_never_deleted(cti.final)
    before = cti.initial
    for step in cti:
        act = model.find_action(step.action, dict(step.args))
        assert step.state in act.successors(before)
        before = step.state


def test_a_lemma_makes_the_lock_provable_and_is_itself_proved():
    assert prove(compile_spec(TwoProcessLock()), 1).exit_code == 3
    result = prove(compile_spec(LockWithLemma()), 1)
    assert result.ok


def test_a_false_lemma_is_not_trusted():
    class WrongLemma(TwoProcessLock):
        from modelcheck import invariant

        @invariant(lemma=True)
        def nobody_ever_enters(self, s):
            """False: the lock is usable."""
            return s.pc[0] != "critical" and s.pc[1] != "critical"

    result = prove(compile_spec(WrongLemma()), 2)
    assert result.verdict("mutual_exclusion").status is not Status.HOLDS


def test_the_prove_command_reports_proved_and_exit_code_zero():
    from typer.testing import CliRunner

    from modelcheck.cli import app

    out = CliRunner().invoke(app, ["prove", "specs/dns_race.py", "-p", "check_at_apply=true"])
    assert out.exit_code == 0, out.output
    assert "active_plan_never_deleted     invariant  proved" in out.output
    assert "result=proved engine=prove" in out.output


def test_the_prove_command_exits_2_naming_the_construct_outside_the_subset():
    from typer.testing import CliRunner

    from modelcheck.cli import app

    out = CliRunner().invoke(app, ["prove", "tests/symbolic_toys.py:UsesASet"])
    assert out.exit_code == 2
    assert "seen = {s.value}" in out.output
