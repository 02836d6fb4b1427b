"""The SQLite Planner/Enactor implementation, tested against the dns-race spec.

Incident mode: the model-based test finds the race, and its failure is a
legal dns-race counterexample that ``modelcheck replay`` confirms (exit 1).
Fixed mode: passes Hypothesis lock-step tests and every interleaving to
depth 8 (1,198 interleavings, 227 distinct model states).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import settings
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

from dnsplan import DnsPlanSystem  # noqa: E402
from dnsplan.binding import dnsplan_binding  # noqa: E402

from modelcheck.cli import app  # noqa: E402
from modelcheck.integrations import hypothesis as modelcheck_hypothesis  # noqa: E402
from modelcheck.integrations.mbt import MbtFailure, explore  # noqa: E402

# Runs of up to 15 steps: the race needs 6 to 10, and short runs shrink fast.
INCIDENT = settings(max_examples=100, stateful_step_count=15, derandomize=True, database=None)
FIXED = settings(max_examples=150, stateful_step_count=30, derandomize=True, database=None)
FIXED_DEPTH = 8


def test_the_system_uses_a_real_database_file_and_one_connection_per_enactor():
    system = DnsPlanSystem(enactors=3, mode="fixed")
    try:
        assert system.path.exists() and system.path.stat().st_size > 0
        connections = {id(e.connection) for e in system.enactors}
        assert len(connections) == 3
        assert system.snapshot()["store"] == frozenset({1})
    finally:
        system.close()
    assert not system.directory.exists()


def test_fixed_mode_never_moves_a_record_backwards():
    system = DnsPlanSystem(mode="fixed")
    try:
        old, new = system.enactors
        system.planner.create_plan()
        assert old.pick_up()
        system.planner.create_plan()
        assert new.pick_up()
        new.write_endpoint()
        old.write_endpoint()  # a stale write: the conditional UPDATE skips it
        assert system.snapshot()["dns"] == (3, 1)
    finally:
        system.close()


def test_incident_mode_fails_its_model_based_test_with_a_replayable_race(tmp_path):
    with pytest.raises(MbtFailure) as info:
        modelcheck_hypothesis.run_mbt(
            dnsplan_binding("incident"), settings=INCIDENT, trace_dir=tmp_path
        )
    failure = info.value
    assert failure.kind == "violation"
    assert "proven shortest" in str(failure)
    assert "observed" in str(failure)
    (saved,) = sorted(p for p in tmp_path.glob("*.json") if not p.stem.endswith("-shrunk"))
    result = CliRunner().invoke(app, ["replay", str(ROOT / "specs" / "dns_race.py"), str(saved)])
    assert result.exit_code == 1, result.output
    assert "the trace is a legal run and" in result.output


def test_incident_mode_fails_exhaustive_lock_step_exploration():
    with pytest.raises(MbtFailure) as info:
        explore(dnsplan_binding("incident"), depth=6)
    assert info.value.property == "applied_generation_monotonic"
    assert len(info.value.trace) == 6


def test_fixed_mode_passes_many_hypothesis_examples():
    # Passing means no exception: any divergence or violation raises MbtFailure
    # (the incident-mode tests above show the same harness failing).
    modelcheck_hypothesis.run_mbt(dnsplan_binding("fixed"), settings=FIXED)


def test_fixed_mode_passes_every_interleaving_to_depth_8():
    report = explore(dnsplan_binding("fixed"), depth=FIXED_DEPTH)
    assert (report.paths, report.states) == (1198, 227)
