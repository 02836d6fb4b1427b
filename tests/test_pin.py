"""``modelcheck pin``: a saved counterexample becomes a pytest test that replays it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelcheck.cli import app


@pytest.fixture
def traces(tmp_path, dns_race_path) -> Path:
    folder = tmp_path / "traces"
    ran = CliRunner().invoke(app, ["check", str(dns_race_path), "-q", "--trace-dir", str(folder)])
    assert ran.exit_code == 1, ran.output
    return folder


def pin(*args: str) -> CliRunner:
    return CliRunner().invoke(app, ["pin", *args])


def pytest_on(path: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)]
    return subprocess.run(command, capture_output=True, text=True, cwd=path.parent, timeout=300)


def test_a_pinned_counterexample_is_a_passing_test_that_fails_once_the_bug_is_fixed(
    traces, tmp_path, dns_race_path
):
    test = tmp_path / "tests" / "test_regression_monotonic.py"
    test.parent.mkdir()
    ran = pin(
        str(dns_race_path), str(traces / "applied_generation_monotonic.json"), "-o", str(test)
    )
    assert ran.exit_code == 0, ran.output
    assert pytest_on(test).returncode == 0
    # The same run of the fixed spec (the check at apply time): the pinned test catches it.
    fixed = test.read_text().replace("check_at_apply=False", "check_at_apply=True")
    test.write_text(fixed)
    outcome = pytest_on(test)
    assert outcome.returncode == 1, outcome.stdout
    assert "test_applied_generation_monotonic_fails_on_the_pinned_run" in outcome.stdout


def test_expect_holds_pins_a_fix_and_refuses_a_run_that_still_fails(
    traces, tmp_path, dns_race_path
):
    spec = str(dns_race_path)
    still = traces / "active_plan_never_deleted.json"
    ran = pin(spec, str(still), "-o", str(tmp_path / "test_fix.py"), "--expect", "holds")
    assert ran.exit_code == 2 and "still fails on this run" in ran.output, ran.output
    # The same run with the fix switched on is no longer a legal run or no longer fails.
    data = json.loads(still.read_text())
    data["spec"]["parameters"]["protect_active"] = True
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps(data))
    ran = pin(spec, str(fixed), "-o", str(tmp_path / "test_fix.py"))
    assert ran.exit_code == 2 and "--expect holds" in ran.output, ran.output
    ran = pin(spec, str(fixed), "-o", str(tmp_path / "test_fix.py"), "--expect", "holds")
    assert ran.exit_code == 0, ran.output
    assert pytest_on(tmp_path / "test_fix.py").returncode == 0


def test_bad_pins_are_clear_errors(traces, tmp_path, dns_race_path):
    spec, trace = str(dns_race_path), str(traces / "applied_generation_monotonic.json")
    existing = tmp_path / "test_there.py"
    existing.write_text("# mine\n")
    for args, message in [
        ([spec, trace, "-o", str(tmp_path / "regression.py")], "pytest collects files named"),
        ([spec, trace, "-o", str(existing)], "give --force"),
        ([spec, trace, "-o", str(tmp_path / "test_x.py"), "--expect", "maybe"], "fails or holds"),
    ]:
        ran = pin(*args)
        assert ran.exit_code == 2 and message in ran.output, (args, ran.output)
        assert "Traceback" not in ran.output
    assert existing.read_text() == "# mine\n"
    plain = json.loads(Path(trace).read_text())
    plain["property"] = None
    plain_file = tmp_path / "plain.json"
    plain_file.write_text(json.dumps(plain))
    ran = pin(spec, str(plain_file), "-o", str(tmp_path / "test_plain.py"))
    assert ran.exit_code == 2, ran.output
    assert "not a counterexample" in ran.output
