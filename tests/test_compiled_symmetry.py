"""Symmetry reduction on the compiled engine: the Python engine's reduced answers, exactly.

The kernel canonicalises packed states (:mod:`modelcheck.engines.compiled.canonical`)
to the very representative :meth:`SymmetryDef.canonical` picks, so the
states get the same numbers and every count, depth, verdict and trace is
the Python engine's with ``symmetry=True``: the differential tests compare
whole :class:`Verdict` objects.  Each distinct kernel costs a cold JIT of
seconds (parameters are baked into it), so the specs here are few and the
kernels are shared through one cache folder for the module.
"""

from __future__ import annotations

import enum
import random
from typing import Annotated, ClassVar

import agreement
import numpy as np
import pytest

pytest.importorskip("numba")

from typer.testing import CliRunner

from modelcheck import CheckResult, Spec, State, Symmetry, action, check, compile_spec, replay
from modelcheck.cli import app
from modelcheck.engines.compiled import cache, canonical
from modelcheck.engines.compiled.search import prepare
from modelcheck.symbolic import Bits, Each, OneOf, Range
from specs.dns_race import DnsRace
from tests.symmetry_toys import TypedLock
from tests.test_symmetry import dns_orbits, orbit_count, reachable


@pytest.fixture(scope="module", autouse=True)
def _kernels_in_one_folder(tmp_path_factory):
    """Kernels of this module in one folder: compiled once, shared by its tests."""
    folder = tmp_path_factory.mktemp("kernels")
    patch = pytest.MonkeyPatch()
    patch.setenv(cache.CACHE_ENV, str(folder))
    yield folder
    patch.undo()


def reduced_by_both(spec, **options) -> tuple[CheckResult, CheckResult]:
    python = check(spec, engine="python", symmetry=True, **options)
    compiled = check(spec, engine="compiled", symmetry=True, **options)
    assert compiled.engine == "compiled", compiled.engine_note
    return python, compiled


def assert_same(python: CheckResult, compiled: CheckResult) -> None:
    assert python.symmetry != ""  # both reduced
    agreement.assert_same(python, compiled)


def lock_orbits(spec: TypedLock) -> int:
    return orbit_count(spec, spec.n, ("pc", "visits"), ("owner", "last", "recent"))[0]


# Few specs, few kernels: the parameters are baked into each.
DNS = [
    # E=2 M=2 G=4 with the operator's restore: three properties violated, and where the
    # automation cannot recover the report says an operator can (renamed states looked up).
    DnsRace(operator=True),
    # (A fix that does not fix: every property violated at E=3 too.)
    DnsRace(enactors=3, endpoints=1, generations=4, protect_active=True),
]
# Four processes that tie often (all idle, all done), a broken lock (violations), and
# states over two words (the last process's row in both).
LOCK = TypedLock(n=4, rounds=1, broken=True, visit_bits=14)


# --- the representative is the Python engine's ---------------------------------------------


def kernel_representatives(spec, states, properties=None):
    """Each state's representative as the kernel's ``_canon`` computes it, decoded."""
    model = compile_spec(spec)
    props = [model.property(p) for p in properties] if properties else list(model.properties)
    prepared = prepare(model, props, symmetry=model.symmetry)
    layout, module = prepared.layout, prepared.module
    words = layout.words
    rows = np.zeros((len(states), 2 * words), np.int64)
    for k, state in enumerate(states):
        rows[k, :words] = layout.encode(state)
    scratch = np.empty(4096, np.int64)
    for k in range(len(states)):
        assert module._canon(rows, k, scratch) == 0
    return [layout.decode(row[words:]) for row in rows]


@pytest.mark.parametrize("spec", [DNS[1], LOCK], ids=repr)
def test_the_kernel_picks_the_python_representative_for_every_state_of_every_orbit(spec):
    symmetry = compile_spec(spec).symmetry
    states = reachable(spec)
    # Every member of every orbit, not only the states the search meets.
    members = list(dict.fromkeys(m for s in states for m in symmetry.orbit(s)))
    assert len(members) == len(states)  # the orbits of reachable states are reachable
    assert kernel_representatives(spec, members) == [symmetry.canonical(m) for m in members]


class Colour(enum.Enum):
    RED = 1
    BLUE = 2
    GREEN = 3


class MixedState(State):
    # Every kind of leaf a per-id row or an id-holding field may have, declared in
    # orders that are not order_key's (so each needs its rank table).
    level: Annotated[tuple[int, ...], Each("n", Range(-2, 5))]
    pairs: Annotated[tuple[tuple[str, ...], ...], Each("n", Each(2, OneOf("b", "a", "c")))]
    flags: Annotated[tuple[bool, ...], Each("n", OneOf(True, False))]
    masks: Annotated[tuple[int, ...], Each("n", Bits(1, 3))]
    colour: Annotated[tuple[Colour, ...], Each("n", OneOf(Colour.GREEN, Colour.RED, Colour.BLUE))]
    queue: Annotated[tuple[int, ...], Each(3, Range(-1, 3))]
    target: Annotated[object, OneOf("x", 2, -1, 0, 1, 3)]
    done: bool


