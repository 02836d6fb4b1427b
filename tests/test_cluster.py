"""The cluster search gives the one-process answers: counts, depth, verdicts and traces.

Most tests run the shards as objects in this process (the same code as on
Ray but the transport), against the Python engine; the rest run on one real
local Ray cluster for the session (``ray_cluster`` in conftest.py): through
the CLI, joined by address from another process, and with a shard killed.
Each spec costs a JIT of the functions a shard runs, so few specs are used,
chosen to cover every property kind holding and failing.
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
import symbolic_toys as toys
from dns_race import DnsRace
from typer.testing import CliRunner

from modelcheck import CheckResult, Status, check, compile_spec, replay
from modelcheck.cli import app, optional_values
from modelcheck.engines.bfs import CheckOptions
from modelcheck.engines.cluster import search
from modelcheck.engines.cluster.shard import owners
from modelcheck.engines.cluster.transport import ShardLost
from modelcheck.engines.compiled import cache

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


def assert_same(python: CheckResult, cluster: CheckResult) -> None:
    p, c = python.statistics, cluster.statistics
    assert (c.states, c.transitions, c.depth) == (p.states, p.transitions, p.depth)
    assert cluster.stopped_by == python.stopped_by
    assert cluster.complete == python.complete
    for mine, theirs in zip(cluster.verdicts, python.verdicts, strict=True):
        assert mine == theirs, mine.property  # status, and the very same first-found trace


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


def test_a_spec_outside_the_subset_runs_on_one_process_and_says_why(monkeypatch):
    from modelcheck.engines import selection

    monkeypatch.setattr("modelcheck.engines.cluster.ray_missing", lambda: None)

    def refuse(*args, **kwargs):
        raise search.NotCompilable("a construct the kernel has not got")

    monkeypatch.setattr(search, "check", refuse)
    result = selection.check(compile_spec(DnsRace()), CheckOptions(ray="local"))
    assert result.engine == "python" and result.statistics.states == 1614
    assert "the cluster search was not used (a construct the kernel has not got)" in (
        result.engine_note
    )


def test_ray_options_are_refused_with_what_to_do_instead():
    runner = CliRunner()
    for args, words in (
        (["--ray=local", "--engine", "python"], "--engine python"),
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
    from modelcheck.errors import CheckpointError

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
    # Where the system refuses the large reservation, a shard's rows start small and
    # double as they fill: the growth path must keep every row, number and parent.
    import numpy as np

    from modelcheck.engines.cluster import shard as shard_module

    monkeypatch.setattr(shard_module, "reserve_rows", lambda words: np.empty((8, words), np.int64))
    assert_same(check(DnsRace(), engine="python"), sharded(DnsRace(), 2))
