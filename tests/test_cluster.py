"""The cluster search gives the one-process answers: counts, depth, verdicts and traces.

Most tests run the shards as objects in this process (the same code as on
Ray but the transport), against the Python engine; the rest run on one real
local Ray cluster for the session (``ray_cluster`` in conftest.py): through
the CLI, joined by address from another process, and with a shard killed.
Each spec costs a JIT of the functions a compiled shard runs, so few specs
are used there, chosen to cover every property kind holding and failing;
the shards that run the spec's Python code (specs outside the compiled
subset, or ``engine="python"``) cost no JIT and are held to the same answer
on the toy specs, maps and bags, and dns-race.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("numba")

import compiled_protocols as protocols
import constraint_toys
import symbolic_toys as toys
import toy_specs
from agreement import assert_same
from dns_race import DnsRace
from typer.testing import CliRunner

from modelcheck import (
    CheckResult,
    Status,
    action_property,
    check,
    compile_spec,
    reachable,
    replay,
)
from modelcheck.cli import app, optional_values
from modelcheck.engines.bfs import CheckOptions
from modelcheck.engines.cluster import Refused, search
from modelcheck.engines.cluster.owners import owner, stable_hash
from modelcheck.engines.cluster.shard import owners
from modelcheck.engines.cluster.transport import ShardLost
from modelcheck.engines.compiled import cache
from modelcheck.errors import CheckpointError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def _kernels_in_one_folder(tmp_path_factory):
    """Kernels of this module in one folder: compiled once, shared by its tests (and by
    the shards on Ray, which are told the folder)."""
    folder = tmp_path_factory.mktemp("kernels")
    patch = pytest.MonkeyPatch()
    patch.setenv(cache.CACHE_ENV, str(folder))
    yield folder
    patch.undo()


def sharded(spec, shards: int, progress=None, **options) -> CheckResult:
    return search.check(compile_spec(spec), CheckOptions(**options), progress, shards=shards)


SPECS = [
    DnsRace(),  # every property violated, including recoverability
    DnsRace(check_at_apply=True, protect_active=True),  # every property holds
    toys.SymCounter(n=5, bad=3),
    toys.TwoProcessLock(broken=True),
    protocols.Peterson(broken=True),
    protocols.TokenRing(machines=4, k=2, top=1),
    protocols.TwoPhase(early_commit=True),
]


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_one_to_four_shards_give_the_python_engines_answer(spec):
    python = check(spec, engine="python")
    for shards in (1, 2, 4):
        result = sharded(spec, shards)
        assert_same(python, result)
        assert result.statistics.shards == shards
    for verdict in result.verdicts:
        for trace in (verdict.counterexample, verdict.witness):
            if trace is not None:
                assert replay(compile_spec(spec), trace).legal


def test_the_specs_cover_holding_and_failing_verdicts_of_every_kind():
    # Otherwise the test above could pass on a search that never finds anything.
    seen = {(v.kind, v.status) for spec in SPECS for v in check(spec, engine="python").verdicts}
    for kind in ("invariant", "action", "terminal", "recoverable"):
        assert (kind, Status.HOLDS) in seen and (kind, Status.VIOLATED) in seen, kind
    assert ("reachable", Status.HOLDS) in seen


LIMITS = [
    {"max_states": 1},
    {"max_states": 700},
    {"max_depth": 1},
    {"max_depth": 7},
    {"stop_at_first": True},
    {"max_states": 1000, "stop_at_first": True},
    {"max_depth": 4, "stop_at_first": True},
    {"properties": ("applied_generation_monotonic",), "stop_at_first": True},
]


@pytest.mark.parametrize("limits", LIMITS, ids=repr)
def test_limits_stop_inside_a_level_where_the_one_process_search_stops(limits):
    assert_same(check(DnsRace(), engine="python", **limits), sharded(DnsRace(), 3, **limits))


def test_every_max_states_across_a_level_gives_the_same_counts_and_verdicts():
    # Every --max-states from 100 to 124: dns-race's level 6 ends at state 110, so the
    # stop falls at the end of one level and inside the next; the step it stops at, its
    # parent and the steps counted by then all move.
    python = {n: check(DnsRace(), engine="python", max_states=n) for n in range(100, 125)}
    for n, expected in python.items():
        assert_same(expected, sharded(DnsRace(), 2, max_states=n))


def test_an_operator_escape_is_reported_as_on_one_process():
    spec = DnsRace(operator=True)
    python = check(spec, engine="python")
    result = sharded(spec, 3)
    assert_same(python, result)
    recoverable = next(v for v in result.verdicts if v.kind == "recoverable")
    assert "an operator can" in recoverable.reason


def test_states_are_spread_over_the_shards_by_their_hash():
    import numpy as np

    rows = np.arange(40_000, dtype=np.int64).reshape(-1, 2)
    counts = np.bincount(owners(rows, 4), minlength=4)
    assert counts.min() > 0.2 * len(rows)  # each of 4 shards gets about a quarter
    assert (owners(rows, 4) == owners(rows.copy(), 4)).all()


def test_progress_is_reported_per_level_and_ctrl_c_keeps_what_was_found():
    seen = []

    def progress(p):
        seen.append(p.states)
        if p.depth == 6:
            raise KeyboardInterrupt

    result = sharded(DnsRace(), 2, progress)
    assert result.stopped_by == "interrupted" and not result.complete
    assert seen == sorted(seen) and result.statistics.states == seen[-1]
    assert result.statistics.depth == 6
    unfinished = [v for v in result.verdicts if v.status is Status.UNKNOWN]
    assert unfinished  # nothing claimed to hold


def test_what_the_cluster_search_refuses_runs_on_one_process_and_says_why(monkeypatch):
    from modelcheck.engines import selection

    monkeypatch.setattr("modelcheck.engines.cluster.ray_missing", lambda: None)

    def refuse(*args, **kwargs):
        raise Refused("a thing the shards have not got")

    monkeypatch.setattr(search, "check", refuse)
    result = selection.check(compile_spec(DnsRace()), CheckOptions(ray="local"))
    assert result.engine == "python" and result.statistics.states == 1614
    assert "the cluster search was not used (a thing the shards have not got)" in (
        result.engine_note
    )


def test_symmetry_with_ray_runs_on_one_process_with_the_engine_asked_for(monkeypatch):
    from modelcheck.engines import selection

    monkeypatch.setattr("modelcheck.engines.cluster.ray_missing", lambda: None)
    # auto stays on the Python engine for a model this small, as without --ray
    result = selection.check(compile_spec(DnsRace()), CheckOptions(ray="local", symmetry=True))
    alone = selection.check(compile_spec(DnsRace()), CheckOptions(symmetry=True))
    assert_same(alone, result)
    assert result.symmetry and result.engine == alone.engine
    assert result.engine_note.startswith(
        "the cluster search was not used (--symmetry is not supported by the cluster search"
    )


def test_ray_options_are_refused_with_what_to_do_instead():
    runner = CliRunner()
    for args, words in (
        (["--ray=local", "--workers", "2"], "--shards"),
        (["--shards", "2"], "without --ray"),
        (["--ray=specs/dns_race.py"], "not a cluster address"),
    ):
        out = runner.invoke(app, ["check", str(ROOT / "specs/dns_race.py"), *args])
        assert out.exit_code == 2, out.output
        assert words in out.output
    with pytest.raises(ValueError, match="shards"):
        CheckOptions(shards=2)


def test_without_ray_the_option_says_what_to_install(monkeypatch):
    monkeypatch.setattr(
        "modelcheck.engines.cluster.ray_missing", lambda: "Ray is not installed (pip install x)"
    )
    out = CliRunner().invoke(app, ["check", str(ROOT / "specs/dns_race.py"), "--ray=local"])
    assert out.exit_code == 2
    assert "Ray is not installed" in out.output and "Traceback" not in out.output


def test_ray_alone_means_a_local_instance_wherever_it_stands():
    assert optional_values(["check", "x.py", "--ray"]) == ["check", "x.py", "--ray=local"]
    assert optional_values(["check", "--ray", "x.py"]) == ["check", "--ray=local", "x.py"]
    assert optional_values(["check", "x.py", "--ray", "-q"]) == [
        "check",
        "x.py",
        "--ray=local",
        "-q",
    ]
    assert optional_values(["check", "x.py", "--ray", "h:6379"]) == [
        "check",
        "x.py",
        "--ray",
        "h:6379",
    ]


# --- specs outside the compiled subset: the spec's Python code on every shard ---------------


@pytest.fixture(scope="module")
def two_phase_commit() -> type:
    """The README's two-phase commit (FrozenMap and Bag fields, no declared types)."""
    from test_maps_bags import readme_two_phase_commit

    namespace: dict = {"__name__": "readme_two_phase_commit"}
    exec(compile(readme_two_phase_commit(), "README two-phase commit", "exec"), namespace)
    return namespace["TwoPhaseCommit"]


