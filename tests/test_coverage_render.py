"""Action coverage in the text output, JSON and the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from typer.testing import CliRunner

from modelcheck import CheckResult, Statistics, check
from modelcheck.cli import app
from modelcheck.render.json import result_to_json
from modelcheck.render.text import render_coverage, render_result
from modelcheck.result import ActionCoverage

sys.path.insert(0, str(Path(__file__).parent))
from diagram_toys import TwoWriters


def hand_built(coverage=()) -> CheckResult:
    return CheckResult(
        spec="Toy",
        parameters={"n": 2},
        verdicts=(),
        statistics=Statistics(
            states=3, transitions=2, depth=2, seconds=0.5, peak_memory_bytes=2**20
        ),
        complete=True,
        coverage=tuple(coverage),
    )


COVERAGE = (
    ActionCoverage("inc()", "inc", enabled=2, fired=2),
    ActionCoverage("reset(to=0)", "reset", enabled=1200, fired=1450),
    ActionCoverage("reset(to=9)", "reset", enabled=0, fired=0),
)


def test_coverage_is_a_table_with_a_warning_per_action_never_enabled():
    assert render_coverage(hand_built(COVERAGE)) == (
        "Action coverage (enabled: states it was enabled in; fired: steps it took)\n"
        "  action       enabled  fired\n"
        "  inc()              2      2\n"
        "  reset(to=0)    1,200  1,450\n"
        "  reset(to=9)        0      0\n"
        "WARNING: reset(to=9) was never enabled; its guard may be impossible (a bug in the spec?)"
    )


def test_coverage_comes_after_the_verdicts_and_before_the_summary_line():
    text = render_result(hand_built(COVERAGE))
    assert text.index("verdict") < text.index("Action coverage") < text.index("result=holds")


def test_no_coverage_section_when_coverage_was_not_counted():
    assert render_coverage(hand_built()) == ""
    assert "Action coverage" not in render_result(hand_built())
    assert "coverage" not in result_to_json(hand_built())


def test_coverage_in_json():
    data = result_to_json(hand_built(COVERAGE))
    assert data["coverage"][2] == {
        "action": "reset(to=9)",
        "family": "reset",
        "enabled": 0,
        "fired": 0,
    }


def test_the_engine_counts_every_action_instance():
    result = check(TwoWriters(workers=3), coverage=True)
    assert [c.label for c in result.coverage][:3] == ["grab(w=0)", "grab(w=1)", "grab(w=2)"]
    assert all(c.enabled > 0 for c in result.coverage)


def test_check_coverage_on_the_command_line(tmp_path, dns_race_path):
    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        app,
        [
            "check",
            str(dns_race_path),
            "-q",
            "--coverage",
            "-p",
            "generations=2",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Action coverage" in result.stdout and "WARNING" not in result.stdout
    assert json.loads(out.read_text())["coverage"][0]["action"] == "plan()"
