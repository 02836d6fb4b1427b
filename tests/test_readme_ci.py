"""The README's CI workflow parses, and the modelcheck commands in it work as it says."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelcheck.cli import app

ROOT = Path(__file__).resolve().parent.parent


def workflow_text() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## CI integration") :]
    return re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1)


def workflow_commands() -> list[str]:
    """Every ``modelcheck ...`` command of the workflow, folded lines joined."""
    text = workflow_text()
    commands = []
    for block in re.findall(r"run: >-\n((?:          .*\n)+)", text):
        commands.append(" ".join(line.strip() for line in block.splitlines()))
    return [c for c in commands if c.startswith("modelcheck ")]


def test_the_workflow_is_yaml_with_a_job_that_reports_and_uploads_sarif():
    yaml = pytest.importorskip("yaml", reason="PyYAML checks the workflow parses")
    flow = yaml.safe_load(workflow_text())
    assert flow["permissions"]["security-events"] == "write"
    (job,) = flow["jobs"].values()
    uses = [step.get("uses", "") for step in job["steps"]]
    upload = job["steps"][next(i for i, u in enumerate(uses) if "upload-sarif" in u)]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["if"] == "always()"  # a failing check must still upload its alerts
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert "pip install ." in runs
    assert workflow_commands() == [r.strip() for r in runs if r.startswith("modelcheck ")]


def test_the_workflow_runs_modelcheck_with_junit_and_sarif():
    commands = workflow_commands()
    assert len(commands) == 2
    for command in commands:
        assert "--junit reports/" in command and "--sarif reports/" in command


@pytest.mark.parametrize("number", range(2))
def test_each_workflow_command_passes_and_writes_both_reports(tmp_path, monkeypatch, number):
    command = workflow_commands()[number]
    args = shlex.split(command)[1:]
    monkeypatch.chdir(tmp_path)
    args = [str(ROOT / a) if a.startswith("specs/") else a for a in args]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    junit = args[args.index("--junit") + 1]
    sarif = args[args.index("--sarif") + 1]
    assert "<testsuites" in (tmp_path / junit).read_text(encoding="utf-8")
    assert '"version": "2.1.0"' in (tmp_path / sarif).read_text(encoding="utf-8")
