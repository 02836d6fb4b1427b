"""The fingerprint store (``check --store fingerprints``) against the exact store.

With 64-bit fingerprints no collision happens on these sizes, so every
figure must be the exact search's: counts, transitions, depth, verdicts and
the same first-found shortest counterexamples, which replay.  With
fingerprints cut to a few bits (the ``FINGERPRINT_BITS`` test hook),
collisions do hide states: the count drops and the estimate says a miss was
likely, which shows that these comparisons can fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from constraint_toys import BoundedDial, Fork, LamportClocks, OnlyUp, StartsOutside
from dns_race import DnsRace  # specs/ is on the path (conftest.py)
from symmetry_toys import SharedLock
from toy_specs import (
    BoundedQueue,
    Counter,
    InterruptedCounter,
    OperatorRepair,
    PathGraph,
    RandomWalk,
    RichValues,
    TwoProcessLock,
)
from typer.testing import CliRunner

from modelcheck import (
    CheckOptions,
    Spec,
    SpecError,
    SpecRuntimeError,
    State,
    action,
    check,
    compile_spec,
)
from modelcheck.cli import app
from modelcheck.engines import fingerprint_search
from modelcheck.engines.fingerprints import (
    FingerprintTable,
    PackedLevel,
    collision_probability,
    fingerprint_function,
)
from modelcheck.errors import ModelcheckError
from modelcheck.model import Model
from modelcheck.render.html import render_html
from modelcheck.render.json import result_to_json
from modelcheck.render.text import render_result, summary_line
from modelcheck.result import CheckResult
from modelcheck.trace_replay import replay

ROOT = Path(__file__).resolve().parent.parent

#: dns-race's properties that need no state graph.
DNS_PROPERTIES = (
    "active_plan_never_deleted",
    "applied_generation_monotonic",
    "no_unexpected_deadlock",
)


def graphless(spec) -> tuple[str, ...]:
    """The spec's properties that the fingerprint store can check."""
    model = compile_spec(spec)
    return tuple(p.name for p in model.properties if p.kind != "recoverable" and not p.liveness)


def both(spec, **options) -> tuple[CheckResult, CheckResult]:
    options.setdefault("properties", graphless(spec))
    exact = check(spec, engine="python", **options)
    fingerprints = check(spec, engine="python", store="fingerprints", **options)
    return exact, fingerprints


def assert_same(exact: CheckResult, fingerprints: CheckResult, spec=None) -> None:
    a, b = exact.statistics, fingerprints.statistics
    assert (b.states, b.transitions, b.depth, b.constrained) == (
        a.states,
        a.transitions,
        a.depth,
        a.constrained,
    )
    assert (fingerprints.complete, fingerprints.stopped_by) == (exact.complete, exact.stopped_by)
    assert fingerprints.verdicts == exact.verdicts  # statuses, reasons and traces
    assert fingerprints.store == "fingerprints" and not fingerprints.exact
    assert exact.store == "exact" and a.collision_probability is None
    if spec is not None:
        model = compile_spec(spec)
        for v in fingerprints.verdicts:
            for trace in (v.counterexample, v.witness):
                if trace is not None:
                    assert replay(model, trace).legal, trace


DNS_CONFIGURATIONS = [
    {},
    {"check_at_apply": True},
    {"protect_active": True},
    {"enactors": 3, "endpoints": 2, "generations": 3},
    {"enactors": 3, "endpoints": 2, "generations": 4, "check_at_apply": True},
    {"enactors": 2, "endpoints": 3, "generations": 5, "keep": 2},
    {"operator": True},
]


@pytest.mark.parametrize("params", DNS_CONFIGURATIONS, ids=repr)
def test_dns_race_gives_the_exact_searchs_counts_verdicts_and_traces(params):
    spec = DnsRace(**params)
    exact, fingerprints = both(spec, properties=DNS_PROPERTIES)
    assert_same(exact, fingerprints, spec)
    assert 0 < fingerprints.statistics.collision_probability < 1e-9


