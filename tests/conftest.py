"""Shared test fixtures: paths to the shipped specs and a typer runner."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# No timing thresholds in tests: Hypothesis' "too slow" health check and its per-example
# deadline measure the machine, which is shared and noisy (a one-second pause failed
# a bridge test once). Every settings object a test builds inherits this profile.
settings.register_profile(
    "modelcheck-tests", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("modelcheck-tests")

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


@pytest.fixture(scope="session")
def ray_cluster():
    """One real local Ray cluster for the whole session (started on first use): its
    address, for commands that join it; this process is connected to it."""
    ray = pytest.importorskip("ray")
    patch = pytest.MonkeyPatch()
    # A cluster of our own: no token to share with the commands that join it.
    patch.setenv("RAY_AUTH_MODE", "disabled")
    context = ray.init(
        num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False
    )
    yield context.address_info["gcs_address"]
    ray.shutdown()
    patch.undo()
