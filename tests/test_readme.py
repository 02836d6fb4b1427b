"""Every ```python block of README.md runs (STYLE.md: every code block is executed by a test)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def python_blocks() -> list[str]:
    return BLOCK.findall(README.read_text(encoding="utf-8")) if README.exists() else []


def test_the_block_finder_finds_python_blocks_and_skips_others():
    text = "intro\n```python\nx = 1\n```\n```bash\nls\n```\n```python\ny = 2\n```\n"
    assert BLOCK.findall(text) == ["x = 1\n", "y = 2\n"]


@pytest.mark.parametrize("number", range(max(1, len(python_blocks()))))
def test_readme_python_block_runs(number, monkeypatch):
    blocks = python_blocks()
    if not blocks:
        pytest.skip("README.md has no ```python block yet")
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT / "specs"))
    source = blocks[number]
    namespace: dict[str, object] = {"__name__": f"readme_block_{number}"}
    code = compile(source, f"README.md python block {number + 1}", "exec")
    exec(code, namespace)
    assert os.getcwd() == str(ROOT)
    assert str(ROOT / "specs") in sys.path


# --- the README's shown output and its table of commands ----------------------------------


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def test_the_output_shown_under_what_it_finds_is_what_check_prints():
    from typer.testing import CliRunner

    from modelcheck.cli import app

    shown = re.search(r"```text\n(.*?)```", _section("What it finds"), re.DOTALL).group(1)
    result = CliRunner().invoke(app, ["check", str(ROOT / "specs" / "dns_race.py")])
    assert result.exit_code == 1
    actual = result.stdout.splitlines()
    position = 0
    for line in shown.splitlines():
        if line == "..." or line.startswith("explored ") or "seconds=" in line:
            continue  # elided, or timings that vary run to run
        assert line in actual[position:], f"README line not printed (in order): {line!r}"
        position = actual.index(line, position) + 1


def test_every_command_in_the_fixes_table_gives_the_documented_states_and_exit_code():
    from typer.testing import CliRunner

    from modelcheck.cli import app

    rows = re.findall(
        r"^\| `modelcheck check specs/dns_race.py([^`]*)` \| (\d+) \| [^|]* \| (\d) \|$",
        _section("What it finds"),
        re.MULTILINE,
    )
    assert len(rows) == 3
    for options, states, exit_code in rows:
        args = ["check", str(ROOT / "specs" / "dns_race.py"), "-q", *options.split()]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == int(exit_code), (options, result.output)
        assert f"states={states} " in result.stdout, (options, result.stdout)
