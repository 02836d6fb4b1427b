"""SARIF 2.1.0 reports (``--sarif FILE``), validated against the official schema.

``tests/schemas/sarif-schema-2.1.0.json`` is the OASIS SARIF 2.1.0 (errata 01)
JSON schema, shipped so that validation needs no network.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelcheck.cli import app

jsonschema = pytest.importorskip("jsonschema", reason="pip install -e '.[test]' for jsonschema")

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SCHEMA_FILE = TESTS / "schemas" / "sarif-schema-2.1.0.json"
TOYS = TESTS / "toy_specs.py"
SYMBOLIC = TESTS / "symbolic_toys.py"
DNS = ROOT / "specs" / "dns_race.py"
COUNTER = f"{TOYS}:Counter"

runner = CliRunner()


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def sarif(tmp_path: Path, validator, *args, cwd: Path = ROOT) -> tuple[int, dict]:
    """Run a command with ``--sarif``, from ``cwd``; the exit code and the validated log."""
    report = tmp_path / "report.sarif"
    import os

    here = os.getcwd()
    os.chdir(cwd)
    try:
        result = runner.invoke(app, [*(str(a) for a in args), "--sarif", str(report)])
    finally:
        os.chdir(here)
    assert "Traceback" not in result.output + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    log = json.loads(report.read_text(encoding="utf-8"))
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
    return result.exit_code, log


def def_line(path: Path, name: str, within: str = "") -> int:
    """The line of ``def name(`` in ``path`` (after ``class within``), found by reading the text."""
    inside = not within
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        inside = inside or text.startswith(f"class {within}(")
        if inside and re.match(rf"\s*def {name}\(", text):
            return number
    raise AssertionError(f"no def {name} in {path}")


def physical(location: dict) -> tuple[str, str | None, int]:
    where = location["physicalLocation"]
    artifact = where["artifactLocation"]
    return artifact["uri"], artifact.get("uriBaseId"), where["region"]["startLine"]


# --- the schema itself --------------------------------------------------------------------------


def test_the_shipped_schema_is_the_sarif_2_1_0_schema():
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    assert schema["id"].endswith("/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]
    assert {"result", "codeFlow", "threadFlowLocation", "physicalLocation"} <= set(
        schema["definitions"]
    )


def test_the_validator_rejects_what_sarif_does_not_allow(validator):
    minimal = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}}]}
    assert validator.is_valid(minimal)
    assert not validator.is_valid({"version": "2.0.0", "runs": []})
    bad_result = {"ruleId": "p", "message": {"text": "m"}, "level": "fatal"}
    assert not validator.is_valid(
        {**minimal, "runs": [{**minimal["runs"][0], "results": [bad_result]}]}
    )
    bad_region = {"startLine": 0}
    location = {"physicalLocation": {"artifactLocation": {"uri": "a.py"}, "region": bad_region}}
    result = {"message": {"text": "m"}, "locations": [location]}
    assert not validator.is_valid(
        {**minimal, "runs": [{**minimal["runs"][0], "results": [result]}]}
    )


# --- results ------------------------------------------------------------------------------------


def test_every_violated_property_of_dns_race_is_one_result_at_its_def_line(tmp_path, validator):
    code, log = sarif(tmp_path, validator, "check", DNS, "-q")
    assert code == 1
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert run["tool"]["driver"]["name"] == "modelcheck"
    names = [
        "active_plan_never_deleted",
        "applied_generation_monotonic",
        "always_recoverable",
        "no_unexpected_deadlock",
    ]
    assert [r["ruleId"] for r in run["results"]] == names
    for result in run["results"]:
        assert result["level"] == "error"
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        (location,) = result["locations"]
        assert physical(location) == (
            "specs/dns_race.py",
            "SRCROOT",
            def_line(DNS, result["ruleId"]),
        )
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == ROOT.as_uri() + "/"
    assert run["invocations"] == [{"executionSuccessful": True, "exitCode": 1}]


def test_a_rule_describes_its_property_with_its_docstring_and_kind(tmp_path, validator):
    _, log = sarif(tmp_path, validator, "check", COUNTER, "-p", "n=3")
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert list(rules) == ["never_bad", "goes_up_by_one", "stops_only_at_n", "can_reach_n"]
    assert rules["never_bad"]["shortDescription"]["text"] == (
        "The counter never shows the forbidden value."
    )
    assert rules["goes_up_by_one"]["properties"]["kind"] == "action"


def test_the_message_gives_the_reason_and_the_length_of_the_counterexample(tmp_path, validator):
    _, log = sarif(tmp_path, validator, "check", COUNTER, "-p", "n=4", "-p", "bad=2")
    (result,) = log["runs"][0]["results"]
    text = result["message"]["text"]
    assert "never_bad" in text and "2 steps" in text and "invariant" in text


def test_no_violation_means_no_result(tmp_path, validator):
    code, log = sarif(tmp_path, validator, "check", COUNTER, "-p", "n=3")
    assert code == 0
    assert log["runs"][0]["results"] == []


# --- the counterexample as a code flow ----------------------------------------------------------


def test_the_trace_is_a_code_flow_whose_steps_point_at_each_action_def(tmp_path, validator):
    code, log = sarif(
        tmp_path, validator, "check", f"{TOYS}:TwoProcessLock", "-p", "broken=true", "-q"
    )
    assert code == 1
    result = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "mutual_exclusion")
    (flow,) = result["codeFlows"]
    (thread,) = flow["threadFlows"]
    steps = thread["locations"]
    # The initial state, the 4 steps (request, request, acquire, acquire), the property.
    assert len(steps) == 1 + 4 + 1
    assert physical(steps[0]["location"])[2] == def_line(TOYS, "initial_states", "TwoProcessLock")
    actions = [
        re.search(r"step \d+: (\w+)\(", s["location"]["message"]["text"]).group(1)
        for s in steps[1:-1]
    ]
    assert sorted(actions) == ["acquire", "acquire", "request", "request"]
    for step, action in zip(steps[1:-1], actions, strict=True):
        assert physical(step["location"]) == (
            "tests/toy_specs.py",
            "SRCROOT",
            def_line(TOYS, action, "TwoProcessLock"),
        )
    assert "by P" in steps[1]["location"]["message"]["text"]  # the actor of the step
    last = steps[-1]
    assert physical(last["location"])[2] == def_line(TOYS, "mutual_exclusion", "TwoProcessLock")
    assert "mutual_exclusion fails here" in last["location"]["message"]["text"]
    assert [s["executionOrder"] for s in steps] == list(range(len(steps)))
    # Every state is attached to its step, field by field.
    assert steps[-2]["state"]["pc"]["text"] == "(crit, crit)"


def test_bmc_and_simulate_counterexamples_become_code_flows_too(tmp_path, validator):
    code, log = sarif(tmp_path, validator, "bmc", f"{SYMBOLIC}:SymCounter", "-p", "bad=3")
    assert code == 1
    result = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "never_bad")
    assert len(result["codeFlows"][0]["threadFlows"][0]["locations"]) == 1 + 3 + 1
    assert log["runs"][0]["automationDetails"]["id"] == "modelcheck/bmc/SymCounter/"
    code, log = sarif(tmp_path, validator, "simulate", COUNTER, "--runs", "3", "-p", "bad=2")
    assert code == 1
    (result,) = log["runs"][0]["results"]
    assert len(result["codeFlows"][0]["threadFlows"][0]["locations"]) == 1 + 2 + 1


# --- incomplete runs -----------------------------------------------------------------------------


def test_an_incomplete_search_is_an_unsuccessful_run_with_a_warning_per_property(
    tmp_path, validator
):
    code, log = sarif(tmp_path, validator, "check", COUNTER, "-p", "n=10", "--max-states", "3")
    assert code == 3
    (run,) = log["runs"]
    assert run["results"] == []
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False and invocation["exitCode"] == 3
    notes = invocation["toolExecutionNotifications"]
    assert [n["associatedRule"]["id"] for n in notes] == [
        "never_bad",
        "goes_up_by_one",
        "stops_only_at_n",
        "can_reach_n",
    ]
    assert all(n["level"] == "warning" and "not decided" in n["message"]["text"] for n in notes)


def test_prove_that_cannot_prove_reports_no_result_but_says_what_is_undecided(tmp_path, validator):
    code, log = sarif(tmp_path, validator, "prove", f"{SYMBOLIC}:TwoProcessLock")
    assert code == 3
    (run,) = log["runs"]
    assert run["results"] == []  # a counterexample to induction is not a violation
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert note["associatedRule"]["id"] == "mutual_exclusion"


# --- paths ----------------------------------------------------------------------------------------


def test_a_spec_outside_the_current_folder_gets_an_absolute_file_uri(tmp_path, validator):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _, log = sarif(tmp_path, validator, "check", COUNTER, "-p", "n=4", "-p", "bad=1", cwd=elsewhere)
    (result,) = log["runs"][0]["results"]
    uri, base, line = physical(result["locations"][0])
    assert (uri, base, line) == (TOYS.as_uri(), None, def_line(TOYS, "never_bad"))


def test_a_folder_given_to_sarif_is_refused_before_the_search(tmp_path):
    result = runner.invoke(app, ["bmc", f"{SYMBOLIC}:SymCounter", "--sarif", str(tmp_path)])
    assert result.exit_code == 2
    assert "--sarif" in result.stderr and "is a folder" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_library_renderer_is_a_pure_function_of_the_result():
    import toy_specs

    from modelcheck import check, compile_spec
    from modelcheck.render.sarif import result_to_sarif
    from modelcheck.render.sources import spec_sources

    model = compile_spec(toy_specs.Counter(n=3, bad=2))
    result = check(toy_specs.Counter(n=3, bad=2))
    sources = spec_sources(model)
    first = result_to_sarif(result, sources, ROOT, "1.2.3")
    assert first == result_to_sarif(result, sources, ROOT, "1.2.3")
    assert first["runs"][0]["tool"]["driver"]["version"] == "1.2.3"
