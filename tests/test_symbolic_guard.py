"""What Python evaluates without asking the value is never a silent constant in bmc or prove.

Each property of :mod:`guard_toys` is checked three ways: breadth-first
search (the reference), ``bmc`` to a depth that covers every run, and
``prove``.  A supported construct must give BFS's verdict (and BFS's first
shortest counterexample); a rejected one must be a subset error naming the
property's file and line; and every answer that disagrees between the two
semantics is an internal error, never a verdict.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import guard_toys
import pytest
import z3
from guard_toys import NOT_BOOL, REJECTED, SUPPORTED, Probe
from typer.testing import CliRunner

from modelcheck import Status, check, compile_spec
from modelcheck.cli import app
from modelcheck.engines import z3 as symbolic
from modelcheck.errors import InternalError, SpecError
from modelcheck.symbolic import SubsetError
from modelcheck.symbolic.guard import Guard, instrumented

#: Every state of Probe is at most 8 steps from the initial one, so bmc to this depth
#: finds every violation (runs go on forever, so it never says "holds").
COMPLETE_DEPTH = 9


@pytest.fixture(scope="module")
def model():
    return compile_spec(Probe())


@pytest.fixture(scope="module")
def explicit():
    return check(Probe(), properties=SUPPORTED)


@pytest.mark.parametrize("name", SUPPORTED)
def test_a_supported_construct_gives_the_verdict_and_trace_of_breadth_first_search(
    name, model, explicit
):
    expected = explicit.verdict(name)
    bounded = symbolic.bmc(model, COMPLETE_DEPTH, (name,)).verdict(name)
    proved = symbolic.prove(model, 1, (name,)).verdict(name)
    bounded_expected = Status.VIOLATED if expected.status is Status.VIOLATED else Status.UNKNOWN
    assert bounded.status is bounded_expected, name
    # prove answers "violated" only within k steps; deeper, induction cannot conclude.
    assert (proved.status is Status.HOLDS) == (expected.status is Status.HOLDS), name
    if expected.status is Status.VIOLATED:
        assert [(s.label, s.state) for s in bounded.counterexample] == [
            (s.label, s.state) for s in expected.counterexample
        ]


def test_the_identity_examples_of_the_issue_are_violated_not_proved(explicit):
    assert explicit.verdict("flag_is_not_false").status is Status.VIOLATED
    assert explicit.verdict("mode_is_not_none").status is Status.VIOLATED
    assert explicit.verdict("flag_is_a_bool").status is Status.HOLDS
    # bump is enabled only while `mode is None`: a constant False would hide this.
    assert len(explicit.verdict("bumped_at_most_once").counterexample) == 3


def _line_of(name: str) -> int:
    return inspect.getsourcelines(getattr(Probe, name))[1]


@pytest.mark.parametrize("engine", ["bmc", "prove"])
@pytest.mark.parametrize("name", sorted(REJECTED))
def test_a_construct_outside_the_subset_is_rejected_with_its_line(name, engine, model):
    run = symbolic.bmc if engine == "bmc" else symbolic.prove
    with pytest.raises(SubsetError) as caught:
        run(model, 2, (name,))
    message = str(caught.value)
    assert REJECTED[name] in message
    assert Path(guard_toys.__file__).name in message
    first = _line_of(name)
    lines = [int(n) for n in re.findall(r"guard_toys\.py:(\d+)", message)]
    if name == "through_a_lambda":  # the line named is the lambda's own
        first = inspect.getsourcelines(guard_toys.IS_NONE)[1]
    assert any(first <= line <= first + 8 for line in lines), message


@pytest.mark.parametrize("name", sorted(NOT_BOOL))
def test_a_property_that_returns_no_bool_is_a_spec_error_naming_it(name, model):
    with pytest.raises(SpecError) as caught:
        symbolic.bmc(model, 1, (name,))
    message = str(caught.value)
    assert f"Probe.{name}" in message and NOT_BOOL[name] in message
    assert "instead of True or False" in message


def test_an_unselected_property_outside_the_subset_does_not_stop_the_others(model):
    result = symbolic.prove(model, 1, ("flag_is_a_bool",))
    assert [v.property for v in result.verdicts] == ["flag_is_a_bool"]
    assert result.verdict("flag_is_a_bool").status is Status.HOLDS


def test_the_spec_runs_its_own_code_again_after_the_symbolic_engine(model):
    before = Probe.n_is_two.__code__
    with pytest.raises(SubsetError):
        symbolic.bmc(model, 1, ("n_is_two",))
    assert Probe.n_is_two.__code__ is before
    assert check(Probe(), properties=("n_is_two",)).verdict("n_is_two").status is Status.VIOLATED


def test_instrumenting_keeps_line_numbers_and_closures():
    def outer(limit):
        def inner(x):
            return x is None or x < limit

        return inner

    fn = outer(3)
    code = instrumented(fn.__code__)
    assert code.co_firstlineno == fn.__code__.co_firstlineno
    assert code.co_freevars == fn.__code__.co_freevars
    guard = Guard()
    with guard.active():
        guard.instrument(fn.__code__)
        assert fn.__code__ is not code  # swapped for a fresh copy
        assert fn(None) is True and fn(2) is True and fn(5) is False
    assert fn(None) is True


# --- defence in depth: the two semantics are compared on every answer --------------------


def test_a_proof_that_breadth_first_search_refutes_is_an_internal_error(model, monkeypatch):
    real = symbolic.Encoding._property

    def always_true(self, prop):
        real(self, prop)
        return z3.BoolVal(True)  # an unsound encoding: every state satisfies it

    monkeypatch.setattr(symbolic.Encoding, "_property", always_true)
    with pytest.raises(InternalError) as caught:
        symbolic.prove(model, 1, ("k_is_not_one",))
    message = str(caught.value)
    assert "verdict: proved" in message and "verdict: violated" in message
    assert "k_is_not_one" in message


def test_a_counterexample_the_spec_code_does_not_confirm_is_an_internal_error(model, monkeypatch):
    real = symbolic.Encoding._property

    def always_false(self, prop):
        real(self, prop)
        return z3.BoolVal(False)  # an unsound encoding: every state violates it

    monkeypatch.setattr(symbolic.Encoding, "_property", always_false)
    for run in (symbolic.bmc, symbolic.prove):
        with pytest.raises(InternalError) as caught:
            run(model, 1, ("flag_is_a_bool",))
        message = str(caught.value)
        assert "verdict: violated" in message and "verdict: holds" in message


def test_the_cross_check_can_be_turned_off_and_is_on_by_default():
    signature = inspect.signature(symbolic.prove)
    assert signature.parameters["cross_check"].default == symbolic.CROSS_CHECK_STATES > 0
    result = symbolic.prove(compile_spec(Probe()), 1, ("flag_is_a_bool",), cross_check=0)
    assert result.verdict("flag_is_a_bool").status is Status.HOLDS


# --- the command line ---------------------------------------------------------------------

ISSUE_EXAMPLE = """
from modelcheck import Spec, State, action, invariant


