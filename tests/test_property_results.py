"""A property returns True or False; anything else is a spec error naming it, in every engine.

Before, results were only truth-tested: a generator or the string "False"
counted as holding (exit 0) and ``None`` as failing with a misleading reason.
"""

from __future__ import annotations

import property_result_toys
import pytest
from property_result_toys import RESULTS, Slips
from typer.testing import CliRunner

from modelcheck import SpecError, check, compile_spec
from modelcheck.cli import app
from modelcheck.engines.simulate import SimulateOptions, simulate
from modelcheck.integrations import hypothesis as bridge
from modelcheck.integrations.mbt import Binding, explore

WHERE = {"invariant": "counted", "action": "stepped", "terminal": "stopped"}
#: Where ``_result`` is reached for each kind: the terminal check runs only at n == 2.
AT = {"invariant": 1, "action": 1, "terminal": 2}


def slips(result: str, where: str) -> Slips:
    return Slips(result=result, where=where, at=AT[where])


def assert_names_the_property(error: BaseException, result: str, where: str) -> None:
    text = str(error)
    assert f"Slips.{WHERE[where]} (" in text
    assert "property_result_toys.py:" in text
    assert RESULTS[result][1] in text
    assert "instead of True or False" in text


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("result", RESULTS)
def test_check_stops_with_a_spec_error(result, where):
    with pytest.raises(SpecError) as caught:
        check(slips(result, where))
    assert_names_the_property(caught.value, result, where)


@pytest.mark.parametrize("result", RESULTS)
def test_recoverability_analysis_checks_results_too(result):
    from modelcheck import recoverable

    class Recover(Slips):
        @recoverable
        def home(self, s):
            return self._result(s) if s.n == 1 else s.n == 0

    with pytest.raises(SpecError) as caught:
        check(Recover(result=result, where="none"), properties=["home"])
    assert "Recover.home (" in str(caught.value)


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("result", RESULTS)
def test_simulate_stops_with_a_spec_error(result, where):
    with pytest.raises(SpecError) as caught:
        simulate(compile_spec(slips(result, where)), SimulateOptions(runs=3, depth=5))
    assert_names_the_property(caught.value, result, where)


@pytest.mark.parametrize("where", WHERE)
def test_the_hypothesis_bridge_stops_with_a_spec_error(where):
    with pytest.raises(SpecError) as caught:
        bridge.run(slips("string", where))
    assert_names_the_property(caught.value, "string", where)


@pytest.mark.parametrize("where", WHERE)
def test_model_based_tests_stop_with_a_spec_error(where):
    class Impl:
        n = 0

        def inc(self):
            self.n += 1

    binding = Binding(
        spec=slips("generator", where),
        start=Impl,
        actions={"inc": lambda system: system.inc()},
        observe=lambda system: system.n,
        abstract=lambda state: state.n,
    )
    with pytest.raises(SpecError) as caught:
        explore(binding, depth=3)
    assert_names_the_property(caught.value, "generator", where)


def test_the_command_line_exits_2_with_the_message_and_no_address():
    spec = f"{property_result_toys.__file__}:Slips"
    result = CliRunner().invoke(app, ["check", spec, "-p", "result=generator"])
    assert result.exit_code == 2
    assert "Slips.counted (" in result.stderr and "returned generator" in result.stderr
    assert " at 0x" not in result.stderr  # the same message on every run


def test_bool_results_still_give_plain_verdicts():
    assert check(Slips(at=5)).ok  # ``_result`` never reached: every result is True


# --- the same errors from the analyses outside the generated loop -------------------------


def test_a_property_that_fails_on_a_state_outside_the_constraint_is_named():
    from constraint_toys import BoundedDial

    from modelcheck import SpecRuntimeError, invariant

    class NotBool(BoundedDial):
        @invariant
        def within_limit(self, s):
            return None if s.x > self.limit else True  # only outside the constraint

    class Raises(BoundedDial):
        @invariant
        def within_limit(self, s):
            return 1 // (self.limit + 1 - s.x) > -1

    with pytest.raises(SpecRuntimeError) as not_bool:
        check(NotBool(), properties=["within_limit"])
    assert "NotBool.within_limit (" in str(not_bool.value)
    assert "returned NoneType None" in str(not_bool.value)
    assert "in a state outside the constraint reached in 4 steps" in str(not_bool.value)
    with pytest.raises(SpecRuntimeError) as raised:
        check(Raises(), properties=["within_limit"])
    text = str(raised.value)
    assert "property Raises.within_limit raised ZeroDivisionError" in text
    assert "test_property_results.py:" in text and "outside the constraint" in text
    assert len(raised.value.trace) == 4


def test_a_recoverability_predicate_that_raises_is_named_with_its_line():
    from modelcheck import SpecRuntimeError, recoverable

    class Fragile(Slips):
        @recoverable
        def home(self, s):
            return 1 // (2 - s.n) >= 0

    with pytest.raises(SpecRuntimeError) as caught:
        check(Fragile(result="none", where="none"), properties=["home"])
    text = str(caught.value)
    assert "property Fragile.home raised ZeroDivisionError" in text
    assert "test_property_results.py:" in text and "reached in 2 steps" in text
