"""The command line through typer's test runner: exit codes, messages, files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelcheck.cli import app

TESTS = Path(__file__).resolve().parent
TOYS = TESTS / "toy_specs.py"
COUNTER = f"{TOYS}:Counter"
LOCK = f"{TOYS}:TwoProcessLock"

runner = CliRunner()


def run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    # Never a Python traceback, whatever happened.
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def spec_file(tmp_path, source, name="myspec.py"):
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    return path


# --- check: exit codes ------------------------------------------------------------------------


def test_check_exits_0_when_every_property_holds():
    result = run("check", COUNTER, "-p", "n=4")
    assert result.exit_code == 0
    assert "explored 5 distinct states, 4 transitions, depth 4" in result.stdout
    assert "result=holds states=5" in result.stdout


def test_check_exits_1_and_prints_the_counterexample_when_a_property_fails():
    result = run("check", COUNTER, "-p", "n=4", "-p", "bad=2")
    assert result.exit_code == 1
    assert "Counterexample to never_bad (invariant): 2 steps" in result.stdout
    assert "violated=never_bad" in result.stdout


def test_check_exits_2_for_an_unknown_parameter_with_a_suggestion():
    result = run("check", COUNTER, "-p", "nn=4")
    assert result.exit_code == 2
    assert "no parameter 'nn'" in result.stderr
    assert "Did you mean 'n'" in result.stderr
    assert result.stdout == ""


def test_check_exits_3_when_a_limit_stops_the_search():
    result = run("check", COUNTER, "-p", "n=1000", "--max-states", "10")
    assert result.exit_code == 3
    assert "complete=false" in result.stdout
    assert "holds" not in result.stdout.split("result=")[0].split("verdict")[1]


def test_check_max_depth_is_incomplete_and_stop_at_first_stops_early():
    assert run("check", COUNTER, "-p", "n=50", "--max-depth", "3").exit_code == 3
    result = run("check", f"{TOYS}:PathGraph", "--stop-at-first", "-q")
    assert result.exit_code == 1
    assert "stopped by first_violation" in result.stdout


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("broken=maybe", "broken is a bool; write true or false"),
        ("broken", "expected name=value"),
    ],
)
def test_bad_bool_values_exit_2_with_a_clear_message(assignment, message):
    result = run("check", LOCK, "-p", assignment)
    assert result.exit_code == 2
    assert message in result.stderr


@pytest.mark.parametrize("text", ["true", "True", "yes", "1", "on"])
def test_bool_parameters_accept_the_usual_spellings(text):
    result = run("check", LOCK, "-p", f"broken={text}", "-q")
    assert result.exit_code == 1  # the broken lock fails mutual exclusion
    assert "broken=True" in result.stdout


def test_bad_int_values_exit_2_with_a_clear_message():
    result = run("check", COUNTER, "-p", "n=four")
    assert result.exit_code == 2
    assert "n is an int; write a whole number" in result.stderr


def test_an_unknown_spec_class_exits_2_listing_the_specs_in_the_file():
    result = run("check", f"{TOYS}:Countr")
    assert result.exit_code == 2
    assert "no spec class 'Countr'" in result.stderr
    assert "Did you mean 'Counter'" in result.stderr


def test_a_file_with_several_specs_needs_a_class_name():
    result = run("check", TOYS)
    assert result.exit_code == 2
    assert "several specs" in result.stderr and ":ClassName" in result.stderr


def test_a_path_alone_works_for_a_file_with_one_spec(dns_race_path):
    result = run("check", dns_race_path, "-p", "check_at_apply=true", "-q")
    assert result.exit_code == 0
    assert "explored 561 distinct states" in result.stdout


def test_a_missing_spec_file_exits_2():
    result = run("check", "no/such/file.py")
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_a_spec_file_that_raises_on_import_exits_2_with_the_error(tmp_path):
    path = spec_file(tmp_path, "import modelcheck\nraise RuntimeError('config missing')\n")
    result = run("check", path)
    assert result.exit_code == 2
    assert "importing the file raised RuntimeError: config missing" in result.stderr


def test_a_spec_file_with_a_syntax_error_exits_2_with_the_line(tmp_path):
    path = spec_file(tmp_path, "x = 1\ndef broken(:\n")
    result = run("check", path)
    assert result.exit_code == 2
    assert "myspec.py:2: syntax error" in result.stderr


def test_a_spec_whose_action_raises_exits_2_with_the_trace(tmp_path):
    result = run("check", COUNTER, "-p", "explode_at=2")
    assert result.exit_code == 2
    assert "Counter.inc raised ZeroDivisionError: boom" in result.stderr
    assert "The run that reached the failing state" in result.stderr
    assert "Trace: 2 steps" in result.stderr


def test_ctrl_c_outside_the_search_exits_3_with_one_line_and_no_traceback(tmp_path):
    source = """
from modelcheck import Spec, action


class SlowToStart(Spec):
    def initial_states(self):
        raise KeyboardInterrupt  # as if Ctrl-C came while the spec was being set up

    @action
    def step(self, s):
        return None