class Reaching(toy_specs.Counter):
    """A :class:`toy_specs.Counter` with one state it can reach and one it cannot."""

    @reachable
    def reaches_n(self, s) -> bool:
        """The counter reaches n (witnessed in n steps)."""
        return s.value == self.n

    @reachable
    def reaches_past_n(self, s) -> bool:
        """Never: the counter stops at n."""
        return s.value > self.n


PYTHON_SPECS = [
    toy_specs.Counter(n=5, bad=3),  # fields without declared types: outside the subset
    Reaching(n=4),
    toy_specs.TwoProcessLock(broken=True),
    toy_specs.BoundedQueue(),
    toy_specs.RandomWalk(),  # nondeterministic actions
    toy_specs.PathGraph(),
    toy_specs.OperatorRepair(),  # recoverability with and without operators
    toy_specs.RichValues(),  # enums, frozensets of strings, nested records
    DnsRace(),
    DnsRace(check_at_apply=True, protect_active=True),
    protocols.Peterson(broken=True),
]


def python_sharded(spec, shards: int, progress=None, **options) -> CheckResult:
    return sharded(spec, shards, progress, engine="python", **options)


@pytest.mark.parametrize("spec", PYTHON_SPECS, ids=repr)
def test_python_shards_give_the_python_engines_answer(spec):
    python = check(spec, engine="python")
    for shards in (1, 2, 4):
        result = python_sharded(spec, shards)
        assert_same(python, result)
        assert result.engine == "python" and result.statistics.shards == shards
        assert "the spec's Python code on every shard" in result.engine_note


