"""Which steps of a counterexample made its property fail (blame and ``modelcheck explain``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelcheck import ModelcheckError, check, compile_spec
from modelcheck.blame import blame
from modelcheck.cli import app
from modelcheck.trace import Trace

sys.path.insert(0, str(Path(__file__).parent))
from diagram_toys import TwoWriters
from dns_race import DnsRace


@pytest.fixture(scope="module")
def dns():
    spec = DnsRace()
    return compile_spec(spec), check(spec)


def test_the_dns_race_culprits_are_the_stale_write_and_the_cleanup(dns):
    model, result = dns
    b = blame(model, result.verdict("active_plan_never_deleted").counterexample)
    assert set(b.reads) == {"applied", "store", "dns"}
    assert [(c.step, c.action, c.field) for c in b.culprits] == [
        (7, "apply(e=0)", "dns[0]"),
        (10, "cleanup(e=1)", "store"),
    ]
    store = next(c for c in b.causes if c.field == "store")
    assert (store.previous, store.value) == ("{1, 2, 3, 4}", "{3, 4}")
    applied = next(c for c in b.causes if c.field == "applied")
    assert (applied.step, applied.culprit) == (9, False)


def test_an_action_property_blames_both_writes_of_the_endpoint(dns):
    model, result = dns
    b = blame(model, result.verdict("applied_generation_monotonic").counterexample)
    assert [(c.step, c.action) for c in b.culprits] == [(5, "apply(e=1)"), (6, "apply(e=0)")]


def test_recoverability_gets_the_table_but_no_verdict_per_step(dns):
    model, result = dns
    b = blame(model, result.verdict("always_recoverable").counterexample)
    assert b.causes and all(c.culprit is None for c in b.causes)


def test_a_value_from_the_initial_state_is_attributed_to_no_step():
    spec = TwoWriters()
    b = blame(compile_spec(spec), check(spec).verdict("cell_not_two").counterexample)
    assert [(c.field, c.step, c.culprit) for c in b.causes] == [("cell", 2, True)]


def test_a_plain_run_has_nothing_to_explain():
    model = compile_spec(TwoWriters())
    with pytest.raises(ModelcheckError, match="no violated property"):
        blame(model, Trace(model.initial_states[0]))


def run_explain(*args: str):
    return CliRunner().invoke(app, ["explain", *args])


@pytest.fixture(scope="module")
def saved(tmp_path_factory, dns_race_path_module):
    folder = tmp_path_factory.mktemp("traces")
    result = CliRunner().invoke(
        app, ["check", str(dns_race_path_module), "-q", "--trace-dir", str(folder)]
    )
    assert result.exit_code == 1
    return folder


@pytest.fixture(scope="module")
def dns_race_path_module() -> Path:
    return Path(__file__).resolve().parent.parent / "specs" / "dns_race.py"


def test_explain_prints_the_culprit_steps(saved, dns_race_path_module):
    result = run_explain(str(dns_race_path_module), str(saved / "active_plan_never_deleted.json"))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith(
        "active_plan_never_deleted (invariant) fails at the end of this 10-step trace:\n"
    )
    tail = out.split("Culprit steps")[1]
    assert tail == (
        " (undoing any one of them alone makes the property hold):\n"
        "  step   7  apply(e=0)   by Enactor 0: dns[0] 4 → 2\n"
        "  step  10  cleanup(e=1) by Enactor 1: store {1, 2, 3, 4} → {3, 4}\n"
    )


def test_explain_with_a_trace_of_another_parameterisation_says_it_does_not_replay(
    saved, dns_race_path_module
):
    result = run_explain(
        str(dns_race_path_module),
        str(saved / "active_plan_never_deleted.json"),
        "-p",
        "check_at_apply=true",
    )
    assert result.exit_code == 2
    assert "not a legal run" in result.stderr
    assert "the spec runs with check_at_apply=True (the trace has False)" in result.stderr
    assert ".." not in result.stderr


def test_explain_of_a_file_that_is_not_a_trace_exits_2(tmp_path, dns_race_path_module):
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"format": "something else"}))
    result = run_explain(str(dns_race_path_module), str(bad))
    assert result.exit_code == 2
    assert "not a modelcheck trace" in result.stderr


def test_explain_of_a_trace_where_the_property_now_holds_says_so(
    saved, dns_race_path_module, tmp_path
):
    # A shortest counterexample cut by one step is a legal run on which the
    # property holds; the file still names it as violated, with the old reason.
    data = json.loads((saved / "active_plan_never_deleted.json").read_text())
    data["steps"] = data["steps"][:-1]
    cut = tmp_path / "cut.json"
    cut.write_text(json.dumps(data))
    result = run_explain(str(dns_race_path_module), str(cut))
    assert result.exit_code == 2
    assert "nothing to explain: active_plan_never_deleted holds in the last state" in result.stderr
    assert "9-step trace" in result.stderr
    assert "Culprit" not in result.stdout and "fails" not in result.stdout


def test_explain_shows_the_reason_computed_now_not_the_one_in_the_file(
    saved, dns_race_path_module, tmp_path
):
    data = json.loads((saved / "active_plan_never_deleted.json").read_text())
    data["property"]["reason"] = "a stale reason from an older spec"
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps(data))
    result = run_explain(str(dns_race_path_module), str(stale))
    assert result.exit_code == 0, result.output
    assert "stale reason" not in result.stdout
    assert "active_plan_never_deleted is false where" in result.stdout