"""
    result = run("check", spec_file(tmp_path, source), "-q")
    assert result.exit_code == 3
    assert result.stderr.startswith("interrupted: stopped before the command finished")
    assert result.stdout == ""


def test_a_spec_file_that_calls_sys_exit_on_import_exits_2_not_with_its_code(tmp_path):
    result = run("check", spec_file(tmp_path, "import sys\nsys.exit(0)\n"))
    assert result.exit_code == 2
    assert "importing the file called sys.exit(0)" in result.stderr


def test_a_binary_file_named_py_exits_2_without_a_none_line_number(tmp_path):
    path = tmp_path / "binary.py"
    path.write_bytes(b"\x7fELF\x00\x01")
    result = run("check", path)
    assert result.exit_code == 2
    assert "syntax error" in result.stderr and ":None" not in result.stderr


PARAMETER_KINDS = """
import enum
from typing import Literal

from modelcheck import Spec, State, action


class Mode(enum.Enum):
    FAST = 1
    SLOW = 2


class S(State):
    x: int


class Kinds(Spec):
    names: tuple = ("a", "b")
    mode: Mode = Mode.FAST
    side: Literal["left", "right"] = "left"

    def initial_states(self):
        return S(0)

    @action
    def a(self, s):
        return None
"""


def test_p_parses_enums_by_name_and_literals_by_value(tmp_path):
    result = run(
        "check", spec_file(tmp_path, PARAMETER_KINDS), "-p", "mode=SLOW", "-p", "side=right"
    )
    assert result.exit_code == 0
    assert "Kinds(names=('a', 'b'), mode=<Mode.SLOW: 2>, side='right')" in result.stdout
    result = run("check", spec_file(tmp_path, PARAMETER_KINDS), "-p", "mode=SLOWER")
    assert (
        result.exit_code == 2 and "write one of FAST, SLOW. Did you mean 'SLOW'?" in result.stderr
    )


def test_p_refuses_a_parameter_type_it_cannot_parse_instead_of_passing_a_string(tmp_path):
    result = run("check", spec_file(tmp_path, PARAMETER_KINDS), "-p", "names=x,y")
    assert result.exit_code == 2
    assert "names is a tuple, which -p cannot set" in result.stderr


def test_an_unknown_property_exits_2_with_a_suggestion():
    result = run("check", COUNTER, "--property", "never_bda")
    assert result.exit_code == 2
    assert "Did you mean 'never_bad'" in result.stderr


def test_only_the_selected_property_is_checked():
    result = run("check", COUNTER, "-p", "bad=1", "--property", "goes_up_by_one")
    assert result.exit_code == 0
    assert "never_bad" not in result.stdout


# --- check: output files ----------------------------------------------------------------------


def test_json_and_trace_dir_write_parseable_files(tmp_path):
    out = tmp_path / "out" / "result.json"
    traces = tmp_path / "traces"
    result = run("check", LOCK, "-p", "broken=true", "--json", out, "--trace-dir", traces, "-q")
    assert result.exit_code == 1
    data = json.loads(out.read_text())
    assert data["format"] == "modelcheck-result"
    assert data["exit_code"] == 1 and data["outcome"] == "violated"
    assert data["statistics"]["states"] == 14
    verdicts = {v["property"]: v for v in data["verdicts"]}
    assert verdicts["mutual_exclusion"]["status"] == "violated"
    assert len(verdicts["mutual_exclusion"]["counterexample"]["steps"]) == 4
    assert verdicts["no_deadlock"]["counterexample"] is None
    assert sorted(p.name for p in traces.iterdir()) == ["mutual_exclusion.json"]
    trace = json.loads((traces / "mutual_exclusion.json").read_text())
    assert trace["format"] == "modelcheck-trace" and len(trace["steps"]) == 4


def test_json_naming_a_folder_exits_2_before_the_search_saying_to_give_a_file(tmp_path):
    result = run("check", LOCK, "-q", "--json", tmp_path)
    assert result.exit_code == 2
    assert f"--json {tmp_path}: is a folder; give the name of a file to write." in result.stderr
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("option", ["--json", "--html", "--trace-dir"])
def test_an_output_path_where_no_file_can_be_created_exits_2_before_the_search(option):
    result = run("check", LOCK, "-q", option, "/proc/modelcheck-out")
    assert result.exit_code == 2
    assert f"{option} /proc/modelcheck-out: cannot create files in /proc" in result.stderr
    assert "choose a folder you can write to" in result.stderr
    assert result.stdout == ""


def test_a_trace_dir_under_a_regular_file_exits_2_naming_the_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for command in ("check", "simulate"):
        result = run(command, LOCK, "-q", "--trace-dir", blocker / "traces")
        assert result.exit_code == 2
        assert f"{blocker} is not a folder but a file" in result.stderr


def test_format_json_prints_the_result_on_stdout():
    result = run("check", COUNTER, "-p", "n=2", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["statistics"]["states"] == 3


def test_an_unknown_output_format_exits_2():
    result = run("check", COUNTER, "--format", "yaml")
    assert result.exit_code == 2
    assert "unknown format" in result.stderr


def test_quiet_leaves_out_the_trace_tables():
    result = run("check", COUNTER, "-p", "bad=2", "-q")
    assert result.exit_code == 1
    assert "Counterexample to" not in result.stdout
    assert "VIOLATED" in result.stdout


# --- list -----------------------------------------------------------------------------------


def test_list_shows_each_spec_with_parameters_defaults_actions_and_properties():
    result = run("list", TOYS)
    assert result.exit_code == 0
    out = result.stdout
    assert "Counter: Counts 0, 1, ..., n and stops." in out
    assert "    n: int = 5" in out
    assert "    broken: bool = False" in out
    assert "    never_bad (invariant): The counter never shows the forbidden value." in out
    assert "    recovers_automatically (recoverable)" in out


def test_list_of_a_file_without_specs_exits_2(tmp_path):
    result = run("list", spec_file(tmp_path, "x = 1\n"))
    assert result.exit_code == 2
    assert "defines no spec" in result.stderr


# --- show and replay --------------------------------------------------------------------------


@pytest.fixture
def saved_lock_trace(tmp_path):
    traces = tmp_path / "traces"
    run("check", LOCK, "-p", "broken=true", "--trace-dir", traces, "-q")
    return traces / "mutual_exclusion.json"


def test_show_prints_a_saved_trace_as_a_table(saved_lock_trace):
    result = run("show", saved_lock_trace)
    assert result.exit_code == 0
    assert result.stdout.startswith("TwoProcessLock(broken=True)\n")
    assert "     4  acquire(p=1)  pc[1]: wait → crit, owner: 0 → 1" in result.stdout


def test_show_of_a_malformed_file_exits_2_with_a_clear_message(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    result = run("show", bad)
    assert result.exit_code == 2
    assert "not valid JSON" in result.stderr
    result = run("show", tmp_path / "absent.json")
    assert result.exit_code == 2
    assert "no such trace file" in result.stderr


def test_replay_exits_1_when_the_trace_is_legal_and_the_property_still_fails(saved_lock_trace):
    result = run("replay", LOCK, saved_lock_trace)
    assert result.exit_code == 1
    assert "replayed 4 steps" in result.stdout
    assert "mutual_exclusion fails at step 4" in result.stdout


@pytest.mark.parametrize("recorded", ["true", [1], 2.5, None])
def test_replay_refuses_a_recorded_parameter_of_the_wrong_type_instead_of_dropping_it(
    saved_lock_trace, recorded
):
    data = json.loads(saved_lock_trace.read_text())
    data["spec"]["parameters"]["broken"] = recorded
    saved_lock_trace.write_text(json.dumps(data))
    for command in ("replay", "explain"):
        result = run(command, LOCK, saved_lock_trace)
        assert result.exit_code == 2
        assert "it records broken=" in result.stderr and "not a valid bool" in result.stderr
        assert "-p broken=VALUE" in result.stderr
    assert run("replay", LOCK, saved_lock_trace, "-p", "broken=true").exit_code == 1


def test_replaying_a_trace_of_another_spec_says_which_spec_made_it(saved_lock_trace):
    result = run("replay", COUNTER, saved_lock_trace)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1  # one paragraph, no separate warning
    assert "the trace was made by TwoProcessLock, not Counter" in result.stderr
    assert "PATH:TwoProcessLock" in result.stderr


def test_replay_exits_2_when_the_trace_is_not_a_legal_run(saved_lock_trace):
    result = run("replay", LOCK, saved_lock_trace, "-p", "broken=false")
    assert result.exit_code == 2
    assert "replay failed after 3 legal steps" in result.stderr
    assert "acquire(p=1) is not enabled" in result.stderr


def test_replay_exits_0_when_the_trace_is_legal_and_the_property_now_holds(tmp_path):
    traces = tmp_path / "t"
    run("check", COUNTER, "-p", "bad=2", "--trace-dir", traces, "-q")
    result = run("replay", COUNTER, traces / "never_bad.json", "-p", "bad=3")
    assert result.exit_code == 0
    assert "does not fail" in result.stdout


def test_replay_of_a_malformed_trace_exits_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "modelcheck-trace", "schema_version": 99}))
    result = run("replay", COUNTER, bad)
    assert result.exit_code == 2
    assert "schema_version 99 is not supported" in result.stderr


def test_no_arguments_shows_help():
    result = runner.invoke(app, [])
    assert "check" in result.output and "replay" in result.output


def test_version_prints_the_package_version():
    import modelcheck

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"modelcheck {modelcheck.__version__}"


def test_an_unexpected_exception_is_an_internal_error_with_exit_2_not_a_verdict(
    tmp_path, monkeypatch
):
    import modelcheck.cli.check_cmd as check_cmd

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the engine")

    monkeypatch.setattr(check_cmd, "check", broken)
    spec = TESTS.parent / "specs" / "dns_race.py"
    result = CliRunner().invoke(app, ["check", str(spec), "-q"])
    assert result.exit_code == 2
    assert "internal error: RuntimeError: a bug in the engine" in result.stderr
    assert "Traceback" not in result.output
