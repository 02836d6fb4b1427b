"""Symmetry reduction: exact orbit counts, unchanged verdicts, traces that replay.

The orbit counts are checked against a brute force written here, apart from
:mod:`modelcheck.symmetry`: every reachable state of the unreduced spec
(its own breadth-first search), every permutation of the ids applied by
this file's own renaming, and the number of distinct orbits counted.
"""

from __future__ import annotations

import itertools
import json

import pytest
from typer.testing import CliRunner

from modelcheck import Symmetry, action, check, compile_spec, constraint, replay
from modelcheck.cli import app
from modelcheck.errors import CheckpointError, ModelcheckError, SpecError, SpecRuntimeError
from modelcheck.render.html import render_html
from modelcheck.render.json import result_to_json
from modelcheck.render.text import render_result, summary_line
from specs.dns_race import DnsRace
from tests.symmetry_toys import CRITICAL, LeakyLock, SharedLock
from tests.toy_specs import Counter

# --- the brute force -----------------------------------------------------------------------


def reachable(spec):
    """Every reachable state, by a plain breadth-first search over the model's successors."""
    model = compile_spec(spec)
    seen = dict.fromkeys(model.initial_states)
    queue = list(seen)
    for state in queue:
        for _act, nxt in model.successors(state):
            if nxt not in seen:
                seen[nxt] = None
                queue.append(nxt)
    return list(seen)


def renamed(value, perm):
    """An id-holding value with every id ``i`` replaced by ``perm[i]`` (-1: nobody)."""
    if isinstance(value, frozenset):
        return frozenset(perm[v] for v in value)
    if isinstance(value, tuple):
        return tuple(renamed(v, perm) for v in value)
    return value if value == -1 else perm[value]


def image(state, perm, per_id, holds_id):
    """``state`` with process ``i`` renamed ``perm[i]``: written out, not from the engine."""
    changes = {}
    for name in per_id:
        old = getattr(state, name)
        new = [None] * len(old)
        for i, value in enumerate(old):
            new[perm[i]] = value
        changes[name] = tuple(new)
    for name in holds_id:
        changes[name] = renamed(getattr(state, name), perm)
    return state.replace(**changes)


def orbit_count(spec, n, per_id, holds_id=()):
    """The number of orbits of the reachable states under all ``n!`` renamings."""
    orbits = {
        frozenset(image(s, p, per_id, holds_id) for p in itertools.permutations(range(n)))
        for s in reachable(spec)
    }
    return len(orbits), orbits


DNS_CONFIGS = [
    {},
    {"check_at_apply": True},
    {"protect_active": True},
    {"check_at_apply": True, "protect_active": True},
    {"enactors": 3, "endpoints": 2, "generations": 3},
    {"enactors": 3, "endpoints": 1, "generations": 4, "check_at_apply": True},
    {"enactors": 4, "endpoints": 1, "generations": 3},
    {"enactors": 1, "endpoints": 2, "generations": 3},
]
LOCK_CONFIGS = [{}, {"broken": True}, {"n": 4, "rounds": 1}, {"n": 2, "rounds": 3}]


def dns_orbits(params):
    spec = DnsRace(**params)
    return spec, *orbit_count(spec, spec.enactors, ("pc", "plan", "next"))


def lock_orbits(params):
    spec = SharedLock(**params)
    return spec, *orbit_count(spec, spec.n, ("pc", "visits"), ("owner", "last", "served"))


@pytest.mark.parametrize("params", DNS_CONFIGS, ids=repr)
def test_the_reduced_dns_race_count_is_the_number_of_orbits_of_its_reachable_states(params):
    spec, expected, orbits = dns_orbits(params)
    result = check(spec, symmetry=True, engine="python")
    assert result.complete
    assert result.statistics.states == expected
    # One representative per orbit, and every orbit has one.
    reps = set(compile_spec(spec).symmetry.canonical(next(iter(o))) for o in orbits)
    assert len(reps) == expected


@pytest.mark.parametrize("params", LOCK_CONFIGS, ids=repr)
def test_the_reduced_count_of_a_toy_with_id_holding_fields_is_its_number_of_orbits(params):
    spec, expected, _ = lock_orbits(params)
    result = check(spec, symmetry=True, engine="python")
    assert result.complete
    assert result.statistics.states == expected
    assert result.statistics.states < len(reachable(spec))  # it does reduce


@pytest.mark.parametrize(
    "spec", [DnsRace(enactors=3, generations=3), SharedLock(), SharedLock(n=4, rounds=1)], ids=repr
)
def test_every_member_of_an_orbit_gets_the_same_representative_and_it_is_a_member(spec):
    symmetry = compile_spec(spec).symmetry
    for state in reachable(spec):
        rep = symmetry.canonical(state)
        members = symmetry.orbit(state)
        assert rep in members
        assert {symmetry.canonical(m) for m in members} == {rep}


# --- verdicts, trace lengths, replay -------------------------------------------------------

SYMMETRIC_SPECS = [DnsRace(**p) for p in DNS_CONFIGS[:5]] + [SharedLock(**p) for p in LOCK_CONFIGS]


