"""Operator actions (``@action(operator=True)``): what the report says where automation is stuck."""

from __future__ import annotations

import importlib
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


# --- liveness "by automation alone" -----------------------------------------------------------


def test_a_violated_liveness_property_names_the_trap_and_the_operator_action_that_ends_it():
    from liveness_toys import JammingMachine

    result = check(JammingMachine())
    verdict = result.verdict("healthy_again_and_again")
    assert verdict.status is Status.VIOLATED
    # Worked out by hand (the toy's docstring): "ok" and "stuck" are trapped, "fixed" is
    # not; reset() leads back into the trap, repair() out of it.
    assert "from 2 of 3 reachable states a fair run of the automation violates" in (verdict.reason)
    assert "an operator can end it: repair() from a state of the loop" in verdict.reason
    assert "reset()" not in verdict.reason


def test_a_violation_that_needs_an_operator_says_the_automation_alone_satisfies_it():
    from liveness_toys import JammingMachine

    verdict = check(JammingMachine(sabotage=True)).verdict("healthy_again_and_again")
    assert verdict.status is Status.VIOLATED  # the operator's jolt can start the loop
    assert "jolt" in [s.action for s in verdict.counterexample.steps]
    assert "the automation alone satisfies it: every violating run takes an operator" in (
        verdict.reason
    )


def test_where_no_operator_leads_out_the_report_says_so():
    from liveness_toys import JammingMachine

    verdict = check(JammingMachine(no_repair=True)).verdict("healthy_again_and_again")
    # "fixed" is unreachable now; reset() leads to "ok", still trapped.
    assert "from 2 of 2 reachable states" in verdict.reason
    assert "not even operators lead out of the trap from the loop" in verdict.reason


def _trapped_by_brute_force(spec_class, name: str, **params) -> int:
    """How many reachable states have a violating fair run of the automation alone: one
    check per state, started there, with every operator action turned off."""
    from modelcheck import compile_spec

    model = compile_spec(spec_class(**params))
    states = check(spec_class(**params)).statistics.states
    reached = _reachable(model)
    assert len(reached) == states

    class AutomationFrom(spec_class):
        def initial_states(self):
            return [self._start]

    for family in model.operators:
        setattr(AutomationFrom, family, _disabled(getattr(spec_class, family)))
    trapped = 0
    for state in reached:
        spec = AutomationFrom(**params)
        object.__setattr__(spec, "_start", state)
        verdict = check(spec, engine="python", properties=[name]).verdict(name)
        trapped += verdict.status is Status.VIOLATED
    return trapped


def _disabled(method):
    from modelcheck import action

    @action(operator=True)
    def never(self, s):
        return None

    never.__name__ = method.__name__
    return never


def _reachable(model) -> list:
    seen = dict.fromkeys(model.initial_states)
    work = list(seen)
    while work:
        state = work.pop()
        for _, succ in model.successors(state):
            if succ not in seen:
                seen[succ] = None
                work.append(succ)
    return list(seen)


@pytest.mark.parametrize(
    ("module", "name", "way_out"),
    [
        # The incident's order: throttle the incoming work, then restart (neither alone).
        ("dwfm_leases:DwfmLeases", "leases_recover", "throttle() then restart()"),
        # What the engineers did about the flip-flop: turn automatic failover off.
        ("nlb_failover:NlbFailover", "membership_settles", "disable_automation()"),
    ],
)
def test_the_incident_specs_trap_counts_are_what_one_check_per_state_finds(module, name, way_out):
    file, _, cls = module.partition(":")
    spec_class = getattr(importlib.import_module(file), cls)
    result = check(spec_class(), properties=[name])
    expected = _trapped_by_brute_force(spec_class, name)
    states = result.statistics.states
    assert f"from {expected} of {states} reachable states a fair run" in result.verdict(name).reason
    assert f"an operator can end it: {way_out} from a state of the loop" in (
        result.verdict(name).reason
    )
