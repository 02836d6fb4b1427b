"""Mermaid sequence diagrams of counterexamples, checked structurally."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from modelcheck import SpecError, check, compile_spec, load_trace, save_trace
from modelcheck.cli import app
from modelcheck.components import annotate_result, annotate_trace
from modelcheck.render.mermaid import result_to_mermaid, trace_to_mermaid
from modelcheck.trace import Step, Trace

sys.path.insert(0, str(Path(__file__).parent))
from diagram_toys import TwoWriters, TwoWritersUndeclared
from dns_race import DnsRace

ROOT = Path(__file__).resolve().parent.parent

_DECLARE = re.compile(r"^    (actor|participant) (P\d+) as ([^;#%\n]+)$")
# Message text: anything but a bare ';', '#' or '%' (written as #59;, #35; and #37;).
_TEXT = r"((?:[^;#%\n]|#\d+;)+)"
_MESSAGE = re.compile(r"^(?:    )+(P\d+)->>(P\d+): " + _TEXT + "$")
_NOTE = re.compile(r"^(?:    )+Note over (P\d+)(?:,(P\d+))?: " + _TEXT + "$")
_RECT = re.compile(r"^    rect rgb\(\d+, \d+, \d+\)$")


def parse(diagram: str) -> dict:
    """A strict reader of the subset of Mermaid the renderer writes; fails on anything else."""
    lines = diagram.rstrip("\n").split("\n")
    assert lines[0] == "sequenceDiagram"
    names: dict[str, str] = {}
    messages: list[tuple[str, str, str]] = []
    notes: list[tuple[list[str], str]] = []
    sections = 0
    inside = False
    for line in lines[1:]:
        if line.startswith("    %% "):
            assert not messages and not names, "the title comment comes first"
            continue
        if _RECT.match(line):
            assert not inside, "rect sections do not nest here"
            inside, sections = True, sections + 1
            continue
        if line == "    end":
            assert inside, "end without rect"
            inside = False
            continue
        assert line.startswith("        ") == inside, f"wrong indentation: {line!r}"
        if m := _DECLARE.match(line):
            assert not messages, "participants must be declared before the first message"
            assert m.group(2) not in names, f"{m.group(2)} declared twice"
            names[m.group(2)] = m.group(3)
        elif m := _MESSAGE.match(line):
            assert m.group(1) in names and m.group(2) in names, line
            messages.append((names[m.group(1)], names[m.group(2)], m.group(3)))
        elif m := _NOTE.match(line):
            over = [g for g in m.group(1, 2) if g]
            assert all(p in names for p in over), line
            notes.append(([names[p] for p in over], m.group(3)))
        else:
            raise AssertionError(f"not valid sequenceDiagram syntax: {line!r}")
    assert not inside, "rect without end"
    assert len(set(names.values())) == len(names), "two participants with one name"
    return {
        "participants": list(names.values()),
        "messages": messages,
        "notes": notes,
        "sections": sections,
    }


def counterexample(spec, prop: str) -> Trace:
    model = compile_spec(spec)
    trace = annotate_result(check(spec), model).verdict(prop).counterexample
    assert trace is not None
    return trace


def test_a_declared_component_gets_the_message_and_own_state_is_a_self_message():
    diagram = parse(trace_to_mermaid(counterexample(TwoWriters(), "cell_not_two")))
    assert diagram["participants"] == ["Worker 1", "Shared cell"]
    assert diagram["messages"] == [
        ("Worker 1", "Worker 1", "1 grab(w=1): pc[1]=busy"),
        ("Worker 1", "Shared cell", "2 write(w=1): cell=2, pc[1]=done"),
    ]
    assert diagram["notes"] == [(["Worker 1", "Shared cell"], "cell_not_two is false where cell=2")]


def test_undeclared_fields_default_to_one_component_each_and_per_process_tuples_to_actors():
    diagram = parse(trace_to_mermaid(counterexample(TwoWritersUndeclared(), "cell_not_two")))
    assert diagram["participants"] == ["Worker 1", "cell"]


def test_the_dns_race_counterexample_shows_the_stale_write_and_the_cleanup():
    diagram = parse(trace_to_mermaid(counterexample(DnsRace(), "active_plan_never_deleted")))
    assert diagram["participants"][:3] == ["Planner", "Enactor 0", "Enactor 1"]
    assert len(diagram["messages"]) == 10
    assert diagram["messages"][6] == ("Enactor 0", "DNS 0", "7 apply(e=0): dns[0]=2, next[0]=1")
    assert diagram["messages"][9][:2] == ("Enactor 1", "Plan store")
    ((_over, text),) = diagram["notes"]
    assert text.startswith("active_plan_never_deleted is false where")
    assert "applied=4" in text and "dns=(2, 4)" in text


def test_declared_dns_race_components_give_one_lifeline_per_endpoint():
    trace = counterexample(DnsRace(), "active_plan_never_deleted")
    diagram = parse(trace_to_mermaid(trace))
    assert diagram["participants"] == [
        "Planner",
        "Enactor 0",
        "Enactor 1",
        "Plan store",
        "DNS 0",
        "DNS 1",
        "Active plan",
    ]
    assert diagram["messages"][0] == ("Planner", "Plan store", "1 plan(): store={1, 2}, latest=2")
    assert diagram["messages"][6] == ("Enactor 0", "DNS 0", "7 apply(e=0): dns[0]=2, next[0]=1")


def test_mermaid_control_characters_in_values_are_escaped():
    trace = Trace(
        {"x": "a"},
        (Step("set", (), {"x": "b;c#d\ne<br>f"}, actor="Me"),),
        violates="p",
        kind="invariant",
        reason="x is b;c",
    )
    text = trace_to_mermaid(trace)
    parse(text)
    # The newline is shown as the escape \n (values with control characters are quoted).
    assert "x='b#59;c#35;d\\ne#60;br>f'" in text and "x is b#59;c" in text


def test_a_trace_with_no_step_still_draws_a_valid_diagram():
    trace = Trace({"x": 1}, (), spec="S", violates="p", kind="invariant", reason="bad")
    diagram = parse(trace_to_mermaid(trace))
    assert diagram["participants"] == ["S"] and diagram["notes"][0][0] == ["S"]


def test_components_naming_an_unknown_field_are_a_spec_error():
    class Typo(TwoWriters):
        components: ClassVar[dict[str, str]] = {"cel": "Shared cell"}

    with pytest.raises(SpecError, match=r"Typo.components names 'cel'.*Did you mean 'cell'"):
        compile_spec(Typo())


def test_a_per_position_pattern_on_a_scalar_field_is_a_spec_error():
    class Bad(TwoWriters):
        components: ClassVar[dict[str, str]] = {"cell": "Cell {}"}

    with pytest.raises(SpecError, match="not a tuple"):
        compile_spec(Bad())


def test_actors_and_components_survive_the_json_trace_format(tmp_path):
    trace = counterexample(TwoWriters(), "cell_not_two")
    save_trace(trace, tmp_path / "t.json")
    loaded = load_trace(tmp_path / "t.json")
    assert [s.actor for s in loaded.steps] == ["Worker 1", "Worker 1"]
    assert dict(loaded.components) == {"cell": "Shared cell", "pc": "Worker {}"}
    assert trace_to_mermaid(loaded) == trace_to_mermaid(trace)


def test_annotating_fills_actors_of_a_trace_saved_without_them(tmp_path):
    trace = counterexample(TwoWriters(), "cell_not_two")
    bare = Trace(trace.initial, tuple(Step(s.action, s.args, s.state) for s in trace.steps))
    again = annotate_trace(bare, compile_spec(TwoWriters()))
    assert [s.actor for s in again.steps] == ["Worker 1", "Worker 1"]


def test_show_and_check_print_the_same_diagram(tmp_path, dns_race_path):
    runner = CliRunner()
    checked = runner.invoke(
        app,
        [
            "check",
            str(dns_race_path),
            "-q",
            "--format",
            "mermaid",
            "--property",
            "active_plan_never_deleted",
            "--trace-dir",
            str(tmp_path),
        ],
    )
    assert checked.exit_code == 1, checked.output
    shown = runner.invoke(
        app, ["show", str(tmp_path / "active_plan_never_deleted.json"), "--format", "mermaid"]
    )
    assert shown.exit_code == 0
    assert shown.stdout.strip() == checked.stdout.strip()
    parse(shown.stdout)


def test_the_readme_diagram_is_the_one_the_tool_draws(dns_race_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- section:reading -->")[1].split("<!-- /section:reading -->")[0]
    block = section.split("```mermaid\n")[1].split("```")[0]
    drawn = trace_to_mermaid(counterexample(DnsRace(), "active_plan_never_deleted"))
    assert block == drawn, (
        "README's dns-race diagram is out of date; regenerate it with: modelcheck check "
        "specs/dns_race.py -q --format mermaid --property active_plan_never_deleted"
    )


def test_a_directive_in_a_value_is_escaped_so_mermaid_cannot_obey_it():
    trace = Trace(
        {"x": "a"},
        (Step("set", (), {"x": "%%{init: {'theme': 'dark'}}%%"}, actor="Me"),),
        violates="p",
        kind="invariant",
        reason="x is %%{init}%%",
    )
    text = trace_to_mermaid(trace)
    parse(text)
    assert "%%{" not in text and "#37;#37;{init" in text


def test_several_counterexamples_make_one_diagram_with_a_section_each():
    result = annotate_result(check(DnsRace()), compile_spec(DnsRace()))
    text = result_to_mermaid(result)
    assert text.count("sequenceDiagram") == 1
    diagram = parse(text)
    violated = [v for v in result.verdicts if v.counterexample is not None]
    assert diagram["sections"] == len(violated) == 4
    headings = [note for _, note in diagram["notes"] if note.startswith("counterexample to ")]
    assert headings == [
        f"counterexample to {v.property} ({v.kind}), {len(v.counterexample)} steps"
        for v in violated
    ]
    assert len(diagram["messages"]) == sum(len(v.counterexample) for v in violated)
    # Lifelines are shared: each name is declared once, in order of first appearance.
    assert diagram["participants"][:3] == ["Planner", "Enactor 0", "Enactor 1"]
