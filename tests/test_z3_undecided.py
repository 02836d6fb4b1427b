"""z3 may answer "unknown" (Ctrl-C, a timeout): never read that as proved or as no violation.

Before the fix, every decision compared ``check() == z3.sat``, so an
"unknown" answer from an interrupted induction step counted as "no
counterexample" and `prove` printed "proved"; these tests force "unknown"
with a 1 ms z3 timeout and would then have seen HOLDS.
"""

from __future__ import annotations

import pytest
import z3
from dns_race import DnsRace

from modelcheck import compile_spec
from modelcheck.engines.z3 import bmc, prove
from modelcheck.result import ExitCode, Status


@pytest.fixture
def z3_gives_up_at_once():
    before = z3.get_param("timeout")
    z3.set_param("timeout", 1)
    try:
        yield
    finally:
        # Set it back explicitly: z3.reset_params() leaves solvers timing out.
        z3.set_param("timeout", int(before))


def test_prove_interrupted_by_z3_proves_nothing(z3_gives_up_at_once):
    model = compile_spec(DnsRace(check_at_apply=True, enactors=4, endpoints=4, generations=20))
    result = prove(model, 1)
    assert all(v.status is Status.UNKNOWN for v in result.verdicts)
    assert not result.complete and result.stopped_by == "interrupted"
    assert result.exit_code is ExitCode.INCOMPLETE
    assert "before z3 decided" in result.verdicts[0].reason


def test_bmc_interrupted_by_z3_claims_no_bound(z3_gives_up_at_once):
    model = compile_spec(DnsRace(enactors=3, endpoints=3, generations=5))
    result = bmc(model, 12)
    assert not result.complete
    assert all(v.status is not Status.HOLDS for v in result.verdicts)
    assert result.exit_code in (ExitCode.INCOMPLETE, ExitCode.VIOLATED)


def test_without_a_timeout_the_same_proof_goes_through():
    model = compile_spec(DnsRace(check_at_apply=True, enactors=2, endpoints=2, generations=6))
    result = prove(model, 1)
    assert result.complete
    assert result.verdict("active_plan_never_deleted").status is Status.HOLDS


def test_the_cli_says_interrupted_and_exits_3_rather_than_proved(z3_gives_up_at_once):
    from pathlib import Path

    from typer.testing import CliRunner

    from modelcheck.cli import app

    spec = Path(__file__).resolve().parent.parent / "specs" / "dns_race.py"
    args = ["prove", str(spec), "-p", "check_at_apply=true", "-p", "enactors=4", "-q"]
    result = CliRunner().invoke(app, [*args, "-p", "endpoints=4", "-p", "generations=20"])
    assert result.exit_code == 3, result.output
    assert "interrupted (Ctrl-C or a z3 timeout)" in result.stderr
    assert "result=unknown" in result.stdout
    assert " proved" not in result.stdout