TOYS = [
    Counter(n=5, bad=3),
    Counter(n=40),
    TwoProcessLock(),
    BoundedQueue(),
    RandomWalk(),
    PathGraph(),
    OperatorRepair(),
    RichValues(),  # enums, frozensets, nested records: the slow fingerprint and pickled levels
    BoundedDial(),
    OnlyUp(),
    StartsOutside(),
    Fork(),
    LamportClocks(),
]


@pytest.mark.parametrize("spec", TOYS, ids=lambda s: type(s).__name__)
def test_toy_specs_give_the_exact_searchs_figures(spec):
    exact, fingerprints = both(spec)
    assert_same(exact, fingerprints, spec)


@pytest.mark.parametrize(
    "options",
    [
        {"max_states": 700},
        {"max_depth": 9},
        {"stop_at_first": True},
        {"max_states": 1, "stop_at_first": True},
        {"progress_every": 7},
    ],
    ids=repr,
)
def test_limits_stop_where_the_exact_search_stops(options):
    spec = DnsRace(enactors=3, endpoints=2, generations=3)
    exact, fingerprints = both(spec, properties=DNS_PROPERTIES, **options)
    assert_same(exact, fingerprints, spec)


def test_limits_on_a_constrained_toy_stop_where_the_exact_search_stops():
    for options in ({"max_depth": 2}, {"max_states": 3}, {"stop_at_first": True}):
        assert_same(*both(BoundedDial(), **options))


def test_symmetry_reduction_fingerprints_the_representatives():
    for spec in (DnsRace(enactors=3, endpoints=2, generations=3), SharedLock(n=3)):
        exact, fingerprints = both(spec, symmetry=True)
        assert_same(exact, fingerprints, spec)
        assert fingerprints.reduced


def test_with_a_few_bits_collisions_hide_states_and_the_estimate_says_so(monkeypatch):
    spec = DnsRace()  # 1,614 states
    exact, fingerprints = both(spec, properties=DNS_PROPERTIES)
    assert fingerprints.statistics.states == exact.statistics.states == 1614
    monkeypatch.setattr(fingerprint_search, "FINGERPRINT_BITS", 12)
    short = check(spec, engine="python", store="fingerprints", properties=DNS_PROPERTIES)
    # 4,096 values for 1,614 states: hundreds of collisions, each a state not explored.
    assert short.statistics.states < 1614 - 100
    assert short.statistics.collision_probability == 1.0
    assert "about 1.0e+00" in render_result(short)
    # The estimate grows with the square of the states and halves per bit.
    assert collision_probability(1614, 12) == 1.0
    assert collision_probability(2**20, 64) == 2.0**40 / 2**65


def test_a_spec_error_comes_with_the_exact_searchs_trace():
    errors = []
    for store in ("exact", "fingerprints"):
        with pytest.raises(SpecRuntimeError) as caught:
            check(Counter(n=9, explode_at=4), engine="python", store=store, properties=())
        errors.append(caught.value)
    assert errors[0].trace == errors[1].trace
    assert len(errors[1].trace) == 4


def test_ctrl_c_keeps_what_was_found_so_far():
    spec = InterruptedCounter(n=10, bad=3, stop_at=7)
    exact, fingerprints = both(spec, properties=("never_bad",))
    assert fingerprints.stopped_by == "interrupted" and not fingerprints.complete
    assert_same(exact, fingerprints, spec)
    assert fingerprints.verdict("never_bad").counterexample is not None


def test_fingerprints_do_not_depend_on_the_hash_seed():
    paths = [str(ROOT / "tests"), str(ROOT / "specs")]
    code = textwrap.dedent(
        f"""
        import sys
        sys.path[:0] = {paths!r}
        from toy_specs import Color, Inner, Rich
        from dns_race import DnsRace
        from modelcheck import compile_spec
        from modelcheck.engines.fingerprints import fingerprint_function
        fp = fingerprint_function()
        states = [*compile_spec(DnsRace()).initial_states,
                  Rich(Color.RED, frozenset({{"beta", "alpha", "x", "yy"}}), (1, 2), Inner(0, 0))]
        print([fp(s) for s in states])
        """
    )
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT))
        run = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(run.stdout)
    assert len(outputs) == 1