def _lengths(result):
    return {
        v.property: (
            v.status.value,
            None if v.counterexample is None else len(v.counterexample),
            None if v.witness is None else len(v.witness),
        )
        for v in result.verdicts
    }


@pytest.mark.parametrize("spec", SYMMETRIC_SPECS, ids=repr)
def test_verdicts_and_shortest_trace_lengths_are_those_of_the_unreduced_search(spec):
    plain = check(spec, engine="python")
    reduced = check(spec, engine="python", symmetry=True)
    assert _lengths(reduced) == _lengths(plain)
    assert reduced.statistics.depth == plain.statistics.depth
    assert any(v.counterexample or v.witness for v in reduced.verdicts) or plain.ok


@pytest.mark.parametrize("spec", SYMMETRIC_SPECS, ids=repr)
def test_every_counterexample_under_symmetry_replays_as_a_run_of_the_unreduced_spec(spec):
    model = compile_spec(spec)
    reduced = check(spec, engine="python", symmetry=True)
    traces = [v.counterexample for v in reduced.verdicts if v.counterexample is not None]
    traces += [v.witness for v in reduced.verdicts if v.witness is not None]
    for trace in traces:
        outcome = replay(model, trace)
        assert outcome.legal, outcome.message
        assert outcome.steps_replayed == len(trace)
        if trace.kind in ("invariant", "action", "terminal"):
            assert outcome.property_fails is True, outcome.message


def test_the_incident_trace_under_symmetry_is_a_concrete_run_with_both_enactors():
    reduced = check(DnsRace(), engine="python", symmetry=True)
    trace = reduced.verdict("active_plan_never_deleted").counterexample
    assert len(trace) == 10
    actors = {step.args for step in trace.steps if step.action != "plan"}
    assert actors == {(("e", 0),), (("e", 1),)}
    # A real state of the spec, not a representative glued to the next step.
    assert not DnsRace().active_plan_never_deleted(trace.final)


def test_counts_without_symmetry_are_the_reference_figures():
    # Declaring the symmetry changes nothing unless it is asked for.
    for params, states in [({}, 1614), ({"check_at_apply": True}, 561)]:
        result = check(DnsRace(**params), engine="python")
        assert result.statistics.states == states
        assert not result.reduced


# --- what the reports say ------------------------------------------------------------------


def test_reports_say_the_counts_are_reduced_and_by_which_symmetry():
    result = check(DnsRace(check_at_apply=True), engine="python", symmetry=True)
    assert result.reduced
    assert result.symmetry == "enactors (per id: pc, plan, next)"
    assert summary_line(result).endswith(" symmetry=enactors")
    text = render_result(result)
    assert "explored 304 distinct states (orbits)" in text
    assert "one state per orbit of renaming enactors (per id: pc, plan, next)" in text
    assert result_to_json(result)["symmetry"] == "enactors (per id: pc, plan, next)"
    html = render_html(result, compile_spec(DnsRace(check_at_apply=True)))
    assert "<th>symmetry</th>" in html and "orbits: reduced by symmetry" in html


def test_an_unreduced_report_says_nothing_about_symmetry():
    result = check(DnsRace(check_at_apply=True), engine="python")
    assert "symmetry" not in summary_line(result)
    assert result_to_json(result)["symmetry"] is None
    assert "orbit" not in render_result(result)


def test_auto_reduces_a_small_model_on_the_python_engine_without_a_note():
    # (The compiled engine's reduction: tests/test_compiled_symmetry.py.)
    result = check(DnsRace(), engine="auto", symmetry=True)
    assert (result.engine, result.engine_note) == ("python", "")
    assert result.statistics.states == 862 == dns_orbits({})[1]


def test_the_command_line_reduces_with_symmetry(tmp_path):
    out = tmp_path / "r.json"
    got = CliRunner().invoke(
        app, ["check", "specs/dns_race.py", "--symmetry", "-q", "--json", str(out)]
    )
    assert got.exit_code == 1, got.output
    assert "symmetry=enactors" in got.output
    assert json.loads(out.read_text())["statistics"]["states"] == dns_orbits({})[1]


# --- declarations and refusals -------------------------------------------------------------


def test_asking_for_symmetry_on_a_spec_without_one_is_a_clear_error():
    with pytest.raises(ModelcheckError, match="Counter declares no symmetry"):
        check(Counter(), symmetry=True)
    got = CliRunner().invoke(app, ["check", "tests/toy_specs.py:Counter", "--symmetry"])
    assert got.exit_code == 2
    assert "declares no symmetry" in got.output and "Traceback" not in got.output


def test_coverage_with_symmetry_is_refused():
    with pytest.raises(ModelcheckError, match="coverage with symmetry"):
        check(DnsRace(), symmetry=True, coverage=True)


