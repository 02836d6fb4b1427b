"""Odd input gets its own clear message and exit 2, never "internal error".

Found by a newcomer: a 5,000-digit integer in a trace (Python's limit on
int-to-text conversion), 100,000-deep nested JSON (the recursion limit),
and ``bmc -p generations=100000`` (a 100,000-bit z3 value) all ended in an
internal error; a NUL or a newline inside a string value made a blank
cell or broke the trace table.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelcheck import Spec, State, action, check, invariant
from modelcheck.cli import app
from modelcheck.render.text import render_trace

ROOT = Path(__file__).resolve().parent.parent
LOCK = f"{ROOT / 'tests' / 'toy_specs.py'}:TwoProcessLock"
DNS = str(ROOT / "specs" / "dns_race.py")


def run(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert "internal error" not in result.stderr, result.stderr
    return result


@pytest.fixture
def lock_trace(tmp_path) -> dict:
    assert run("check", LOCK, "-p", "broken=true", "-q", "--trace-dir", tmp_path).exit_code == 1
    return json.loads((tmp_path / "mutual_exclusion.json").read_text())


@pytest.mark.parametrize("command", ["show", "replay"])
def test_an_integer_too_long_for_python_to_read_is_named(lock_trace, tmp_path, command):
    text = json.dumps(lock_trace).replace('"owner": -1', '"owner": ' + "9" * 5000, 1)
    path = tmp_path / "big.json"
    path.write_text(text)
    args = [command, path] if command == "show" else [command, LOCK, path]
    result = run(*args)
    assert result.exit_code == 2
    assert "holds an integer with more digits than Python reads by default" in result.stderr
    assert "PYTHONINTMAXSTRDIGITS=0" in result.stderr


@pytest.mark.parametrize("command", ["show", "replay"])
def test_json_nested_too_deeply_is_named(tmp_path, command):
    deep = "[" * 100_000 + "]" * 100_000
    path = tmp_path / "deep.json"
    path.write_text(f'{{"format": "modelcheck-trace", "schema_version": 1, "initial": {deep}}}')
    args = [command, path] if command == "show" else [command, LOCK, path]
    result = run(*args)
    assert result.exit_code == 2
    assert "nested too deeply" in result.stderr


def test_bmc_at_a_size_beyond_the_symbolic_engine_names_the_field():
    result = run("bmc", DNS, "-p", "generations=100000", "--depth", "3")
    assert result.exit_code == 2
    assert "field 'store' needs 100,002-bit values" in result.stderr
    assert "Bits(1, 100000)" in result.stderr


class Text(State):
    text: str
    big: int


class Odd(Spec):
    def initial_states(self):
        return Text("a", 1)

    @action
    def nul(self, s):
        return s.replace(text="\0") if s.text == "a" else None

    @action
    def newline(self, s):
        return s.replace(text="x\ny") if s.text == "\0" else None

    @action
    def empty(self, s):
        return s.replace(text="") if s.text == "x\ny" else None

    @action
    def grow(self, s):
        return s.replace(big=10**5000) if s.text == "" and s.big == 1 else None

    @invariant
    def small(self, s):
        return s.big < 10**4000


def test_control_characters_and_huge_ints_are_shown_visibly_one_row_per_step():
    trace = check(Odd()).verdict("small").counterexample
    table = render_trace(trace)
    rows = table.splitlines()
    assert len(rows) == 2 + 1 + 4 + 1  # title, header, initial, 4 steps, reason
    assert "text: a → '\\x00'" in table
    assert "text: '\\x00' → 'x\\ny'" in table
    assert "text: 'x\\ny' → ''" in table
    assert "big: 1 → <an int of 16,610 bits>" in table


def test_writing_a_trace_with_a_huge_int_is_a_clear_error(tmp_path):
    source = Path(__file__).read_text()
    spec = tmp_path / "odd.py"
    spec.write_text(source)  # this module, loaded as a spec file
    result = run("check", f"{spec}:Odd", "-q", "--trace-dir", tmp_path / "traces")
    assert result.exit_code == 2
    assert "cannot write JSON: a state holds an integer with more digits" in result.stderr
    assert not (tmp_path / "traces" / "small.json").exists()


def test_replaying_another_specs_trace_names_that_spec_not_the_parameters(lock_trace, tmp_path):
    lock_trace["spec"]["parameters"] = {}  # parameters that fit Counter too
    path = tmp_path / "lock.json"
    path.write_text(json.dumps(lock_trace))
    result = run("replay", f"{ROOT / 'tests' / 'toy_specs.py'}:Counter", path)
    assert result.exit_code == 2
    assert "The trace was made by TwoProcessLock, not Counter" in result.stderr
    assert "parameters used" not in result.stderr


def test_a_trace_with_other_fields_is_called_another_spec_or_version(lock_trace, tmp_path):
    lock_trace["spec"] = {"name": "Counter", "parameters": {}}  # renamed, but other fields
    path = tmp_path / "renamed.json"
    path.write_text(json.dumps(lock_trace))
    result = run("replay", f"{ROOT / 'tests' / 'toy_specs.py'}:Counter", path)
    assert result.exit_code == 2
    assert "Its state has other fields (missing: value; not in Counter: owner, pc)" in result.stderr
    assert "parameters used" not in result.stderr


class Cells(State):
    cells: tuple[int, ...]


class IntDomain(Spec):
    size: int = 3

    def initial_states(self):
        return Cells((0,) * self.size)

    @action(i=3)  # was: "'int' object is not iterable"
    def fill(self, s, i):
        return None if s.cells[i] else s.replace(cells=(*s.cells[:i], 1, *s.cells[i + 1 :]))

    @invariant
    def never_full(self, s):
        return 0 in s.cells


def test_an_int_domain_means_range_of_it():
    from modelcheck import compile_spec

    model = compile_spec(IntDomain())
    assert [a.label for a in model.actions] == ["fill(i=0)", "fill(i=1)", "fill(i=2)"]
    assert check(IntDomain()).statistics.states == 8


def test_a_negative_int_domain_says_what_to_write():
    from modelcheck import SpecError, compile_spec

    class Negative(IntDomain):
        @action(i=-1)
        def fill(self, s, i):
            return None

    with pytest.raises(SpecError, match=r"an int domain n means range\(n\)"):
        compile_spec(Negative())
