"""Traces: the versioned JSON format, its validation, value encoding, and replay."""

from __future__ import annotations

import json
import os
import stat

import pytest
from toy_specs import Color, Count, Counter, Inner, PathGraph, RichValues, TwoProcessLock

from modelcheck import (
    ModelcheckError,
    Step,
    Trace,
    TraceFormatError,
    check,
    compile_spec,
    load_trace,
    replay,
    save_trace,
)
from modelcheck.trace import SCHEMA_VERSION, decode_value, encode_value, trace_to_json


def counterexample(spec, prop):
    return check(spec).verdict(prop).counterexample


@pytest.fixture
def lock_trace(tmp_path):
    trace = counterexample(TwoProcessLock(broken=True), "mutual_exclusion")
    path = tmp_path / "mutex.json"
    save_trace(trace, path)
    return trace, path


def write(tmp_path, data, name="t.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


# --- the format ------------------------------------------------------------------------------


def test_a_saved_trace_names_its_format_schema_version_spec_and_property(lock_trace):
    _, path = lock_trace
    data = json.loads(path.read_text())
    assert data["format"] == "modelcheck-trace"
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert data["spec"] == {"name": "TwoProcessLock", "parameters": {"broken": True}}
    assert data["property"]["name"] == "mutual_exclusion"
    assert data["property"]["kind"] == "invariant"
    assert data["initial"] == {"pc": ["think", "think"], "owner": -1}
    assert len(data["steps"]) == 4
    assert set(data["steps"][0]) >= {"action", "args", "state"}


def test_a_trace_survives_a_json_round_trip_unchanged(lock_trace, tmp_path):
    trace, path = lock_trace
    loaded = load_trace(path)
    assert len(loaded) == len(trace)
    assert [s.label for s in loaded] == [s.label for s in trace]
    assert loaded.initial == trace.initial.to_dict()
    assert loaded.final == trace.final.to_dict()
    assert (loaded.spec, loaded.violates, loaded.kind, loaded.reason) == (
        trace.spec,
        trace.violates,
        trace.kind,
        trace.reason,
    )
    again = tmp_path / "again.json"
    save_trace(loaded, again)
    assert json.loads(again.read_text()) == json.loads(path.read_text())


def test_enums_sets_tuples_and_nested_states_survive_a_round_trip(tmp_path):
    trace = counterexample(RichValues(), "stays_red")
    path = tmp_path / "rich.json"
    save_trace(trace, path)
    loaded = load_trace(path)
    assert loaded.final["tags"] == frozenset({"alpha", "beta", "gamma"})
    assert loaded.final["pair"] == (2, 1)
    assert loaded.final["inner"] == {"x": 1, "y": 0}
    assert repr(loaded.final["color"]) == "Color.GREEN"
    save_trace(loaded, tmp_path / "again.json")
    assert (tmp_path / "again.json").read_text() == path.read_text()


def test_saving_leaves_no_temporary_file_behind(lock_trace):
    _, path = lock_trace
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_a_saved_trace_gets_the_umask_permissions_not_the_private_temporary_ones(lock_trace):
    _, path = lock_trace
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_a_failed_save_names_the_file_asked_for_not_the_temporary_one(lock_trace, tmp_path):
    trace, _ = lock_trace
    target = tmp_path / "folder"
    target.mkdir()  # os.replace cannot put a file where a folder is
    with pytest.raises(OSError) as info:
        save_trace(trace, target)
    assert info.value.filename == str(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "mutex.json"]
    assert list(target.iterdir()) == []


def test_a_trace_without_a_property_has_a_null_property():
    trace = Trace(Count(0), (Step("inc", (), Count(1)),), spec="Counter")
    data = trace_to_json(trace)
    assert data["property"] is None
    assert data["steps"][0]["state"] == {"value": 1}


# --- value encoding ----------------------------------------------------------------------------


def test_encode_frozenset_is_tagged_and_sorted_whatever_the_insertion_order():
    assert encode_value(frozenset({3, 1, 2})) == {"$set": [1, 2, 3]}
    assert encode_value(frozenset({"b", "a"})) == {"$set": ["a", "b"]}
    assert encode_value(frozenset()) == {"$set": []}


def test_encode_tuple_is_a_list_and_nests():
    assert encode_value((1, (2, "x"), frozenset({0}))) == [1, [2, "x"], {"$set": [0]}]


def test_encode_enum_names_class_and_member():
    assert encode_value(Color.RED) == {"$enum": "Color.RED"}


def test_encode_nested_state_names_its_class_and_fields():
    assert encode_value(Inner(1, 2)) == {"$state": "Inner", "fields": {"x": 1, "y": 2}}


def test_encode_scalars_are_themselves_and_unknown_objects_are_a_readable_repr():
    for value in (None, True, 3, 2.5, "Idle"):
        assert encode_value(value) == value
    assert encode_value(b"x") == {"$repr": "b'x'"}


def test_decode_inverts_encode_for_plain_values():
    value = (1, frozenset({"a", "b"}), ("x", (2,)))
    assert decode_value(json.loads(json.dumps(encode_value(value))), "here") == value


def test_decode_never_builds_objects_from_a_repr():
    decoded = decode_value({"$repr": "__import__('os').system('false')"}, "here")
    assert repr(decoded) == "__import__('os').system('false')"
    assert not isinstance(decoded, int)


def test_decode_rejects_an_unknown_tag_naming_where():
    with pytest.raises(TraceFormatError, match=r"step 3: cannot decode"):
        decode_value({"$pickle": "gASV"}, "step 3")


# --- malformed files -------------------------------------------------------------------------


def test_a_missing_trace_file_is_a_trace_format_error(tmp_path):
    with pytest.raises(TraceFormatError, match="no such trace file"):
        load_trace(tmp_path / "absent.json")


def test_a_folder_is_not_a_trace_file(tmp_path):
    with pytest.raises(TraceFormatError, match="cannot read"):
        load_trace(tmp_path)


def test_a_file_that_is_not_json_says_where_the_json_breaks(tmp_path):
    path = write(tmp_path, "{\n  'format': oops\n}")
    with pytest.raises(TraceFormatError, match=r"not valid JSON .*line 2") as info:
        load_trace(path)
    assert isinstance(info.value, ValueError) and isinstance(info.value, ModelcheckError)


def test_a_binary_file_is_a_trace_format_error(tmp_path):
    path = tmp_path / "t.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TraceFormatError):
        load_trace(path)


def test_a_json_document_that_is_not_an_object_is_refused(tmp_path):
    with pytest.raises(TraceFormatError, match="expected a JSON object, got list"):
        load_trace(write(tmp_path, [1, 2]))


def test_a_json_object_of_another_format_is_refused_naming_the_expected_one(tmp_path):
    with pytest.raises(TraceFormatError, match=r"not a modelcheck trace.*'modelcheck-trace'"):
        load_trace(write(tmp_path, {"format": "something-else"}))


def _valid(lock_path):
    return json.loads(lock_path.read_text())


@pytest.mark.parametrize("version", [4, 0, "1", None, True])
def test_an_unsupported_schema_version_is_refused_naming_both_versions(
    lock_trace, tmp_path, version
):
    data = _valid(lock_trace[1])
    data["schema_version"] = version
    with pytest.raises(
        TraceFormatError, match=r"schema_version .* not supported.*version 1, 2 or 3"
    ):
        load_trace(write(tmp_path, data, "v.json"))


def test_a_missing_schema_version_is_refused(lock_trace, tmp_path):
    data = _valid(lock_trace[1])
    del data["schema_version"]
    with pytest.raises(TraceFormatError, match="schema_version None"):
        load_trace(write(tmp_path, data, "v.json"))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d.pop("steps"), '"steps" must be a list'),
        (lambda d: d.__setitem__("steps", {}), '"steps" must be a list'),
        (lambda d: d["steps"][1].pop("action"), r'step 2: each step needs an "action"'),
        (lambda d: d["steps"][0].__setitem__("args", [1]), r'step 1: "args" must be an object'),
        (lambda d: d["steps"][2].pop("state"), "step 3: a state must be a non-empty object"),
        (lambda d: d.pop("initial"), "initial state: a state must be"),
        (lambda d: d.__setitem__("property", "mutex"), '"property" must be null or an object'),
        (lambda d: d.__setitem__("spec", {"parameters": 3}), '"spec" must be an object'),
        (lambda d: d["spec"].__setitem__("name", 5), '"spec" must be an object with a "name"'),
        (lambda d: d["property"].__setitem__("kind", 5), '"property" must be null or an'),
        (
            lambda d: d["steps"][0]["state"].__setitem__("owner", {"$x": 1}),
            r"step 1.*cannot decode",
        ),
    ],
)
def test_a_damaged_trace_is_refused_saying_what_is_wrong(lock_trace, tmp_path, damage, message):
    data = _valid(lock_trace[1])
    damage(data)
    with pytest.raises(TraceFormatError, match=message):
        load_trace(write(tmp_path, data, "bad.json"))