def test_the_python_specs_cover_holding_and_failing_verdicts_of_every_kind():
    seen = {(v.kind, v.status) for s in PYTHON_SPECS for v in check(s, engine="python").verdicts}
    for kind in ("invariant", "action", "terminal", "recoverable", "reachable"):
        assert (kind, Status.HOLDS) in seen and (kind, Status.VIOLATED) in seen, kind


def test_a_spec_outside_the_subset_goes_to_the_python_shards_and_says_why():
    result = sharded(toy_specs.Counter(n=5, bad=3), 2)
    assert_same(check(toy_specs.Counter(n=5, bad=3), engine="python"), result)
    assert result.engine == "python"
    assert "the compiled kernel was not used (" in result.engine_note


def test_python_shards_check_maps_and_bags_as_one_process(two_phase_commit):
    for spec in (
        two_phase_commit(rms=("r1", "r2")),
        two_phase_commit(rms=("r1", "r2"), wait_for_all=False),
    ):
        python = check(spec, engine="python")
        for shards in (1, 2, 4):
            assert_same(python, python_sharded(spec, shards))


@pytest.mark.parametrize("limits", LIMITS, ids=repr)
def test_python_shards_stop_inside_a_level_where_the_one_process_search_stops(limits):
    expected = check(DnsRace(), engine="python", **limits)
    assert_same(expected, python_sharded(DnsRace(), 3, **limits))


