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
