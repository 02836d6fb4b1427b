"""Operator actions (``@action(operator=True)``): what the report says where automation is stuck."""

from __future__ import annotations

import importlib.util

import pytest
from dns_race import DnsRace

from modelcheck import Status, check


def test_dns_race_with_an_operator_says_the_automation_cannot_recover_but_an_operator_can():
    plain = check(DnsRace())
    helped = check(DnsRace(operator=True))
    # Off by default: the reference figures of shared/models/dns-race.md, and no operator
    # talk in the report (no operator step exists).
    assert (plain.statistics.states, plain.statistics.transitions) == (1614, 3396)
    assert "operator" not in plain.verdict("always_recoverable").reason
    st = helped.statistics
    assert (st.states, st.transitions, st.depth) == (1674, 3535, 21)
    verdict = helped.verdict("always_recoverable")
    assert verdict.status is Status.VIOLATED and len(verdict.counterexample.steps) == 10
    assert "(29 of 1674 reachable states are unrecoverable)" in verdict.reason
    assert "the automation cannot recover alone, an operator can: restore()" in verdict.reason
    assert "every one of the 29 can recover with an operator's help" in verdict.reason
    # The race itself is the same; the unexpected deadlocks were all states with a record
    # pointing at a deleted plan, where the operator's restore is now enabled.
    for name in ("active_plan_never_deleted", "applied_generation_monotonic"):
        mine, theirs = helped.verdict(name), plain.verdict(name)
        assert mine.status is theirs.status is Status.VIOLATED
        assert mine.counterexample.steps == theirs.counterexample.steps
    assert plain.verdict("no_unexpected_deadlock").status is Status.VIOLATED
    assert helped.verdict("no_unexpected_deadlock").status is Status.HOLDS


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba")
def test_the_compiled_engine_gives_the_same_operator_report(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELCHECK_CACHE_DIR", str(tmp_path))
    python = check(DnsRace(operator=True), engine="python")
    compiled = check(DnsRace(operator=True), engine="compiled")
    assert compiled.engine == "compiled", compiled.engine_note
    assert compiled.verdicts == python.verdicts


def test_an_operator_action_never_enabled_draws_no_coverage_warning():
    result = check(DnsRace(), coverage=True)
    restore = next(c for c in result.coverage if c.family == "restore")
    assert restore.enabled == 0 and restore.operator
    assert all(c.enabled > 0 for c in result.coverage if not c.operator)
