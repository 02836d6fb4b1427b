"""``modelcheck sweep`` and :func:`modelcheck.sweep.sweep`: a check per configuration of a grid."""

from __future__ import annotations

import csv
import io
import json

import pytest
from dns_race import DnsRace
from typer.testing import CliRunner

from modelcheck import check
from modelcheck.cli import app
from modelcheck.cli.sweep_cmd import parse_grid
from modelcheck.errors import ParameterError
from modelcheck.result import ExitCode, Status
from modelcheck.sweep import sweep

GRID = {"enactors": [2, 3], "generations": [3, 4]}


def test_every_row_is_the_check_of_its_configuration_in_grid_order():
    result = sweep(DnsRace, GRID, fixed={"endpoints": 2})
    configurations = [dict(r.parameters) for r in result.rows]
    assert configurations == [
        {"enactors": 2, "generations": 3},
        {"enactors": 2, "generations": 4},
        {"enactors": 3, "generations": 3},
        {"enactors": 3, "generations": 4},
    ]
    for row in result.rows:
        alone = check(DnsRace(endpoints=2, **row.parameters))
        assert row.result.statistics.states == alone.statistics.states
        assert row.result.verdicts == alone.verdicts


def test_the_smallest_failing_configuration_has_the_fewest_states():
    result = sweep(DnsRace, GRID, fixed={"endpoints": 2})
    for prop in result.properties:
        failing = [r for r in result.rows if r.result.verdict(prop).status is Status.VIOLATED]
        smallest = result.smallest_failing(prop)
        if not failing:
            assert smallest is None
            continue
        fewest = min(r.result.statistics.states for r in failing)
        assert smallest.result.statistics.states == fewest
        assert smallest is next(r for r in failing if r.result.statistics.states == fewest)
    # dns-race's monotonicity bug needs no deletion: it is there at the smallest size.
    monotonic = result.smallest_failing("applied_generation_monotonic")
    assert dict(monotonic.parameters) == {"enactors": 2, "generations": 3}


def test_the_exit_code_is_the_worst_of_the_rows():
    holds = sweep(DnsRace, {"generations": [2, 3]}, properties=("active_plan_never_deleted",))
    assert holds.exit_code is ExitCode.OK
    fails = sweep(DnsRace, {"generations": [3, 4]}, properties=("active_plan_never_deleted",))
    assert fails.exit_code is ExitCode.VIOLATED
    cut = sweep(DnsRace, {"generations": [2, 3]}, max_states=10)
    assert cut.exit_code in (ExitCode.INCOMPLETE, ExitCode.VIOLATED)
    assert all(not r.result.complete for r in cut.rows)


def test_grids_parse_lists_and_int_ranges_and_refuse_mistakes():
    assert parse_grid(DnsRace, ["enactors=2..4", "keep=1,2"]) == {
        "enactors": [2, 3, 4],
        "keep": [1, 2],
    }
    assert parse_grid(DnsRace, ["check_at_apply=true,false"]) == {"check_at_apply": [True, False]}
    for bad, message in [
        ("enactors=4..2", "the range is empty"),
        ("check_at_apply=false..true", "a range lo..hi is for int parameters"),
        ("enactors=2,2", "listed twice"),
        ("nope=1", "has no parameter 'nope'"),
        ("enactors", "expected name=values"),
        ("enactors=two", "is an int"),
    ]:
        with pytest.raises(ParameterError, match=message):
            parse_grid(DnsRace, [bad])
    with pytest.raises(ParameterError, match="given twice"):
        parse_grid(DnsRace, ["enactors=2", "enactors=3"])


def test_the_cli_prints_the_table_and_writes_csv_and_json(tmp_path, dns_race_path):
    ran = CliRunner().invoke(
        app,
        [
            "sweep",
            str(dns_race_path),
            "-p",
            "enactors=2..3",
            "-p",
            "generations=3,4",
            "-p",
            "endpoints=2",
            "--property",
            "applied_generation_monotonic",
            "--property",
            "active_plan_never_deleted",
            "--csv",
            str(tmp_path / "s.csv"),
            "--json",
            str(tmp_path / "s.json"),
            "-q",
        ],
    )
    assert ran.exit_code == 1, ran.output
    assert "DnsRace: 4 configurations with endpoints=2" in ran.output
    assert (
        "active_plan_never_deleted: smallest failing configuration enactors=2, generations=4 "
        "(1,614 states, 10 steps)" in ran.output
    )
    rows = list(csv.DictReader(io.StringIO((tmp_path / "s.csv").read_text())))
    assert [(r["enactors"], r["generations"], r["states"]) for r in rows] == [
        ("2", "3", "368"),
        ("2", "4", "1614"),
        ("3", "3", "5691"),
        ("3", "4", "40436"),
    ]
    assert rows[1]["active_plan_never_deleted"] == "violated"
    assert rows[1]["active_plan_never_deleted_steps"] == "10"
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["schema"] == "modelcheck-sweep" and data["swept"] == ["enactors", "generations"]
    assert data["smallest_failing"]["applied_generation_monotonic"]["parameters"] == {
        "enactors": 2,
        "generations": 3,
    }


def test_the_cli_refuses_a_bad_grid_with_exit_code_2(dns_race_path):
    for args, message in [
        (["-p", "enactors=5..1"], "the range is empty"),
        (["-p", "enactors=1..200", "-p", "generations=1..100"], "more than 10,000"),
        (["-p", "enactors=2,3", "-p", "check_at_apply=maybe"], "is a bool"),
        (["--engine", "fast"], "unknown engine"),
    ]:
        ran = CliRunner().invoke(app, ["sweep", str(dns_race_path), *args])
        assert ran.exit_code == 2, (args, ran.output)
        assert message in ran.output and "Traceback" not in ran.output, ran.output