def test_a_declaration_leaving_out_an_id_holding_field_is_refused_before_the_search():
    with pytest.raises(SpecError, match="is not a symmetry of the spec"):
        check(LeakyLock(), symmetry=True)


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        (Symmetry("endpointz", per_id=("pc",)), "must name an int parameter"),
        (Symmetry("enactors", per_id=("pcs",)), "not a field of DnsState"),
        (Symmetry("enactors", per_id=("dns",)), "one entry per id"),
        (Symmetry("enactors"), "names no field"),
        (Symmetry("enactors", per_id=("pc",), holds_id=("pc",)), "both per_id and holds_id"),
        ("enactors", "must be a modelcheck.Symmetry"),
    ],
)
def test_a_bad_declaration_names_the_problem(declared, message):
    bad = type("BadRace", (DnsRace,), {"symmetry": declared})
    with pytest.raises(SpecError, match=message):
        compile_spec(bad(endpoints=3))


# --- with the other search options ---------------------------------------------------------


class BoundedLock(SharedLock):
    """``SharedLock`` explored only while at most two visits happened in all (a constraint)."""

    @constraint
    def few_visits(self, s) -> bool:
        return sum(s.visits) <= 2


class ExplodingLock(SharedLock):
    """``SharedLock`` whose ``leave`` raises once some process has visited twice."""

    def leave(self, s, p):
        if s.pc[p] == CRITICAL and s.visits[p] == 1:
            raise RuntimeError("second visit")
        return SharedLock.leave(self, s, p)


ExplodingLock.leave = action(p="n")(ExplodingLock.leave)


def test_under_a_constraint_the_reduced_count_is_the_orbits_of_the_explored_states():
    spec = BoundedLock(n=3, rounds=2)
    model = compile_spec(spec)
    seen = dict.fromkeys(model.initial_states)
    queue = list(seen)
    for state in queue:
        if not model.within(state):
            continue  # reached and checked, but not explored
        for _act, nxt in model.successors(state):
            if nxt not in seen:
                seen[nxt] = None
                queue.append(nxt)
    perms = list(itertools.permutations(range(3)))
    explored, outside = set(), set()
    for state in seen:
        orbit = frozenset(
            image(state, p, ("pc", "visits"), ("owner", "last", "served")) for p in perms
        )
        (explored if model.within(state) else outside).add(orbit)
    plain = check(spec, engine="python")
    reduced = check(spec, engine="python", symmetry=True)
    assert plain.statistics.states == sum(1 for s in seen if model.within(s))
    assert reduced.statistics.states == len(explored) < plain.statistics.states
    assert reduced.statistics.constrained == len(outside)
    assert _lengths(reduced) == _lengths(plain)


@pytest.mark.parametrize("options", [{"max_depth": 3}, {"stop_at_first": True}, {"max_states": 40}])
def test_limits_stop_a_reduced_search_with_the_same_verdicts_where_they_are_settled(options):
    spec = SharedLock(broken=True)
    plain = check(spec, engine="python", **options)
    reduced = check(spec, engine="python", symmetry=True, **options)
    assert not reduced.complete
    settled = {k: v for k, v in _lengths(plain).items() if v[0] == "violated"}
    if "max_states" not in options:  # a state budget cuts orbits and states at other places
        assert {k: v for k, v in _lengths(reduced).items() if v[0] == "violated"} == settled


def test_a_spec_error_under_symmetry_comes_with_a_concrete_trace_that_replays():
    spec = ExplodingLock(n=2)
    with pytest.raises(SpecRuntimeError, match="second visit") as raised:
        check(spec, engine="python", symmetry=True)
    trace = raised.value.trace
    assert trace is not None
    assert replay(compile_spec(spec), trace).legal


def test_a_reduced_run_stopped_at_a_checkpoint_resumes_to_the_reduced_answer(tmp_path):
    folder = str(tmp_path / "cp")
    whole = check(DnsRace(), engine="python", symmetry=True)
    options = {"engine": "python", "symmetry": True, "progress_every": 50}
    stopped = check(DnsRace(), checkpoint=folder, time_limit=1e-9, **options)
    assert stopped.stopped_by == "time_limit"
    resumed = check(DnsRace(), resume=folder, **options)
    st, ws = resumed.statistics, whole.statistics
    assert (st.states, st.transitions, st.depth) == (ws.states, ws.transitions, ws.depth)
    assert resumed.verdicts == whole.verdicts and resumed.complete and resumed.reduced
    # A checkpoint of orbit representatives is never continued as an unreduced search.
    with pytest.raises(CheckpointError, match="another options"):
        check(DnsRace(), engine="python", resume=folder)


def test_one_field_may_be_named_by_a_string():
    assert Symmetry("n", per_id="pc", holds_id="owner") == Symmetry(
        "n", per_id=("pc",), holds_id=("owner",)
    )


def test_liveness_with_symmetry_is_refused_with_the_reason():
    from modelcheck import eventually

    class RaceThatEnds(DnsRace):
        @eventually
        def all_planned(self, s):
            return s.latest == self.generations

    with pytest.raises(ModelcheckError, match="liveness with symmetry reduction"):
        check(RaceThatEnds(), symmetry=True)
    # Without the liveness property the same spec reduces as before.
    reduced = check(RaceThatEnds(), symmetry=True, properties=("active_plan_never_deleted",))
    assert reduced.reduced
