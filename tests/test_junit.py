"""JUnit XML reports (``--junit FILE``): one test case per property, failing with the exit code."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelcheck.cli import app
from modelcheck.render.junit import xml_safe

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
TOYS = TESTS / "toy_specs.py"
SYMBOLIC = TESTS / "symbolic_toys.py"
COUNTER = f"{TOYS}:Counter"
COUNTER_PROPERTIES = ["never_bad", "goes_up_by_one", "stops_only_at_n", "can_reach_n"]

runner = CliRunner()


def run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def def_line(path: Path, name: str) -> int:
    """The line of ``def name(`` in ``path``, found by reading the text (not by inspect)."""
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if re.match(rf"\s*def {name}\(", text):
            return number
    raise AssertionError(f"no def {name} in {path}")


def junit(tmp_path: Path, *args) -> tuple[int, ET.Element]:
    report = tmp_path / "report.xml"
    result = run(*args, "--junit", report)
    return result.exit_code, ET.parse(report).getroot()


def cases(root: ET.Element) -> dict[str, ET.Element]:
    return {case.get("name"): case for case in root.iter("testcase")}


def outcome(case: ET.Element) -> str:
    children = [c.tag for c in case if c.tag in ("failure", "error", "skipped")]
    assert len(children) <= 1
    return children[0] if children else "passed"


def counts_agree(root: ET.Element) -> None:
    """The counts on <testsuites> and <testsuite> are those of the cases inside."""
    suite = root.find("testsuite")
    found = [outcome(c) for c in suite.iter("testcase")]
    for element in (root, suite):
        assert element.get("tests") == str(len(found))
        assert element.get("failures") == str(found.count("failure"))
        assert element.get("errors") == str(found.count("error"))
        assert element.get("skipped") == str(found.count("skipped"))


# --- check ------------------------------------------------------------------------------------


def test_check_writes_one_passing_case_per_property_when_every_property_holds(tmp_path):
    code, root = junit(tmp_path, "check", COUNTER, "-p", "n=4")
    assert code == 0
    assert root.tag == "testsuites"
    assert len(root.findall("testsuite")) == 1
    assert list(cases(root)) == COUNTER_PROPERTIES
    assert {outcome(c) for c in cases(root).values()} == {"passed"}
    counts_agree(root)
    suite = root.find("testsuite")
    assert suite.get("name") == "modelcheck python Counter(n=4, bad=-1, explode_at=-1)"
    shown = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert shown["states"] == "5" and shown["complete"] == "true" and shown["exit_code"] == "0"


def test_a_violated_property_is_a_failure_carrying_its_reason_and_the_trace_table(tmp_path):
    code, root = junit(tmp_path, "check", COUNTER, "-p", "n=4", "-p", "bad=2")
    assert code == 1
    case = cases(root)["never_bad"]
    assert outcome(case) == "failure"
    failure = case.find("failure")
    assert failure.get("type") == "invariant"
    assert "never_bad" in failure.get("message")
    assert "Counterexample to never_bad (invariant): 2 steps" in failure.text
    assert "inc()" in failure.text
    # The other three still hold (the counter stops at 4 whatever the bad value).
    assert [outcome(cases(root)[n]) for n in COUNTER_PROPERTIES[1:]] == ["passed"] * 3
    counts_agree(root)


def test_each_case_names_the_spec_class_and_the_file_and_line_of_the_property_def(tmp_path):
    _, root = junit(tmp_path, "check", COUNTER, "-p", "n=2")
    for name, case in cases(root).items():
        assert case.get("classname") == "Counter"
        assert Path(case.get("file")).resolve() == TOYS
        assert case.get("line") == str(def_line(TOYS, name))


def test_an_incomplete_search_is_an_error_with_the_reason_never_a_pass(tmp_path):
    code, root = junit(tmp_path, "check", COUNTER, "-p", "n=10", "--max-states", "3")
    assert code == 3
    for case in cases(root).values():
        assert outcome(case) == "error"
        error = case.find("error")
        assert error.get("type") == "incomplete"
        assert error.get("message")
    counts_agree(root)


def test_properties_left_out_with_property_are_skipped_and_say_why(tmp_path):
    code, root = junit(tmp_path, "check", COUNTER, "-p", "n=3", "--property", "never_bad")
    assert code == 0
    assert outcome(cases(root)["never_bad"]) == "passed"
    for name in COUNTER_PROPERTIES[1:]:
        case = cases(root)[name]
        assert outcome(case) == "skipped"
        assert "--property" in case.find("skipped").get("message")
    counts_agree(root)


@pytest.mark.parametrize(
    "args",
    [
        ("check", COUNTER, "-p", "n=4"),
        ("check", COUNTER, "-p", "n=4", "-p", "bad=3"),
        ("check", COUNTER, "-p", "n=9", "--max-depth", "2"),
        ("check", COUNTER, "-p", "n=4", "-p", "bad=1", "--stop-at-first"),
        ("simulate", COUNTER, "--runs", "3"),
        ("simulate", COUNTER, "--runs", "3", "-p", "bad=2"),
    ],
)
def test_the_report_fails_exactly_when_the_exit_code_is_not_0(tmp_path, args):
    code, root = junit(tmp_path, *args)
    bad = int(root.get("failures")) + int(root.get("errors"))
    assert (bad > 0) == (code != 0), (code, ET.tostring(root, encoding="unicode"))
    counts_agree(root)


# --- simulate, bmc, prove ----------------------------------------------------------------------


def test_simulate_passes_what_no_run_violated_saying_so_and_skips_recoverability(tmp_path):
    code, root = junit(tmp_path, "simulate", COUNTER, "--runs", "4", "--depth", "10")
    assert code == 0
    never_bad = cases(root)["never_bad"]
    assert outcome(never_bad) == "passed"
    assert "not violated in 4 runs" in never_bad.find("system-out").text
    recoverable = cases(root)["can_reach_n"]
    assert outcome(recoverable) == "skipped"
    assert "exhaustive" in recoverable.find("skipped").get("message")


def test_simulate_reports_a_violation_as_a_failure_with_its_trace(tmp_path):
    code, root = junit(tmp_path, "simulate", COUNTER, "--runs", "4", "-p", "bad=2")
    assert code == 1
    failure = cases(root)["never_bad"].find("failure")
    assert "Counterexample to never_bad (invariant): 2 steps" in failure.text


def test_simulate_stopped_early_is_an_error_not_a_pass(tmp_path):
    code, root = junit(
        tmp_path, "simulate", COUNTER, "--runs", "50", "-p", "bad=1", "--stop-at-first"
    )
    assert code == 1  # the violation wins the exit code; the rest is undecided
    assert outcome(cases(root)["never_bad"]) == "failure"
    assert outcome(cases(root)["goes_up_by_one"]) == "error"


def test_bmc_reports_its_counterexample_and_what_holds_within_the_depth(tmp_path):
    code, root = junit(tmp_path, "bmc", f"{SYMBOLIC}:SymCounter", "-p", "bad=3", "--depth", "6")
    assert code == 1
    assert root.find("testsuite").get("name").startswith("modelcheck bmc SymCounter(")
    failure = cases(root)["never_bad"].find("failure")
    assert "Counterexample to never_bad (invariant): 3 steps" in failure.text
    assert cases(root)["never_bad"].get("line") == str(def_line(SYMBOLIC, "never_bad"))


def test_bmc_skips_a_recoverability_property_it_cannot_check(tmp_path):
    spec = tmp_path / "withrecover.py"
    spec.write_text(
        "from typing import Annotated\n"
        "from modelcheck import Spec, State, action, invariant, recoverable\n"
        "from modelcheck.symbolic import Range\n"
        "class S(State):\n"
        "    v: Annotated[int, Range(0, 3)]\n"
        "class Loop(Spec):\n"
        "    def initial_states(self):\n"
        "        return S(0)\n"
        "    @action\n"
        "    def step(self, s):\n"
        "        return s.replace(v=s.v + 1) if s.v < 3 else None\n"
        "    @invariant\n"
        "    def small(self, s):\n"
        "        return s.v <= 3\n"
        "    @recoverable\n"
        "    def back_to_zero(self, s):\n"
        "        return s.v == 0\n",
        encoding="utf-8",
    )
    code, root = junit(tmp_path, "bmc", spec, "--depth", "4")
    assert code == 0
    assert outcome(cases(root)["small"]) == "passed"
    skipped = cases(root)["back_to_zero"].find("skipped")
    assert "modelcheck check" in skipped.get("message")


def test_prove_that_cannot_prove_is_an_error_with_the_counterexample_to_induction(tmp_path):
    code, root = junit(tmp_path, "prove", f"{SYMBOLIC}:TwoProcessLock")
    assert code == 3
    error = cases(root)["mutual_exclusion"].find("error")
    assert error.get("type") == "incomplete"
    assert "Counterexample to induction" in error.text


def test_prove_that_proves_passes(tmp_path):
    code, root = junit(tmp_path, "prove", f"{SYMBOLIC}:LockWithLemma")
    assert code == 0
    assert outcome(cases(root)["mutual_exclusion"]) == "passed"


# --- what XML cannot carry, and bad paths -----------------------------------------------------


def test_control_characters_in_state_values_are_escaped_so_the_file_stays_xml(tmp_path):
    spec = tmp_path / "nul.py"
    spec.write_text(
        "from modelcheck import Spec, State, action, invariant\n"
        "class S(State):\n"
        "    text: str\n"
        "class Nul(Spec):\n"
        "    def initial_states(self):\n"
        "        return S('')\n"
        "    @action\n"
        "    def write(self, s):\n"
        "        return S('a\\0b') if s.text == '' else None\n"
        "    @invariant\n"
        "    def no_nul(self, s):\n"
        "        return '\\0' not in s.text\n",
        encoding="utf-8",
    )
    code, root = junit(tmp_path, "check", spec)  # ET.parse fails on a raw NUL
    assert code == 1
    assert "\\x00" in cases(root)["no_nul"].find("failure").text


def test_xml_safe_escapes_only_what_xml_forbids():
    assert xml_safe("a\x00b\x1fc\td\ne\rf→") == "a\\x00b\\x1fc\td\ne\rf→"


@pytest.mark.parametrize("command", ["check", "simulate"])
def test_a_folder_given_to_junit_is_refused_before_the_search(tmp_path, command):
    result = run(command, COUNTER, "--junit", tmp_path)
    assert result.exit_code == 2
    assert "--junit" in result.stderr and "is a folder" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_junit_file_is_written_atomically_through_the_shared_writer(tmp_path, monkeypatch):
    import modelcheck.cli.common

    written = []
    real = modelcheck.cli.common.write_text_atomic
    monkeypatch.setattr(
        modelcheck.cli.common,
        "write_text_atomic",
        lambda path, text: (written.append(Path(path)), real(path, text)),
    )
    report = tmp_path / "deep" / "r.xml"
    assert run("check", COUNTER, "-p", "n=2", "--junit", report).exit_code == 0
    assert written == [report]
    assert report.read_text(encoding="utf-8").startswith('<?xml version="1.0"')
