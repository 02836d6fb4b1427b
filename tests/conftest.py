"""Shared test fixtures: paths to the shipped specs and a typer runner."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The repository's own pytest plugin, so README examples using spec_tests run here even
# before `pip install .` registers its entry point (same name: loading it twice is a no-op).
pytest_plugins = ["modelcheck.integrations.pytest_plugin"]

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

if str(SPECS) not in sys.path:
    sys.path.insert(0, str(SPECS))


@pytest.fixture
def dns_race_path() -> Path:
    return SPECS / "dns_race.py"


@pytest.fixture(autouse=True)
def _traces_in_tmp_path(tmp_path_factory, monkeypatch):
    """The Hypothesis bridge saves failing runs to MODELCHECK_TRACE_DIR, else a fixed
    folder under /tmp shared by every run on the machine; tests keep theirs apart."""
    monkeypatch.setenv("MODELCHECK_TRACE_DIR", str(tmp_path_factory.mktemp("traces")))