# --- replay --------------------------------------------------------------------------------------


def test_replaying_a_saved_counterexample_is_legal_and_the_property_still_fails(lock_trace):
    _, path = lock_trace
    outcome = replay(compile_spec(TwoProcessLock(broken=True)), load_trace(path))
    assert outcome.legal
    assert outcome.steps_replayed == 4
    assert outcome.property_fails is True
    assert "mutual_exclusion fails at step 4" in outcome.message
    assert outcome.trace.final.pc == ("crit", "crit")  # real states, rebuilt by the spec


def test_replaying_against_the_fixed_spec_stops_where_the_fix_forbids_the_step(lock_trace):
    _, path = lock_trace
    outcome = replay(compile_spec(TwoProcessLock(broken=False)), load_trace(path))
    assert not outcome.legal
    # request, request, acquire are legal; the second acquire waits for the lock.
    assert outcome.steps_replayed == 3
    assert "step 4: acquire(p=1) is not enabled" in outcome.message
    assert "Likely cause: the spec runs with broken=False (the trace has True)" in outcome.message


def test_replaying_a_tampered_state_names_the_field_and_the_likely_cause(lock_trace, tmp_path):
    data = _valid(lock_trace[1])
    data["steps"][1]["state"]["owner"] = 7
    outcome = replay(compile_spec(TwoProcessLock(broken=True)), load_trace(write(tmp_path, data)))
    assert not outcome.legal
    assert outcome.steps_replayed == 1
    assert "step 2" in outcome.message
    assert "owner: trace has 7, spec gives -1" in outcome.message
    assert "not deterministic" in outcome.message


