"""The project passes its own linters (ruff check and ruff format), as CI demands."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ruff", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module", autouse=True)
def _ruff_installed() -> None:
    if _ruff("--version").returncode != 0 and shutil.which("ruff") is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")


def test_ruff_check_finds_nothing():
    result = _ruff("check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_would_change_nothing():
    result = _ruff("format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr
