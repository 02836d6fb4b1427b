"""Checkpoints: a run stopped by a limit or killed goes on, from its last checkpoint, to the answer
of a run that was never interrupted; a checkpoint that is not this run's is refused.

Both engines write them.  Runs are killed with SIGKILL by the testing hook
(``MODELCHECK_CHECKPOINT_TEST_KILL``) right after a checkpoint is in place or
halfway through writing one, so where they die is exact, not a race.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from dns_race import DnsRace
from typer.testing import CliRunner

from modelcheck import check
from modelcheck.cli import app
from modelcheck.engines import checkpoints
from modelcheck.errors import CheckpointError

HAS_NUMBA = importlib.util.find_spec("numba") is not None
ENGINES = [
    "python",
    pytest.param("compiled", marks=pytest.mark.skipif(not HAS_NUMBA, reason="numba")),
]


@pytest.fixture(scope="module", autouse=True)
def _kernels_in_one_folder(tmp_path_factory):
    """Kernels of this module in one folder (subprocesses inherit it): compiled once."""
    patch = pytest.MonkeyPatch()
    patch.setenv("MODELCHECK_CACHE_DIR", str(tmp_path_factory.mktemp("kernels")))
    yield
    patch.undo()


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "modelcheck", *args]
    environment = dict(os.environ, **(env or {}))
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)


def _answer(path: Path) -> tuple:
    data = json.loads(path.read_text())
    st = data["statistics"]
    return (st["states"], st["transitions"], st["depth"], data["complete"], data["verdicts"])


def _manifest(folder: Path) -> dict:
    engine = checkpoints.engine_of(folder)
    if engine == "python":
        import pickle

        with (folder / checkpoints.FILES["python"]).open("rb") as file:
            return pickle.load(file)
    from modelcheck.engines.compiled import checkpoint

    return checkpoint.load(folder)[0]


_WHOLE: dict[str, tuple] = {}


def _uninterrupted(engine: str, spec: str, folder: Path) -> tuple:
    """The answer of a run that is never stopped (once per engine for the module)."""
    if engine not in _WHOLE:
        out = folder / f"whole-{engine}.json"
        whole = _cli("check", spec, "--engine", engine, "-q", "--json", str(out))
        assert whole.returncode == 1, whole.stderr  # the defaults violate every property
        _WHOLE[engine] = _answer(out)
    return _WHOLE[engine]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kill", ["after-1", "after-9", "during-9"])
def test_a_run_killed_at_a_checkpoint_resumes_to_the_uninterrupted_answer(
    engine, kill, tmp_path, dns_race_path
):
    spec = str(dns_race_path)
    options = ["--engine", engine, "-q"]
    expected = _uninterrupted(engine, spec, tmp_path)
    folder = tmp_path / "cp"
    run = ["check", spec, *options, "--checkpoint", str(folder), "--checkpoint-every", "0"]
    killed = _cli(*run, env={checkpoints.KILL_ENV: kill})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    # Killed after the N-th checkpoint (taken before level N-1) or while writing it (the
    # one before stays): the run goes on from that level.
    number = int(kill.partition("-")[2])
    assert _manifest(folder)["depth"] == number - 1 - kill.startswith("during")
    again = _cli("resume", str(folder), "-q", "--json", str(tmp_path / "b.json"))
    assert again.returncode == 1, again.stderr
    assert _answer(tmp_path / "b.json") == expected
    assert not list(folder.glob(".checkpoint-*"))  # the killed write's remains are gone


@pytest.mark.parametrize("engine", ENGINES)
def test_a_time_limit_stop_mid_level_saves_where_it_stopped_and_resume_finishes(
    engine, tmp_path, monkeypatch
):
    if engine == "compiled":
        from modelcheck.engines.compiled import search

        monkeypatch.setattr(search, "CHUNK", 50)  # look at the clock every 50 states
    folder = str(tmp_path / "cp")
    whole = check(DnsRace(), engine=engine)
    # (compiled: one worker, two, and one in batches from the start)
    runs = [(1, False), (2, False), (1, True)] if engine == "compiled" else [(1, False)]
    for n, batched in runs:
        options = {"engine": engine, "progress_every": 50}
        if n > 1:
            options["workers"] = n
        if batched:
            monkeypatch.setattr(search, "BATCHED_FROM", 1)
        stopped = check(DnsRace(), checkpoint=folder, time_limit=1e-9, **options)
        assert stopped.stopped_by == "time_limit" and not stopped.complete
        manifest = _manifest(Path(folder))
        assert 0 < manifest["done"] < whole.statistics.states
        resumed = check(DnsRace(), resume=folder, **options)
        assert resumed.engine == engine
        st, ws = resumed.statistics, whole.statistics
        assert (st.states, st.transitions, st.depth) == (ws.states, ws.transitions, ws.depth)
        assert resumed.verdicts == whole.verdicts and resumed.complete


@pytest.mark.parametrize("engine", ENGINES)
def test_a_checkpoint_of_other_parameters_options_or_version_is_refused(
    engine, tmp_path, monkeypatch
):
    from modelcheck import _version

    folder = str(tmp_path / "cp")
    check(DnsRace(), engine=engine, checkpoint=folder, checkpoint_every=0)
    other_spec = "another spec or parameters" if engine == "compiled" else "another parameters"
    with pytest.raises(CheckpointError, match=other_spec):
        check(DnsRace(generations=3), engine=engine, resume=folder)
    with pytest.raises(CheckpointError, match="another options"):
        check(DnsRace(), engine=engine, max_depth=5, resume=folder)
    monkeypatch.setattr(_version, "__version__", "0.0.0-other")
    with pytest.raises(CheckpointError, match="another modelcheck version"):
        check(DnsRace(), engine=engine, resume=folder)


def test_a_checkpoint_is_resumed_by_the_engine_that_wrote_it(tmp_path):
    folder = str(tmp_path / "cp")
    check(DnsRace(), engine="python", checkpoint=folder, checkpoint_every=0)
    assert check(DnsRace(), engine="auto", resume=folder).engine == "python"
    if HAS_NUMBA:
        check(DnsRace(), engine="compiled", checkpoint=folder, checkpoint_every=0)
        assert checkpoints.engine_of(folder) == "compiled"  # one checkpoint per folder
        with pytest.raises(CheckpointError, match="resume it with --engine compiled or auto"):
            check(DnsRace(), engine="python", resume=folder)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_missing_or_corrupt_checkpoint_is_a_clear_error(engine, tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint in"):
        check(DnsRace(), engine=engine, resume=str(tmp_path))
    (tmp_path / checkpoints.FILES[engine]).write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        check(DnsRace(), engine=engine, resume=str(tmp_path))


def test_resume_without_a_run_and_an_unwritable_folder_are_clear_errors(tmp_path, dns_race_path):
    ran = CliRunner().invoke(app, ["resume", str(tmp_path / "nowhere")])
    assert ran.exit_code == 2 and "holds no run to resume" in ran.output, ran.output
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    ran = CliRunner().invoke(
        app, ["check", str(dns_race_path), "--engine", "python", "--checkpoint", str(blocker)]
    )
    assert ran.exit_code == 2 and "--checkpoint" in ran.output, ran.output
    assert "Traceback" not in ran.output
