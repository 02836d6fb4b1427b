"""Shared test fixtures: paths to the shipped specs and a typer runner."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

if str(SPECS) not in sys.path:
    sys.path.insert(0, str(SPECS))


@pytest.fixture
def dns_race_path() -> Path:
    return SPECS / "dns_race.py"