class Mixed(Spec):
    """Only its layout and symmetry are used: ``_canon`` is run on states made here."""

    symmetry: ClassVar[Symmetry] = Symmetry(
        "n", per_id=("pairs", "level", "flags", "masks", "colour"), holds_id=("queue", "target")
    )
    n: int = 4

    def initial_states(self) -> MixedState:
        return self.made(lambda values: values[0])

    def made(self, pick) -> MixedState:
        n = self.n
        return MixedState(
            level=tuple(pick([-2, 0, 5]) for _ in range(n)),
            pairs=tuple((pick(["a", "b"]), pick(["a", "c"])) for _ in range(n)),
            flags=tuple(pick([False, True]) for _ in range(n)),
            masks=tuple(pick([0, 2, 6]) for _ in range(n)),
            colour=tuple(pick([Colour.RED, Colour.GREEN]) for _ in range(n)),
            queue=tuple(pick([-1, 0, 1, 3]) for _ in range(3)),
            target=pick(["x", 2, -1, 0, 1, 3]),
            done=pick([False, True]),
        )

    @action
    def finish(self, s: MixedState) -> MixedState | None:
        return None if s.done else s.replace(done=True)


def test_the_generated_canonicalisation_matches_python_on_every_kind_of_leaf():
    # Few values per leaf, so that rows tie often and the id-holding fields decide.
    spec = Mixed()
    model = compile_spec(spec)
    layout = prepare(model, [], compile_now=False).layout
    generated = canonical.generate(model.symmetry, layout)
    namespace = {"np": np, "njit": lambda **_: lambda function: function}
    exec(generated.source, namespace)
    words, scratch = layout.words, np.empty(generated.scratch, np.int64)
    rng = random.Random(12)
    for _ in range(2000):
        state = spec.made(rng.choice)
        row = np.zeros((1, 2 * words), np.int64)
        row[0, :words] = layout.encode(state)
        assert namespace["_canon"](row, 0, scratch) == 0
        assert layout.decode(row[0, words:]) == model.symmetry.canonical(state), state


# --- differential: the same reduced answers -------------------------------------------------


@pytest.mark.parametrize("spec", DNS, ids=repr)
def test_dns_race_reduced_compiled_is_the_python_reduction_and_counts_its_orbits(spec):
    python, compiled = reduced_by_both(spec)
    assert_same(python, compiled)
    assert compiled.statistics.states == dns_orbits(dict(spec.parameters))[1]
    if spec.operator:  # the escape was looked up among the stored representatives
        assert "an operator can" in compiled.verdict("always_recoverable").reason


def test_a_lock_with_id_holding_fields_reduced_compiled_is_the_python_reduction():
    spec = LOCK
    python, compiled = reduced_by_both(spec)
    assert_same(python, compiled)
    assert compiled.statistics.states == lock_orbits(spec) < len(reachable(spec))


LIMITS = [
    {"max_states": 40},
    {"max_states": 1},
    {"max_depth": 4},
    {"stop_at_first": True},
    {"max_depth": 6, "stop_at_first": True},
]


@pytest.mark.parametrize("options", LIMITS, ids=repr)
@pytest.mark.parametrize("spec", [DNS[0], LOCK], ids=repr)
def test_limits_stop_the_reduced_compiled_search_where_they_stop_the_python_one(spec, options):
    python, compiled = reduced_by_both(spec, **options)
    assert_same(python, compiled)
    assert not compiled.complete


def test_several_workers_and_one_in_batches_give_the_one_worker_reduction(monkeypatch):
    from modelcheck.engines.compiled import search

    spec = LOCK  # (one kernel compiled for workers: id-holding fields, two words)
    python = check(spec, engine="python", symmetry=True)
    monkeypatch.setattr(search, "BATCHED_FROM", 1)  # one worker: in batches from the start
    for options in ({"workers": 1}, {"workers": 2}, {"workers": 3, "max_states": 50}):
        compiled = check(spec, engine="compiled", symmetry=True, **options)
        assert compiled.engine == "compiled", compiled.engine_note
        if "max_states" in options:
            assert_same(check(spec, engine="python", symmetry=True, max_states=50), compiled)
        else:
            assert_same(python, compiled)


@pytest.mark.parametrize("spec", [DNS[0], DNS[1], LOCK], ids=repr)
def test_every_compiled_counterexample_replays_as_a_run_of_the_unreduced_spec(spec):
    _, compiled = reduced_by_both(spec)
    plain = check(spec, engine="python")
    traces = [t for v in compiled.verdicts for t in (v.counterexample, v.witness) if t]
    assert traces
    model = compile_spec(spec)
    for trace in traces:
        outcome = replay(model, trace)
        assert outcome.legal, outcome.message
        assert outcome.steps_replayed == len(trace)
        if trace.kind in ("invariant", "action", "terminal"):
            assert outcome.property_fails is True, outcome.message
    # Shortest traces are as short as the unreduced search's.
    lengths = {v.property: (v.status, len(v.counterexample or ())) for v in compiled.verdicts}
    assert lengths == {v.property: (v.status, len(v.counterexample or ())) for v in plain.verdicts}


def test_auto_goes_on_compiled_with_the_reduction_past_its_python_trial(monkeypatch):
    from modelcheck.engines import selection

    monkeypatch.setattr(selection, "TRIAL_STATES", 100)  # DNS[0] has 897 orbits
    result = check(DNS[0], engine="auto", symmetry=True)
    assert result.engine == "compiled", result.engine_note
    assert_same(check(DNS[0], engine="python", symmetry=True), result)


# --- it can fail: a canonicalisation that does not sort is caught ---------------------------


def reduced_count_by_the_generated_code(spec) -> int:
    """The reduced search's count, by a plain BFS here with the generated ``_canon`` run
    as ordinary Python (no JIT: a sabotaged generator costs no kernel)."""
    model = compile_spec(spec)
    layout = prepare(model, list(model.properties), compile_now=False).layout
    generated = canonical.generate(model.symmetry, layout)
    namespace = {"np": np, "njit": lambda **_: lambda function: function}
    exec(generated.source, namespace)
    words, scratch = layout.words, np.empty(generated.scratch, np.int64)

    def representative(state):
        row = np.zeros((1, 2 * words), np.int64)
        row[0, :words] = layout.encode(state)
        assert namespace["_canon"](row, 0, scratch) == 0
        return layout.decode(row[0, words:])

    seen = dict.fromkeys(map(representative, model.initial_states))
    queue = list(seen)
    for state in queue:
        for _action, succ in model.successors(state):
            rep = representative(succ)
            if rep not in seen:
                seen[rep] = None
                queue.append(rep)
    return len(seen)


@pytest.mark.parametrize("spec", [DNS[0], LOCK], ids=repr)
def test_a_canonicalisation_without_its_sort_would_change_the_count(spec, monkeypatch):
    honest = reduced_count_by_the_generated_code(spec)
    assert honest == check(spec, engine="python", symmetry=True).statistics.states
    # Without the sorting network the rows stay where they are: orbits split.
    monkeypatch.setattr(canonical, "_network", lambda n: iter(()))
    assert reduced_count_by_the_generated_code(spec) > honest


# --- what the kernel cannot rename goes to the Python engine --------------------------------


class StoreHeldAsIds(DnsRace):
    """A declaration naming a bit set as id-holding: the Python engine leaves a ``BitSet``
    unrenamed, which the kernel does not try to match."""

    symmetry = Symmetry("enactors", per_id=("pc", "plan", "next"), holds_id=("store",))


def test_an_id_holding_bit_set_sends_the_reduction_to_the_python_engine_with_the_reason():
    result = check(StoreHeldAsIds(), engine="compiled", symmetry=True)
    assert result.engine == "python"
    assert "the compiled engine was not used: symmetry: the id-holding field store" in (
        result.engine_note
    )
    assert result.reduced and result.statistics.states == 862


def test_the_declaration_is_checked_before_the_compiled_search_as_before_the_python_one():
    from tests.symmetry_toys import LeakyLock

    with pytest.raises(Exception, match="is not a symmetry of the spec") as python:
        check(LeakyLock(), engine="python", symmetry=True)
    with pytest.raises(type(python.value), match="is not a symmetry of the spec"):
        check(LeakyLock(), engine="compiled", symmetry=True)


# --- the command line and checkpoints -------------------------------------------------------


def test_the_command_line_reduces_on_the_compiled_engine(dns_race_path):
    args = ["check", str(dns_race_path), "-p", "operator=true", "--symmetry"]
    result = CliRunner().invoke(app, [*args, "--engine", "compiled"])  # DNS[0]'s kernel
    assert result.exit_code == 1, result.output
    assert "explored 897 distinct states (orbits)" in result.output
    assert "engine: compiled" in result.output


def test_a_reduced_compiled_run_stopped_at_a_checkpoint_resumes_to_the_reduced_answer(tmp_path):
    folder = str(tmp_path / "cp")
    spec = DNS[1]
    whole = check(spec, engine="compiled", symmetry=True)
    stopped = check(spec, engine="compiled", symmetry=True, checkpoint=folder, time_limit=1e-9)
    assert stopped.stopped_by == "time_limit" and stopped.engine == "compiled"
    resumed = check(spec, engine="compiled", symmetry=True, resume=folder)
    assert resumed.engine == "compiled", resumed.engine_note
    assert_same(whole, resumed)