def test_replaying_an_unknown_action_names_the_spec_families(lock_trace, tmp_path):
    data = _valid(lock_trace[1])
    data["steps"][0]["action"] = "teleport"
    outcome = replay(compile_spec(TwoProcessLock(broken=True)), load_trace(write(tmp_path, data)))
    assert not outcome.legal and outcome.steps_replayed == 0
    assert "teleport(p=0) is not an action of TwoProcessLock" in outcome.message
    assert "request, acquire, release" in outcome.message


def test_replaying_with_other_parameters_reports_the_initial_state_mismatch(tmp_path):
    trace = counterexample(Counter(n=3, bad=2), "never_bad")
    path = tmp_path / "c.json"
    save_trace(trace, path)

    class Shifted(Counter):
        def initial_states(self):
            return Count(1)

    outcome = replay(compile_spec(Shifted(n=3, bad=2)), load_trace(path))
    assert not outcome.legal and outcome.steps_replayed == 0
    assert "initial state" in outcome.message
    assert "value: trace has 0, spec gives 1" in outcome.message


def test_replaying_a_terminal_counterexample_checks_the_last_state_is_a_deadlock(tmp_path):
    path = tmp_path / "t.json"
    save_trace(counterexample(PathGraph(), "stuck_only_at_d"), path)
    outcome = replay(compile_spec(PathGraph()), load_trace(path))
    assert outcome.legal and outcome.property_fails
    escape = PathGraph(paths=(*PathGraph().paths, ("x", "a")))
    fixed = replay(compile_spec(escape), load_trace(path))
    assert fixed.legal and fixed.property_fails is False
    assert "not a deadlock" in fixed.message


def test_replaying_a_trace_with_enums_and_nested_states_is_legal(tmp_path):
    path = tmp_path / "rich.json"
    save_trace(counterexample(RichValues(), "stays_red"), path)
    outcome = replay(compile_spec(RichValues()), load_trace(path))
    assert outcome.legal, outcome.message
    assert outcome.property_fails is True


def test_replaying_a_plain_run_without_a_property_only_checks_legality():
    trace = Trace({"value": 0}, (Step("inc", (), {"value": 1}),), spec="Counter")
    outcome = replay(compile_spec(Counter()), trace)
    assert outcome.legal and outcome.property_fails is None
    assert outcome.message == "the trace is a legal run"


def test_replaying_arguments_outside_the_domain_says_which_members_exist(lock_trace, tmp_path):
    data = _valid(lock_trace[1])
    data["steps"][0]["args"] = {"p": 5}
    outcome = replay(compile_spec(TwoProcessLock(broken=True)), load_trace(write(tmp_path, data)))
    assert not outcome.legal and outcome.steps_replayed == 0
    assert "request(p=5) is not one of TwoProcessLock's request actions" in outcome.message
    assert "request(p=0), request(p=1)" in outcome.message
