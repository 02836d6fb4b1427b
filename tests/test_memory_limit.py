"""``--memory-limit``: a search stops cleanly, with its partial result, before it is killed."""

from __future__ import annotations

from pathlib import Path

import pytest
from toy_specs import Counter
from typer.testing import CliRunner

from modelcheck import CheckOptions, ModelcheckError, Status, compile_spec
from modelcheck.cli import app
from modelcheck.cli.common import memory_limit_bytes
from modelcheck.engines.bfs import check, resident_memory_bytes

DNS = str(Path(__file__).resolve().parent.parent / "specs" / "dns_race.py")


def test_a_search_past_its_memory_limit_stops_with_a_partial_result():
    model = compile_spec(Counter(n=50))
    result = check(model, CheckOptions(memory_limit=1, progress_every=8))
    assert result.stopped_by == "memory_limit" and not result.complete
    assert 8 <= result.statistics.states < 51
    assert all(v.status is not Status.HOLDS for v in result.verdicts)
    assert result.exit_code == 3


def test_without_a_limit_the_same_search_completes():
    result = check(compile_spec(Counter(n=50)), CheckOptions(progress_every=8))
    assert result.complete and result.statistics.states == 51


def test_the_command_line_stops_at_the_limit_with_exit_3_and_says_what_to_do():
    result = CliRunner().invoke(
        app, ["check", DNS, "-p", "enactors=3", "-p", "endpoints=3", "--memory-limit", "1K"]
    )
    assert result.exit_code in (1, 3)  # 1 when a violation was found before the stop
    assert "INCOMPLETE (stopped by memory_limit)" in result.stdout
    assert "reached its memory limit (--memory-limit)" in result.stdout
    assert "raise --memory-limit" in result.stdout


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8G", 8 * 2**30),
        ("500M", 500 * 2**20),
        ("1.5G", int(1.5 * 2**30)),
        ("4096", 4096),
        ("2gib", 2 * 2**30),
        ("none", None),
        ("0", None),
    ],
)
def test_sizes_are_read_with_binary_units(text, expected):
    assert memory_limit_bytes(text) == expected


@pytest.mark.parametrize("text", ["lots", "-1G", "8X", "1.2.3G"])
def test_a_bad_size_says_how_to_write_one(text):
    with pytest.raises(ModelcheckError, match="not a size; write a number"):
        memory_limit_bytes(text)


def test_the_default_is_a_fraction_of_what_the_machine_can_give():
    default = memory_limit_bytes(None)
    if not Path("/proc/meminfo").exists():
        assert default is None
        return
    total = int(
        next(line for line in open("/proc/meminfo") if line.startswith("MemTotal")).split()[1]
    )
    assert resident_memory_bytes() < default < total * 1024