def test_python_shards_stop_at_every_max_states_across_a_level_as_one_process():
    for n in range(100, 125, 3):
        assert_same(
            check(DnsRace(), engine="python", max_states=n),
            python_sharded(DnsRace(), 2, max_states=n),
        )


def test_the_owner_of_a_state_does_not_change_with_the_hash_seed(two_phase_commit):
    # Ray's workers have different PYTHONHASHSEEDs; Python's hash() of strings follows it.
    code = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "import toy_specs\n"
        "from modelcheck import compile_spec\n"
        "from modelcheck.engines.cluster.owners import stable_hash\n"
        "model = compile_spec(toy_specs.RichValues())\n"
        "states = [t for s in model.initial_states for _, t in model.successors(s)]\n"
        "print([stable_hash(s) for s in [*model.initial_states, *states]])\n"
    )
    printed = {
        subprocess.run(
            [sys.executable, "-c", code, str(ROOT / "tests"), str(ROOT)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(printed) == 1
    model = compile_spec(toy_specs.RichValues())
    here = [t for s in model.initial_states for _, t in model.successors(s)]
    assert printed == {f"{[stable_hash(s) for s in [*model.initial_states, *here]]}\n"}


def test_equal_states_have_one_owner_however_their_values_were_built():
    from modelcheck import Bag, FrozenMap

    a = toy_specs.Rich(
        toy_specs.Color.RED, frozenset({"b", "a", "c"}), (1, 2), toy_specs.Inner(0, 0)
    )
    b = toy_specs.Rich(
        toy_specs.Color.RED, frozenset({"c", "a", "b"}), (1.0, 2), toy_specs.Inner(0, 0)
    )
    assert a == b and stable_hash(a) == stable_hash(b)
    m1, m2 = FrozenMap({"x": 1, "y": 2}), FrozenMap({"y": 2}).set("x", 1)
    assert stable_hash((m1, Bag(["p", "q", "p"]))) == stable_hash((m2, Bag(["q", "p", "p"])))
    owners_of = {owner(toy_specs.Count(v), 4) for v in range(64)}
    assert owners_of == {0, 1, 2, 3}


def test_a_spec_error_on_python_shards_is_reported_by_one_process_with_its_trace(monkeypatch):
    from modelcheck.engines import selection
    from modelcheck.errors import SpecError

    spec = toy_specs.Counter(explode_at=3)
    with pytest.raises(Refused, match="the spec's code failed at a reachable state"):
        python_sharded(spec, 2)
    # Through the engine selection (the shards in this process): the one-process error.
    original = search.check
    monkeypatch.setattr("modelcheck.engines.cluster.ray_missing", lambda: None)
    monkeypatch.setattr(
        search, "check", lambda m, o, p, shards, address: original(m, o, p, shards, None)
    )
    with pytest.raises(SpecError) as on_cluster:
        selection.check(compile_spec(spec), CheckOptions(ray="local", shards=2))
    with pytest.raises(SpecError) as alone:
        check(spec, engine="python")
    assert str(on_cluster.value) == str(alone.value)


class FussyCounter(toy_specs.Counter):
    """A :class:`toy_specs.Counter` whose action property raises on the step into ``fuss``."""

    fuss: int = 3

    @action_property
    def never_fussed(self, s, t) -> bool:
        """Raises on the step into ``fuss``: a spec error wherever that step is judged."""
        if t.value == self.fuss:
            raise ValueError("fuss")
        return True


def test_past_max_depth_a_step_not_taken_is_not_judged_as_on_one_process():
    # Depth 2: the frontier's step into 3 is not taken, so never judged (and never raises).
    spec = FussyCounter(fuss=3)
    assert_same(check(spec, engine="python", max_depth=2), python_sharded(spec, 2, max_depth=2))
    # Depth 3: that step is taken, and raises; the shards hand the run to one process.
    with pytest.raises(Refused, match="failed at a reachable state"):
        python_sharded(spec, 2, max_depth=3)


def test_a_spec_with_a_constraint_runs_on_one_process_and_says_why():
    spec = constraint_toys.BoundedDial()
    with pytest.raises(Refused, match="@constraint"):
        python_sharded(spec, 2)


def test_a_python_shard_search_resumed_from_its_checkpoint_gives_the_whole_answer(tmp_path):
    from modelcheck.engines import selection

    spec = DnsRace()  # recoverability too: the recorded edges are in the checkpoint
    stopped = python_sharded(
        spec, 3, interrupted_at(7), checkpoint=str(tmp_path), checkpoint_every=0.0
    )
    assert stopped.stopped_by == "interrupted"
    assert (tmp_path / "checkpoint-cluster.pickle").is_file()
    with pytest.raises(CheckpointError, match="written by 3 shards"):
        python_sharded(spec, 2, resume=str(tmp_path))
    with pytest.raises(CheckpointError, match="a cluster search's; resume it with --ray"):
        selection.check(compile_spec(spec), CheckOptions(resume=str(tmp_path)))
    resumed = sharded(spec, 3, resume=str(tmp_path))  # the checkpoint says which shards
    assert_same(check(spec, engine="python"), resumed)
    assert resumed.engine == "python"


def test_python_shards_lost_with_a_checkpoint_go_on_from_it(tmp_path):
    lost = []

    def lose_one(p):
        if p.depth == 8 and not lost:
            lost.append(p.states)
            raise ShardLost("a shard of the cluster search died (test).")

    result = python_sharded(DnsRace(), 2, lose_one, checkpoint=str(tmp_path), checkpoint_every=0.0)
    assert lost
    assert_same(check(DnsRace(), engine="python"), result)
    assert "from its checkpoint at" in result.engine_note


# --- on a real Ray cluster -------------------------------------------------------------------


def test_the_cli_on_ray_prints_the_one_process_answer(ray_cluster, tmp_path):
    runner = CliRunner()
    spec = str(ROOT / "specs/dns_race.py")
    alone, on_ray = tmp_path / "alone.json", tmp_path / "ray.json"
    first = runner.invoke(app, ["check", spec, "--engine", "python", "--json", str(alone)])
    second = runner.invoke(
        app, ["check", spec, "--ray=local", "--shards", "3", "--json", str(on_ray)]
    )
    assert first.exit_code == second.exit_code == 1, second.output
    a, b = json.loads(alone.read_text()), json.loads(on_ray.read_text())
    assert a["verdicts"] == b["verdicts"]
    for field in ("states", "transitions", "depth"):
        assert a["statistics"][field] == b["statistics"][field]
    assert b["statistics"]["shards"] == 3
    assert "on 3 shards" in second.output and "Ray cluster of 1 node" in second.output


def test_the_readme_shows_what_check_prints_on_ray(ray_cluster, tmp_path):
    from test_readme_outputs import block_after, cli, normal

    command = (
        "modelcheck check specs/dns_race.py -p enactors=3 -p endpoints=3 -p generations=5 --ray"
    )
    shown = normal(block_after(command)).splitlines()
    printed = normal(cli(command.replace("--ray", "--ray=local"), tmp_path)).splitlines()
    assert printed[: len(shown)] == shown


def test_another_process_joins_the_cluster_by_its_address(ray_cluster, tmp_path):
    out = tmp_path / "joined.json"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "modelcheck", "check", str(ROOT / "specs/dns_race.py")),
            *("-p", "check_at_apply=true", "-p", "protect_active=true"),
            *("--ray", ray_cluster, "--shards", "2", "--json", str(out), "-q"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    joined = json.loads(out.read_text())
    alone = check(DnsRace(check_at_apply=True, protect_active=True), engine="python")
    assert joined["statistics"]["states"] == alone.statistics.states
    assert [v["status"] for v in joined["verdicts"]] == ["holds"] * len(alone.verdicts)


def test_a_killed_shard_fails_the_run_with_a_clear_message(ray_cluster):
    import ray

    def kill_one(p):
        if p.depth == 5:
            names = [n for n in ray.util.list_named_actors() if n.endswith("-shard-1")]
            for name in names:
                ray.kill(ray.get_actor(name))

    model = compile_spec(DnsRace())
    with pytest.raises(ShardLost, match="a shard of the cluster search died"):
        search.check(model, CheckOptions(), kill_one, shards=2, address="local")


# --- checkpoints: resume, and going on after a lost shard ------------------------------------


def interrupted_at(depth: int):
    def progress(p):
        if p.depth == depth:
            raise KeyboardInterrupt

    return progress


def test_a_stopped_cluster_search_resumed_from_its_checkpoint_gives_the_whole_answer(tmp_path):
    spec = DnsRace()  # recoverability too: the recorded edges are in the checkpoint
    stopped = sharded(spec, 3, interrupted_at(7), checkpoint=str(tmp_path), checkpoint_every=0.0)
    assert stopped.stopped_by == "interrupted"
    assert (tmp_path / "checkpoint-cluster.npz").is_file()
    resumed = sharded(spec, 3, resume=str(tmp_path))
    assert_same(check(spec, engine="python"), resumed)


def test_a_time_limit_stop_writes_a_checkpoint_that_resumes_to_the_same_answer(tmp_path):
    spec = DnsRace(protect_active=True)
    stopped = sharded(spec, 2, checkpoint=str(tmp_path), time_limit=1e-9)
    assert stopped.stopped_by == "time_limit" and stopped.statistics.depth == 1
    resumed = sharded(spec, 2, resume=str(tmp_path), checkpoint=str(tmp_path))
    assert_same(check(spec, engine="python"), resumed)


def test_a_lost_shard_with_a_checkpoint_goes_on_from_it(tmp_path, monkeypatch):
    lost = []

    def lose_one(p):
        if p.depth == 8 and not lost:
            lost.append(p.states)
            raise ShardLost("a shard of the cluster search died (test).")

    result = sharded(DnsRace(), 2, lose_one, checkpoint=str(tmp_path), checkpoint_every=0.0)
    assert lost
    assert_same(check(DnsRace(), engine="python"), result)
    assert "the shards were started again" in result.engine_note
    assert "from its checkpoint at" in result.engine_note


def test_a_lost_shard_without_a_checkpoint_fails_and_says_what_would_have_saved_it():
    def lose(p):
        raise ShardLost("a shard of the cluster search died (test).")

    with pytest.raises(ShardLost, match="With --checkpoint DIR"):
        sharded(DnsRace(), 2, lose)


def test_a_shard_lost_again_and_again_stops_the_run_keeping_the_checkpoint(tmp_path):
    def lose(p):
        if p.depth >= 3:
            raise ShardLost("a shard of the cluster search died (test).")

    with pytest.raises(ShardLost, match="started again 3 times"):
        sharded(DnsRace(), 2, lose, checkpoint=str(tmp_path), checkpoint_every=0.0)
    assert (tmp_path / "checkpoint-cluster.npz").is_file()


def test_a_cluster_checkpoint_is_refused_by_another_run(tmp_path):
    from modelcheck.engines import selection

    sharded(DnsRace(), 2, interrupted_at(4), checkpoint=str(tmp_path), checkpoint_every=0.0)
    with pytest.raises(CheckpointError, match="written by 2 shards"):
        sharded(DnsRace(), 3, resume=str(tmp_path))
    with pytest.raises(CheckpointError, match="spec or parameters"):
        sharded(DnsRace(keep=2), 2, resume=str(tmp_path))
    with pytest.raises(CheckpointError, match="a cluster search's; resume it with --ray"):
        selection.check(compile_spec(DnsRace()), CheckOptions(resume=str(tmp_path)))


def test_on_ray_a_killed_shard_is_started_again_and_the_run_goes_on_from_its_checkpoint(
    ray_cluster, tmp_path
):
    import ray

    killed = []

    def kill_one(p):
        if p.depth == 9 and not killed:
            names = [n for n in ray.util.list_named_actors() if n.endswith("-shard-0")]
            for name in names:
                ray.kill(ray.get_actor(name))
            killed.extend(names)

    model = compile_spec(DnsRace())
    options = CheckOptions(checkpoint=str(tmp_path), checkpoint_every=0.0)
    result = search.check(model, options, kill_one, shards=2, address="local")
    assert killed
    assert_same(check(DnsRace(), engine="python"), result)
    assert "a shard was lost; the shards were started again" in result.engine_note


def test_a_driver_killed_after_a_checkpoint_is_resumed_by_the_cli_on_ray(ray_cluster, tmp_path):
    from modelcheck.engines.checkpoints import KILL_ENV

    spec = str(ROOT / "specs/dns_race.py")
    folder, out = tmp_path / "run", tmp_path / "resumed.json"
    modelcheck = (sys.executable, "-m", "modelcheck")
    checkpointed = ("--checkpoint", str(folder), "--checkpoint-every", "0")
    killed = subprocess.run(
        [*modelcheck, "check", spec, "--ray", ray_cluster, "--shards", "2", "-q", *checkpointed],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, KILL_ENV: "after-5"},
    )
    assert killed.returncode == -9, killed.stderr  # SIGKILL right after the 5th checkpoint
    resumed = subprocess.run(
        [*modelcheck, "resume", str(folder), "--ray", ray_cluster, "--json", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 1, resumed.stderr
    answer = json.loads(out.read_text())
    alone = check(DnsRace(), engine="python")
    assert answer["statistics"]["states"] == alone.statistics.states
    assert answer["statistics"]["shards"] == 2
    assert [len(v["counterexample"]["steps"]) - 1 for v in answer["verdicts"]] == [
        len(v.counterexample.steps) - 1 for v in alone.verdicts
    ]


def test_shard_arrays_that_start_tiny_and_grow_give_the_same_answer(monkeypatch):
    # A shard's arrays start small and double as they fill (the small specs above never
    # fill the first 4,096 rows): the growth must keep every row, number and parent.
    from modelcheck.engines.cluster import shard, stored

    monkeypatch.setattr(stored, "START", 8)
    monkeypatch.setattr(shard, "START", 8)
    assert_same(check(DnsRace(), engine="python"), sharded(DnsRace(), 2))


def test_python_shards_on_ray_give_the_one_process_answer(ray_cluster, tmp_path):
    # The spec file the CLI loads is not importable by name in a worker: its module
    # travels by value, as do the states of its classes.
    runner = CliRunner()
    spec = str(ROOT / "specs/dns_race.py")
    on_ray = tmp_path / "ray.json"
    out = runner.invoke(
        app,
        [
            "check",
            spec,
            "--ray=local",
            "--engine",
            "python",
            "--shards",
            "2",
            "--json",
            str(on_ray),
        ],
    )
    assert out.exit_code == 1, out.output
    alone = check(DnsRace(), engine="python")
    answer = json.loads(on_ray.read_text())
    assert answer["statistics"]["states"] == alone.statistics.states
    assert answer["statistics"]["transitions"] == alone.statistics.transitions
    assert answer["statistics"]["shards"] == 2
    assert [len(v["counterexample"]["steps"]) - 1 for v in answer["verdicts"]] == [
        len(v.counterexample.steps) - 1 for v in alone.verdicts
    ]
    assert "engine: python on 2 shards" in out.output
    assert "Ray cluster of 1 node, the spec's Python code on every shard" in out.output
    # A test module's spec (not importable by the workers either), with the very same traces.
    spec = toy_specs.RichValues()
    result = search.check(compile_spec(spec), CheckOptions(), None, shards=2, address="local")
    assert_same(check(spec, engine="python"), result)
