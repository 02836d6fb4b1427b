"""The symbolic engine is sound with respect to its bit width (and to the declared types).

Ints are ``W``-bit bit-vectors, ``W`` a few bits wider than the declared
bounds need.  Every operation that can wrap records when it does; ``bmc``
reports a reachable wrap as a spec error with the run, and ``prove`` proves
"nothing wraps" (and "the declared types hold") by induction with the
properties, or proves nothing.  Toys: ``tests/symbolic_toys.py`` (x in 0..3,
so W = 12 bits, -2048..2047, where 3 * 1000 wraps to -1096).
"""

from __future__ import annotations

import itertools

import pytest
import z3
from dns_race import DnsRace
from symbolic_toys import (
    EscapesRange,
    LockWithLemma,
    SymCounter,
    TwoProcessLock,
    WrapInAction,
    WrapInProperty,
)

from modelcheck import Status, check, compile_spec
from modelcheck.engines.z3 import bmc, encode, prove, terms
from modelcheck.symbolic import SubsetError

WIDTH = 5


def _python(op: str, x: int, y: int) -> int:
    return {
        "+": x + y,
        "-": x - y,
        "*": x * y,
        "&": x & y,
        "|": x | y,
        "^": x ^ y,
        "<<": x << y if y >= 0 else None,
        ">>": x >> y if y >= 0 else None,
    }[op]


def test_each_operator_is_flagged_exactly_where_its_bit_vector_differs_from_python():
    # Every pair of 5-bit operands: the recorded condition is true exactly when the
    # 5-bit result is Python's (a negative shift count is never exact: Python raises).
    low, high = -(1 << (WIDTH - 1)), 1 << (WIDTH - 1)
    for op, (compute, exact) in terms._OPERATORS.items():
        for x, y in itertools.product(range(low, high), repeat=2):
            a, b = z3.BitVecVal(x, WIDTH), z3.BitVecVal(y, WIDTH)
            expected = _python(op, x, y)
            same = expected is not None and z3.simplify(compute(a, b)).as_signed_long() == expected
            flagged_exact = exact is None or z3.is_true(z3.simplify(exact(a, b)))
            assert flagged_exact == same, (op, x, y)
    for x in range(low, high):
        a = z3.BitVecVal(x, WIDTH)
        assert z3.is_true(z3.simplify(z3.BVSNegNoOverflow(a))) == (low <= -x < high), x


def test_prove_does_not_prove_a_property_that_holds_only_because_an_action_wraps():
    """WrapInAction raises its alarm when ``x * 1000 > 2000``: at x = 3 (step 4) in Python.

    In 12 bits, 3 * 1000 wraps to -1096, so the alarm can never go off. Before
    overflow was checked, the base case (depths 0 and 1: x <= 1) found nothing
    and the step, from any state with the alarm off, could not turn it on: so
    ``prove`` reported ``quiet`` proved, and ``bmc`` even said it holds (every
    run ends after 3 steps).  Now the step must also show that no action
    wraps, which fails from x = 2 -> 3, naming the multiplication's line.
    """
    assert check(WrapInAction()).verdict("quiet").status is Status.VIOLATED
    for k in (1, 2):
        result = prove(compile_spec(WrapInAction()), k)
        verdict = result.verdict("quiet")
        assert verdict.status is Status.UNKNOWN and result.exit_code == 3
        assert "symbolic_toys.py:" in verdict.reason and "s.x * 1000 > 2000" in verdict.reason
        assert "`*` in WrapInAction.sound" in verdict.reason
        assert "12-bit" in verdict.reason and "widen" in verdict.reason
        assert verdict.counterexample.final.x == 3  # the state where it wraps


def test_bmc_reports_a_reachable_wrap_as_a_spec_error_with_the_run():
    with pytest.raises(SubsetError) as info:
        bmc(compile_spec(WrapInAction()), 6)
    message = str(info.value)
    assert "after 3 steps" in message and "s.x * 1000 > 2000" in message
    assert "Run: inc() → inc() → inc()" in message


def test_a_wrapping_property_is_not_proved_and_the_others_still_are():
    """``stays_small`` (x * 1000 <= 2000) is false at x = 3 but true in 12 bits.

    Before, it was proved; now evaluating it must not wrap, which is part of
    its own induction step.  ``quiet`` (no alarm: the action is never enabled)
    does not depend on it and is still proved.
    """
    assert check(WrapInProperty()).verdict("stays_small").status is Status.VIOLATED
    result = prove(compile_spec(WrapInProperty()), 1)
    assert result.verdict("quiet").status is Status.HOLDS
    small = result.verdict("stays_small")
    assert small.status is Status.UNKNOWN and result.exit_code == 3
    assert "s.x * 1000 <= 2000" in small.reason and "WrapInProperty.stays_small" in small.reason
    with pytest.raises(SubsetError, match=r"after 3 steps.*stays_small"):
        bmc(compile_spec(WrapInProperty()), 6)


def test_prove_proves_the_declared_types_instead_of_assuming_them():
    """EscapesRange counts to 5 with a field declared in 0..3.

    The step used to assume the declared types in the state after the step as
    well, so ``value <= 3`` was "proved" although ``check`` finds value 4.
    """
    assert check(EscapesRange()).verdict("within_declared_range").status is Status.VIOLATED
    result = prove(compile_spec(EscapesRange()), 1)
    verdict = result.verdict("within_declared_range")
    assert verdict.status is Status.UNKNOWN and result.exit_code == 3
    assert "leaves its declared type (value=4)" in verdict.reason


@pytest.mark.parametrize(
    "spec",
    [
        SymCounter(),
        TwoProcessLock(),
        LockWithLemma(),
        DnsRace(),
        DnsRace(check_at_apply=True, protect_active=True),
        DnsRace(check_at_apply=True, enactors=5, endpoints=5, generations=50),
    ],
    ids=repr,
)
def test_no_operation_of_dns_race_or_the_toys_can_wrap_in_a_state_of_the_declared_types(spec):
    encoding = encode(compile_spec(spec))
    assert encoding.wraps == []
    assert all(wraps == [] for wraps in encoding.property_wraps.values())


def test_the_prove_command_exits_3_naming_the_line_that_wraps():
    from typer.testing import CliRunner

    from modelcheck.cli import app

    runner = CliRunner()
    out = runner.invoke(app, ["prove", "tests/symbolic_toys.py:WrapInAction"])
    assert out.exit_code == 3, out.output
    assert "s.x * 1000 > 2000" in out.output and "result=unknown" in out.output
    out = runner.invoke(app, ["bmc", "tests/symbolic_toys.py:WrapInAction", "--depth", "5"])
    assert out.exit_code == 2, out.output
    assert "s.x * 1000 > 2000" in out.output