def test_equal_states_get_equal_fingerprints_however_their_sets_were_built():
    fp = fingerprint_function()
    one, other = frozenset([1, 9]), frozenset([9, 1])
    assert one == other and list(one) != list(other)  # equal sets, iterated in other orders
    assert fp((0, one)) == fp((0, other))
    assert fp(("a", frozenset({"x", "y"}))) == fp(("a", frozenset({"y", "x"})))
    assert fp((1, 2)) != fp((2, 1))


def test_the_table_keeps_every_fingerprint_through_its_growth():
    table = FingerprintTable()
    values = [(k * 0x9E3779B97F4A7C15) % 2**64 or 1 for k in range(1, 20_000)]
    values += list(range(1, 3000))  # one segment, consecutive slots: runs that wrap round
    assert all(table.add(x) for x in values)
    assert not any(table.add(x) for x in values)
    assert all(x in table for x in values)
    assert 3000 not in table and len(table) == len(values)


def test_a_packed_level_gives_its_states_back_in_order():
    spec = DnsRace(enactors=3)
    states = []
    frontier = list(compile_spec(spec).initial_states)
    model = compile_spec(spec)
    while len(states) < 500:
        frontier = [t for s in frontier for _a, t in model.successors(s)]
        states.extend(frontier)
    level = PackedLevel(64)
    for s in states:
        level.append(s)
    assert level.size == len(states) and level.nbytes < 30 * len(states)
    assert [s for block in level.handover().blocks() for s in block] == states


# --- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options, message",
    [
        ({"engine": "compiled"}, "drop --engine compiled"),
        ({"workers": 2}, "drop --workers 2"),
        ({"ray": "local"}, "drop --ray"),
        ({"coverage": True}, "--coverage with --store fingerprints"),
        ({"checkpoint": "somewhere"}, "writes no checkpoints"),
        ({"store": "bloom"}, "unknown store"),
    ],
)
def test_options_that_cannot_go_with_fingerprints_are_refused(options, message):
    options = {"store": "fingerprints", **options}
    with pytest.raises(ValueError, match=message):
        CheckOptions(**options)


def test_recoverability_needs_the_graph_and_is_refused_by_name():
    with pytest.raises(ModelcheckError, match=r"always_recoverable.*--property"):
        check(DnsRace(), store="fingerprints")


# --- reports and the command line ----------------------------------------------------------


def test_reports_say_the_search_is_not_exact_with_the_estimate():
    spec = DnsRace()
    result = check(spec, store="fingerprints", properties=DNS_PROPERTIES)
    text = render_result(result)
    assert "store: fingerprints, NOT an exact search" in text
    assert summary_line(result).endswith(" store=fingerprints collision=7.1e-14")
    data = result_to_json(result)
    assert data["store"] == "fingerprints"
    assert data["statistics"]["collision_probability"] == pytest.approx(1614**2 / 2**65)
    assert "fingerprints: not an exact search" in render_html(result, compile_spec(spec))
    exact = check(spec, properties=DNS_PROPERTIES, engine="python")
    assert "store: fingerprints" not in render_result(exact) and "store=" not in summary_line(exact)
    assert result_to_json(exact)["store"] == "exact"
    assert result_to_json(exact)["statistics"]["collision_probability"] is None


runner = CliRunner()


def test_the_command_line_checks_with_fingerprints(tmp_path):
    out = tmp_path / "result.json"
    args = ["check", str(ROOT / "specs" / "dns_race.py"), "--store", "fingerprints"]
    args += ["--property", "active_plan_never_deleted", "--json", str(out)]
    run = runner.invoke(app, args)
    assert run.exit_code == 1, run.output
    assert "explored 1614 distinct states, 3396 transitions, depth 21 steps" in run.output
    assert "NOT an exact search" in run.output
    data = json.loads(out.read_text())
    assert data["store"] == "fingerprints" and data["statistics"]["states"] == 1614


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "keeps no state graph"),
        (["--engine", "compiled"], "runs on the Python engine"),
        (["--workers", "2"], "on one core"),
        (["--coverage"], "--coverage with --store fingerprints"),
        (["--checkpoint", "cp"], "writes no checkpoints"),
        (["--ray=local"], "drop --ray"),
    ],
)
def test_bad_combinations_are_one_clear_error_and_exit_2(tmp_path, extra, message):
    args = ["check", str(ROOT / "specs" / "dns_race.py"), "--store", "fingerprints"]
    if extra:
        args += ["--property", "active_plan_never_deleted", *extra]
    run = runner.invoke(app, args)
    assert run.exit_code == 2, run.output
    assert message in run.output and "Traceback" not in run.output


