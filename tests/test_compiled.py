"""The compiled engine gives the Python engine's answers: counts, depth, verdicts and traces.

Every test here is differential or about the engine's plumbing (layout,
fallback, cache).  Each distinct kernel costs a cold JIT of a few seconds,
so the specs and parameter sets are chosen to share kernels: a kernel is
keyed by the spec's source, its parameters and the selected properties.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("numba")

import compiled_protocols as protocols
import symbolic_toys as toys
from agreement import assert_same
from dns_race import DnsRace
from typer.testing import CliRunner

from modelcheck import CheckResult, Status, check, compile_spec, replay
from modelcheck.cli import app
from modelcheck.engines import bfs
from modelcheck.engines.compiled import cache
from modelcheck.engines.compiled.layout import Layout
from modelcheck.engines.compiled.search import prepare
from modelcheck.symbolic import field_types


@pytest.fixture(scope="module", autouse=True)
def _kernels_in_one_folder(tmp_path_factory):
    """Kernels of this module in one folder: compiled once, shared by its tests."""
    folder = tmp_path_factory.mktemp("kernels")
    patch = pytest.MonkeyPatch()
    patch.setenv(cache.CACHE_ENV, str(folder))
    yield folder
    patch.undo()


def both(spec, **options) -> tuple[CheckResult, CheckResult]:
    python = check(spec, engine="python", **options)
    compiled = check(spec, engine="compiled", **options)
    assert compiled.engine == "compiled", compiled.engine_note
    return python, compiled


# --- the packed layout ----------------------------------------------------------------------


def reachable_states(spec, limit: int = 5000) -> list:
    model = compile_spec(spec)
    seen = list(dict.fromkeys(model.initial_states))
    known = set(seen)
    for state in seen:
        for _act, succ in model.successors(state):
            if succ not in known and len(seen) < limit:
                known.add(succ)
                seen.append(succ)
    return seen


LAYOUT_SPECS = [
    DnsRace(),
    DnsRace(enactors=3, endpoints=1, generations=5, keep=2),
    toys.SymCounter(),
    toys.TwoProcessLock(broken=True),
    protocols.Peterson(),
    protocols.TokenRing(),
    protocols.TwoPhase(),
]


@pytest.mark.parametrize("spec", LAYOUT_SPECS, ids=lambda s: type(s).__name__)
def test_every_reachable_state_packs_and_unpacks_to_itself_and_no_two_share_words(spec):
    from modelcheck.engines.z3.extract import extract

    model = compile_spec(spec)
    program = extract(model, list(model.properties))
    state_class = type(model.initial_states[0])
    layout = Layout(state_class, field_types(state_class, spec), program.leaves)
    states = reachable_states(spec)
    packed = [layout.encode(s) for s in states]
    assert [layout.decode(w) for w in packed] == states
    assert len(set(packed)) == len(states)
    assert all(0 <= word < 1 << 63 for words in packed for word in words)


def test_a_value_outside_its_declared_type_is_refused_by_the_layout():
    spec = toys.SymCounter(n=4)
    model = compile_spec(spec)
    from modelcheck.engines.z3.extract import extract

    program = extract(model, list(model.properties))
    layout = Layout(toys.CountState, field_types(toys.CountState, spec), program.leaves)
    with pytest.raises(ValueError, match="value"):
        layout.encode(toys.CountState(5, False))


# --- differential: the same answers ---------------------------------------------------------

SPECS = [
    DnsRace(),  # every property violated, including recoverability
    DnsRace(check_at_apply=True, protect_active=True),  # the fix: every property holds
    DnsRace(enactors=3, endpoints=1, generations=5, keep=2),
    toys.SymCounter(n=5, bad=3),
    toys.TwoProcessLock(broken=True),
    toys.LockWithLemma(),
    protocols.Peterson(),
    protocols.Peterson(broken=True),
    protocols.TokenRing(),
    protocols.TokenRing(machines=4, k=2, top=1),  # K < n: no longer self-stabilising
    protocols.TwoPhase(),
    protocols.TwoPhase(early_commit=True),
]


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_the_compiled_engine_gives_the_python_engines_counts_verdicts_and_traces(spec):
    python, compiled = both(spec)
    assert_same(python, compiled)
    assert compiled.statistics.compile_seconds > 0
    for verdict in compiled.verdicts:
        if verdict.counterexample is not None:
            assert replay(compile_spec(spec), verdict.counterexample).property_fails


def test_the_differential_specs_cover_holding_and_failing_verdicts_of_every_kind():
    # Otherwise the differential test above could pass on engines that never find anything.
    seen = set()
    for spec in SPECS:
        for verdict in check(spec, engine="python").verdicts:
            seen.add((verdict.kind, verdict.status))
    for kind in ("invariant", "action", "terminal", "recoverable"):
        assert (kind, Status.HOLDS) in seen and (kind, Status.VIOLATED) in seen, kind
    assert ("reachable", Status.HOLDS) in seen


def test_dns_race_gives_the_reference_counts_on_the_compiled_engine():
    # ../shared/models/dns-race.md: E=2 M=2 G=4 has 1614 states, 3396 transitions, depth 21.
    result = check(DnsRace(), engine="compiled")
    assert (result.statistics.states, result.statistics.transitions) == (1614, 3396)
    assert result.statistics.depth == 21


LIMITS = [
    {"max_states": 1},
    {"max_states": 700},
    {"max_depth": 1},
    {"max_depth": 7},
    {"stop_at_first": True},
    {"max_states": 1000, "stop_at_first": True},
]


@pytest.mark.parametrize("limits", LIMITS, ids=repr)
def test_limits_stop_both_engines_at_the_same_place(limits):
    assert_same(*both(DnsRace(), **limits))


def test_randomised_limits_and_sizes_agree():
    # Random parameters drawn from a fixed seed: reproducible, and each run of the
    # suite checks the same draws (a new kernel per draw costs a JIT, so few draws).
    rng = random.Random(20261203)
    for _ in range(3):
        spec = toys.SymCounter(n=rng.randint(1, 9), bad=rng.randint(-1, 9))
        options = rng.choice(
            [{}, {"max_depth": rng.randint(1, 6)}, {"max_states": rng.randint(1, 8)}]
        )
        assert_same(*both(spec, **options))
    for _ in range(4):
        options = {"max_states": rng.randint(1, 1614), "max_depth": rng.randint(1, 21)}
        assert_same(*both(DnsRace(), **options))


def test_a_selected_property_alone_gives_the_same_verdict():
    assert_same(*both(DnsRace(), properties=("applied_generation_monotonic",)))


# --- what the compiled engine does not do, it says ----------------------------------------


def test_a_spec_outside_the_subset_runs_on_python_and_the_note_names_the_construct():
    result = check(toys.UsesASet(), engine="compiled")
    assert result.engine == "python"
    assert "the compiled engine was not used" in result.engine_note
    assert "symbolic_toys.py:" in result.engine_note and "seen = {s.value}" in result.engine_note
    assert result.statistics.states == check(toys.UsesASet(), engine="python").statistics.states


def test_a_successor_outside_the_declared_types_sends_the_run_to_python_and_says_so():
    spec = toys.EscapesRange()
    python = check(spec, engine="python")
    result = check(spec, engine="compiled")
    assert result.engine == "python"
    assert "outside its declared type (0..3)" in result.engine_note
    assert result.statistics.states == python.statistics.states
    assert result.verdicts == python.verdicts


def test_coverage_is_counted_by_the_python_engine_and_the_note_says_so():
    result = check(DnsRace(), engine="compiled", coverage=True)
    assert result.engine == "python" and "--coverage" in result.engine_note
    assert result.coverage


def test_auto_keeps_small_models_on_the_python_engine():
    result = check(DnsRace(), engine="auto")
    assert result.engine == "python" and not result.engine_note


def test_auto_compiles_a_model_past_the_trial(monkeypatch):
    from modelcheck.engines import selection

    monkeypatch.setattr(selection, "TRIAL_STATES", 100)
    result = check(DnsRace(), engine="auto")
    assert result.engine == "compiled"
    assert_same(check(DnsRace(), engine="python"), result)


def test_an_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="engine must be one of"):
        bfs.CheckOptions(engine="fast")


# --- progress, interrupts and the time limit ----------------------------------------------


def test_progress_is_reported_and_ctrl_c_keeps_what_was_found():
    calls = []

    def progress(p):
        calls.append(p)
        if len(calls) == 3:
            raise KeyboardInterrupt

    result = check(DnsRace(), engine="compiled", progress=progress)
    assert len(calls) == 3
    assert result.stopped_by == "interrupted" and not result.complete
    assert 0 < result.statistics.states < 1614
    assert all(v.status in (Status.UNKNOWN, Status.VIOLATED) for v in result.verdicts)


def test_a_tiny_time_limit_stops_after_the_first_chunk():
    result = check(DnsRace(), engine="compiled", time_limit=1e-9)
    assert result.stopped_by == "time_limit" and not result.complete


# --- the kernel cache ---------------------------------------------------------------------


def kernel_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("kernel_*.py"))


def test_a_second_run_uses_the_cached_kernel(_kernels_in_one_folder):
    model = compile_spec(DnsRace())
    props = list(model.properties)
    first = prepare(model, props)
    second = prepare(model, props)
    assert second.cached and second.kernel.source == first.kernel.source


def test_a_parameter_change_gives_another_kernel_and_another_answer(_kernels_in_one_folder):
    # The parameter is baked into the kernel's text: a kernel compiled for bad=3 must
    # never answer for bad=2 (numba's cache would not notice a changed global).
    three = check(toys.SymCounter(n=4, bad=3), engine="compiled")
    two = check(toys.SymCounter(n=4, bad=2), engine="compiled")
    assert three.verdict("never_bad").counterexample.steps[-1].state.value == 3
    assert two.verdict("never_bad").counterexample.steps[-1].state.value == 2
    sources = {
        prepare(compile_spec(toys.SymCounter(n=4, bad=b)), [], compile_now=False).kernel.source
        for b in (2, 3)
    }
    assert len(sources) == 2


def test_a_corrupt_cached_kernel_is_rebuilt_not_trusted(_kernels_in_one_folder):
    spec = protocols.Peterson(broken=True)
    expected = check(spec, engine="python")
    model = compile_spec(spec)
    source = prepare(model, list(model.properties), compile_now=False).kernel.source
    path = _kernels_in_one_folder / f"kernel_{cache.key_of(source)}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("def expand(*args):\n    return None\n", encoding="utf-8")
    assert not cache.is_cached(source)
    key = cache.key_of(source)
    sys.modules.pop(cache.module_name(key, cache.cache_dir()), None)  # as in a new process
    result = check(spec, engine="compiled")
    assert result.engine == "compiled"
    assert_same(expected, result)
    assert path.read_text(encoding="utf-8").endswith(source)


# --- the command line ---------------------------------------------------------------------


def test_the_cli_names_the_engine_in_the_summary_and_the_json(tmp_path, dns_race_path):
    out = tmp_path / "result.json"
    runner = CliRunner()
    ran = runner.invoke(
        app, ["check", str(dns_race_path), "--engine", "compiled", "--json", str(out)]
    )
    assert ran.exit_code == 1, ran.output
    assert "engine: compiled (compiled in " in ran.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["engine"] == "compiled" and data["statistics"]["compile_seconds"] > 0
    assert data["statistics"]["states"] == 1614


def test_the_cli_refuses_an_unknown_engine(dns_race_path):
    ran = CliRunner().invoke(app, ["check", str(dns_race_path), "--engine", "turbo"])
    assert ran.exit_code == 2
    assert "--engine turbo: unknown engine" in ran.output


def test_a_memory_limit_below_the_processs_size_stops_the_compiled_search_cleanly():
    result = check(DnsRace(), engine="compiled", memory_limit=1)
    assert result.engine == "compiled"
    assert result.stopped_by == "memory_limit" and not result.complete


def test_the_arrays_grow_from_a_tiny_start_without_changing_any_answer(monkeypatch):
    # Every array (rows, table, edges, edge offsets) grows many times during the search,
    # including the edge arrays that recoverability records; the kernel writes them
    # without bounds checks, so a missed growth would corrupt memory or counts.
    from modelcheck.engines.compiled import search

    monkeypatch.setattr(search, "START", 8)
    tiny = lambda words: np.empty((8, words), np.int64)  # noqa: E731
    monkeypatch.setattr(search, "reserve_rows", tiny)
    assert_same(*both(DnsRace()))
    assert_same(*both(protocols.TokenRing()))  # 27 initial states: more than the start


def test_the_result_says_when_the_kernel_came_from_the_cache(_kernels_in_one_folder):
    first = check(toys.SymCounter(n=2, bad=11), engine="compiled")  # bad=11: no other test
    again = check(toys.SymCounter(n=2, bad=11), engine="compiled")
    assert "disk cache" not in first.engine_note
    assert again.engine_note == f"the kernel came from the disk cache ({_kernels_in_one_folder})"


def test_an_unwritable_kernel_folder_is_a_clear_error_with_exit_code_2(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv(cache.CACHE_ENV, str(blocker))
    spec = Path(toys.__file__)
    ran = CliRunner().invoke(
        app,
        ["check", f"{spec}:SymCounter", "-p", "n=2", "-p", "bad=13", "--engine", "compiled"],
    )
    assert ran.exit_code == 2, ran.output
    assert "cannot write the compiled engine's kernel to" in ran.output
    assert "MODELCHECK_CACHE_DIR" in ran.output and "Traceback" not in ran.output


# --- several workers: the same answer for any number --------------------------------------


@pytest.fixture
def small_parts(monkeypatch):
    """Parts of 3 states, so a level splits into many parts and rounds (and limits,
    violations and growth fall inside and between them)."""
    from modelcheck.engines.compiled import search

    monkeypatch.setattr(search, "PART", 3)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_two_and_three_workers_give_the_one_worker_answer(spec, small_parts):
    one = check(spec, engine="compiled")
    for workers in (2, 3):
        many = check(spec, engine="compiled", workers=workers)
        assert many.engine == "compiled" and many.statistics.workers == workers
        assert_same(one, many)


@pytest.mark.parametrize("limits", LIMITS, ids=repr)
def test_limits_stop_several_workers_where_one_stops(limits, small_parts):
    several = check(DnsRace(), engine="compiled", workers=2, **limits)
    assert several.engine == "compiled" and several.statistics.workers == 2
    assert_same(check(DnsRace(), engine="python", **limits), several)


def test_several_workers_grow_the_arrays_between_rounds_without_changing_any_answer(
    monkeypatch, small_parts
):
    from modelcheck.engines.compiled import search

    monkeypatch.setattr(search, "START", 8)
    monkeypatch.setattr(search, "reserve_rows", lambda words: np.empty((8, words), np.int64))
    one = check(DnsRace(), engine="compiled")
    assert_same(one, check(DnsRace(), engine="compiled", workers=2))


def test_a_property_settled_in_an_earlier_part_is_not_evaluated_where_it_would_wrap(small_parts):
    # (1, 0) and (3, 0) fall in different parts; the second part evaluates ``small``
    # (unsettled when it started) and meets a wrapping `*`, but one worker, like the
    # Python engine, never evaluates it there: the run must stay compiled.
    spec = toys.SettledBeforeItWraps()
    python = check(spec, engine="python")
    for workers in (1, 2):
        result = check(spec, engine="compiled", workers=workers)
        assert result.engine == "compiled", result.engine_note
        assert_same(python, result)


def test_a_problem_in_a_later_part_sends_the_run_to_python_as_with_one_worker(small_parts):
    one = check(toys.EscapesRange(), engine="compiled")
    two = check(toys.EscapesRange(), engine="compiled", workers=2)
    assert two.engine == one.engine == "python"
    assert two.engine_note == one.engine_note and two.verdicts == one.verdicts


def test_workers_with_the_python_engine_are_refused_with_the_fix(dns_race_path):
    with pytest.raises(ValueError, match="the Python engine runs on one core"):
        bfs.CheckOptions(engine="python", workers=2)
    ran = CliRunner().invoke(
        app, ["check", str(dns_race_path), "--engine", "python", "--workers", "2"]
    )
    assert ran.exit_code == 2 and "use --engine compiled" in ran.output, ran.output
    assert "Traceback" not in ran.output


def test_the_cli_says_how_many_workers_ran(tmp_path, dns_race_path):
    out = tmp_path / "r.json"
    ran = CliRunner().invoke(
        app,
        ["check", str(dns_race_path), "--engine", "compiled", "--workers", "2", "--json", str(out)],
    )
    assert ran.exit_code == 1, ran.output  # dns-race's defaults violate every property
    assert "engine: compiled on 2 workers" in ran.output
    assert json.loads(out.read_text())["statistics"]["workers"] == 2


@pytest.mark.parametrize(
    "spec",
    [toys.Pendulum(n=2), DnsRace(), protocols.TokenRing(), toys.TwoProcessLock(broken=True)],
    ids=repr,
)
def test_several_workers_take_the_steps_past_max_depth_that_one_takes(spec, small_parts):
    # Past --max-depth only the steps to stored states are taken (and judged): a part's
    # second step to a stored state is taken like its first.  Every depth of the search
    # in turn is the last one.
    depth = check(spec, engine="python").statistics.depth
    for max_depth in range(1, depth + 1):
        python = check(spec, engine="python", max_depth=max_depth)
        assert_same(python, check(spec, engine="compiled", workers=2, max_depth=max_depth))


def test_several_workers_number_unstopped_batches_at_once_and_the_rest_in_order(
    monkeypatch, small_parts
):
    # The differential tests above only say something of the parallel admission if
    # they reach it: count both ways a batch is admitted on a run that records edges.
    from modelcheck.engines.compiled import search

    ways = {"at once": 0, "in order": 0}
    at_once, unstopped = search._Batches._number, search._Batches._unstopped

    def counted_number(self, *args):
        ways["at once"] += 1
        return at_once(self, *args)

    def counted_unstopped(self, *args):
        answer = unstopped(self, *args)
        ways["in order"] += not answer
        return answer

    monkeypatch.setattr(search._Batches, "_number", counted_number)
    monkeypatch.setattr(search._Batches, "_unstopped", counted_unstopped)
    one = check(DnsRace(), engine="compiled")
    assert_same(one, check(DnsRace(), engine="compiled", workers=2))
    assert ways["at once"] > 10 and ways["in order"] > 0, ways


def test_a_table_range_fuller_than_the_rest_doubles_the_table_without_changing_answers(
    monkeypatch, small_parts
):
    from modelcheck.engines.compiled import search

    monkeypatch.setattr(search, "RANGE_LOAD", 0.02)  # every few batches
    for spec in (DnsRace(), protocols.TokenRing()):
        assert_same(check(spec, engine="compiled"), check(spec, engine="compiled", workers=3))


@pytest.fixture
def batched_from_the_start(monkeypatch):
    """One worker searches in batches from its first state (past the cache it does so
    anyway; the differential specs are too small to get there)."""
    from modelcheck.engines.compiled import search

    monkeypatch.setattr(search, "BATCHED_FROM", 1)


#: Specs whose kernels the batches are tried on with one worker (with several, every
#: differential spec is): every kind of property failing, the fix where all hold, and
#: two protocols (two-word states: tests/test_compiled_symmetry.py).
BATCHED = [SPECS[0], SPECS[1], protocols.TokenRing(), protocols.TwoPhase(early_commit=True)]


@pytest.mark.parametrize("spec", BATCHED, ids=repr)
def test_one_worker_in_batches_gives_the_python_engines_answer(
    spec, small_parts, batched_from_the_start
):
    assert_same(*both(spec))


@pytest.mark.parametrize("limits", LIMITS, ids=repr)
def test_one_worker_in_batches_stops_where_the_python_engine_stops(
    limits, small_parts, batched_from_the_start
):
    assert_same(*both(DnsRace(), **limits))


def test_one_worker_goes_on_in_batches_from_where_its_table_passes_the_cache(monkeypatch):
    # The switch from ``run`` to batches falls in the middle of a level, on the
    # table ``run`` built; the answer is the one of a search that never switches.
    from modelcheck.engines.compiled import search

    spec = DnsRace()
    plain = check(spec, engine="compiled")
    monkeypatch.setattr(search, "START", 64)  # a table of 128 slots, doubling from 90 states
    monkeypatch.setattr(search, "BATCHED_FROM", 512)
    switched = []
    monkeypatch.setattr(search._Batches, "step", _counting(search._Batches.step, switched))
    assert_same(plain, check(spec, engine="compiled"))
    assert switched and 100 < switched[0] < 1614, switched[:1]  # in the middle of the search


def _counting(method, calls):
    def counted(self, *args):
        calls.append(args[0])
        return method(self, *args)

    return counted