class Flagged(State):
    flag: bool


class Example(Spec):
    def initial_states(self):
        return Flagged(flag=True)

    @action
    def clear(self, s):
        return s.replace(flag=False)

    @invariant
    def flag_is_not_false(self, s):
        return s.flag is not False

    @invariant
    def flag_is_a_bool(self, s):
        return isinstance(s.flag, bool)
"""

runner = CliRunner()


def cli(*args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def example(tmp_path):
    path = tmp_path / "example.py"
    path.write_text(ISSUE_EXAMPLE, encoding="utf-8")
    return f"{path}:Example"


@pytest.mark.parametrize("command", [["prove"], ["bmc", "--depth", "3"]])
def test_the_issues_example_is_a_violation_on_the_command_line(example, command):
    result = cli(*command, example)
    assert result.exit_code == 1, result.output
    assert "flag_is_not_false" in result.stdout
    # The isinstance() invariant holds, and no 0-step "counterexample" is shown for it.
    assert "Counterexample to flag_is_a_bool" not in result.stdout


def test_property_narrows_prove_past_a_property_outside_the_subset():
    spec = f"{Path(guard_toys.__file__)}:Probe"
    everything = cli("prove", spec)
    assert everything.exit_code == 2
    assert "outside the symbolic subset" in everything.stderr
    narrowed = cli("prove", spec, "--property", "flag_is_a_bool")
    assert narrowed.exit_code == 0, narrowed.output


def test_an_unsound_encoding_reaches_the_command_line_as_an_internal_error(example, monkeypatch):
    real = symbolic.Encoding._property

    def always_true(self, prop):
        real(self, prop)
        return z3.BoolVal(True)

    monkeypatch.setattr(symbolic.Encoding, "_property", always_true)
    result = cli("prove", example, "--property", "flag_is_not_false")
    assert result.exit_code == 2
    assert "internal error" in result.stderr
    assert "verdict: proved" in result.stderr and "verdict: violated" in result.stderr


def test_bmc_prints_no_progress_when_stderr_is_not_a_terminal(example):
    result = cli("bmc", example, "--depth", "3")
    assert "searched" not in result.stderr
    assert result.stderr == ""