def test_an_unknown_store_is_a_clear_error():
    run = runner.invoke(app, ["check", str(ROOT / "specs" / "dns_race.py"), "--store", "bloom"])
    assert run.exit_code == 2 and "unknown store; choose one of exact, fingerprints" in run.output


class Wide(State):
    value: int


class Fan(Spec):
    """One initial state with ``width`` successors (the last steps number past 16 bits)."""

    width: int = 70_000

    def initial_states(self) -> Wide:
        return Wide(-1)

    @action(nondeterministic=True)
    def pick(self, s: Wide):
        return [Wide(v) for v in range(self.width)] if s.value < 0 else []


def test_a_state_with_more_steps_than_16_bits_can_number_is_a_clear_error():
    with pytest.raises(ModelcheckError, match="more than 65,535 successors"):
        check(Fan(), engine="python", store="fingerprints")
    assert check(Fan(width=1000), engine="python", store="fingerprints").statistics.states == 1001


class Opaque:
    """Hashable, but neither a record, an attrs class nor a plain value: no canonical form."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque)

    def __hash__(self) -> int:
        return 1


class Holder(State):
    thing: object


class HoldsOpaque(Spec):
    """Its one step makes a state holding an :class:`Opaque` value."""

    def initial_states(self) -> Holder:
        return Holder(0)

    @action
    def hide(self, s: Holder) -> Holder | None:
        return Holder(Opaque()) if s.thing == 0 else None


def test_a_state_with_a_value_that_has_no_canonical_form_is_a_clear_error():
    with pytest.raises(SpecError, match="cannot fingerprint Holder"):
        check(HoldsOpaque(), engine="python", store="fingerprints")
    run = runner.invoke(app, ["check", __file__ + ":HoldsOpaque", "--store", "fingerprints"])
    assert run.exit_code == 2 and "Use the exact store" in run.output, run.output


def test_progress_is_reported_and_time_and_memory_limits_stop_the_search_cleanly():
    spec = DnsRace(enactors=3, endpoints=2, generations=3)
    seen = []
    full = check(
        spec,
        engine="python",
        store="fingerprints",
        properties=DNS_PROPERTIES,
        progress_every=64,
        progress=seen.append,
    )
    assert len(seen) > 10
    assert [p.states for p in seen] == sorted(p.states for p in seen)
    assert seen[-1].states <= full.statistics.states
    for limit, reason in (
        ({"memory_limit": 1}, "memory_limit"),
        ({"time_limit": 1e-9}, "time_limit"),
    ):
        stopped = check(
            spec, engine="python", store="fingerprints", properties=DNS_PROPERTIES, **limit
        )
        assert (stopped.stopped_by, stopped.complete) == (reason, False)
        assert 0 < stopped.statistics.states < full.statistics.states
        assert all(v.status.value != "holds" for v in stopped.verdicts)


def test_a_trace_that_cannot_be_rebuilt_names_a_spec_that_is_not_deterministic(monkeypatch):
    # The search runs the generated loop; rebuilding a trace asks Model.successors
    # again.  Were a spec to give its steps in another order the second time, the
    # recorded places would lead elsewhere: simulate that by reversing them.
    successors = Model.successors
    monkeypatch.setattr(Model, "successors", lambda self, s: successors(self, s)[::-1])
    with pytest.raises(SpecError, match=r"could not rebuild a trace.*not deterministic"):
        check(DnsRace(), engine="python", store="fingerprints", properties=DNS_PROPERTIES)
