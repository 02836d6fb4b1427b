"""The generated BFS loop (modelcheck/engines/expand.py) against a plain reference search.

The engine writes its hot loop as source per model and per option set; these
tests pin that every shape of that loop (one line per action, or a table when
there are many actions; with and without graph recording, action properties,
terminal checks, depth and state limits) explores exactly what a plain,
obviously correct BFS explores, and finds the same first violations.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from toy_specs import (
    BoundedQueue,
    Counter,
    InterruptedCounter,
    OperatorRepair,
    PathGraph,
    RandomWalk,
    TwoProcessLock,
)

from modelcheck import CheckOptions, SpecRuntimeError, compile_spec
from modelcheck.engines import bfs, expand
from modelcheck.model import Model
from modelcheck.render.json import result_to_json

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "specs"))
from dns_race import DnsRace


def reference_bfs(model: Model, max_depth: int | None = None) -> dict[str, object]:
    """A textbook BFS over ``Model.successors``: figures and each property's first bad depth."""
    depth_of = {s: 0 for s in model.initial_states}
    order = list(depth_of)
    transitions = 0
    first_bad: dict[str, int] = {}
    kinds = {p.name: p for p in model.properties}
    for s in order:
        d = depth_of[s]
        for name, prop in kinds.items():
            if prop.kind == "invariant" and name not in first_bad and not prop.check(s):
                first_bad[name] = d
        steps = model.successors(s)
        for _act, t in steps:
            transitions += 1  # every step from an expanded state, admitted or not
            if t not in depth_of:
                if max_depth is not None and d >= max_depth:
                    continue
                depth_of[t] = d + 1
                order.append(t)
            for name, prop in kinds.items():
                if prop.kind == "action" and name not in first_bad and not prop.check(s, t):
                    first_bad[name] = d + 1
        if not steps:
            for name, prop in kinds.items():
                if prop.kind == "terminal" and name not in first_bad and not prop.check(s):
                    first_bad[name] = d
    return {
        "states": len(order),
        "transitions": transitions,
        "depth": max(depth_of.values()),
        "first_bad": first_bad,
    }


SPECS = [
    Counter(n=7),
    TwoProcessLock(),
    BoundedQueue(),
    RandomWalk(),
    PathGraph(),
    OperatorRepair(),
    DnsRace(),
    DnsRace(check_at_apply=True),
    DnsRace(enactors=3, generations=3),
]


def engine_figures(model: Model, **options: object) -> dict[str, object]:
    result = bfs.check(model, CheckOptions(**options))
    first_bad = {
        v.property: len(v.counterexample)
        for v in result.verdicts
        if v.counterexample is not None and v.kind != "recoverable"
    }
    st = result.statistics
    return {
        "states": st.states,
        "transitions": st.transitions,
        "depth": st.depth,
        "first_bad": first_bad,
    }


@pytest.fixture(params=["unrolled", "table"])
def loop_form(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "table":
        monkeypatch.setattr(expand, "UNROLL_LIMIT", 0)
    return request.param


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: repr(s))
@pytest.mark.parametrize("coverage", [False, True], ids=["plain", "graph"])
def test_generated_loop_explores_what_a_textbook_bfs_explores(spec, coverage, loop_form):
    model = compile_spec(spec)
    assert engine_figures(model, coverage=coverage) == reference_bfs(model)


@pytest.mark.parametrize("spec", [*SPECS[:6], DnsRace()], ids=lambda s: repr(s))
@pytest.mark.parametrize("max_depth", [1, 3])
def test_the_depth_limit_level_admits_nothing_new(spec, max_depth, loop_form):
    model = compile_spec(spec)
    want = reference_bfs(model, max_depth=max_depth)
    got = engine_figures(model, max_depth=max_depth)
    assert {k: got[k] for k in ("states", "transitions")} == {
        k: want[k] for k in ("states", "transitions")
    }
    assert got["depth"] <= max_depth


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"coverage": True},
        {"max_states": 300},
        {"max_depth": 6},
        {"stop_at_first": True},
        {"progress_every": 7},
        {"properties": ("applied_generation_monotonic",)},
    ],
    ids=repr,
)
def test_the_two_loop_forms_give_identical_results(options, monkeypatch):
    model = compile_spec(DnsRace())
    unrolled = result_to_json(bfs.check(model, CheckOptions(**options)))
    monkeypatch.setattr(expand, "UNROLL_LIMIT", 0)
    table = result_to_json(bfs.check(model, CheckOptions(**options)))
    for result in (unrolled, table):
        result["statistics"].pop("seconds")
        result["statistics"].pop("states_per_second", None)
        result["statistics"].pop("peak_memory_bytes")
    assert unrolled == table


def test_the_unrolled_loop_calls_each_action_instance_on_a_line_of_its_own():
    model = compile_spec(DnsRace(enactors=3))
    function = expand.generate(
        model.actions,
        [],
        [],
        [],
        expand.LoopShape(),
        states=[],
        index={},
        found={},
    )
    calls = [line.strip() for line in function.source.splitlines() if "(s, _a" in line]
    assert calls == [f"t = _f{k}(s, _a{k})" for k in range(len(model.actions))]
    # Options that are off leave no trace in the loop.
    for absent in ("_max_states", "_ids", "_ap0", "_term0", "_StopSearch("):
        assert absent not in function.source


def test_options_that_are_on_are_in_the_loop():
    model = compile_spec(PathGraph())
    shape = expand.LoopShape(record_graph=True, max_states=10, stop_at_first=True)
    graph = ({}, [], [], [])
    function = expand.generate(
        model.actions,
        [("p", lambda s: True)],
        [("q", lambda s, t: True)],
        [("r", lambda s: True)],
        shape,
        states=[],
        index={},
        found={},
        graph=graph,
    )
    for present in ("_max_states", "_ids_setdefault", "_ap0(s, t)", "_term0(s)", "_inv0(s)"):
        assert present in function.source


def test_a_spec_error_inside_either_loop_form_names_the_action_and_keeps_the_trace(loop_form):
    with pytest.raises(SpecRuntimeError) as caught:
        bfs.check(compile_spec(Counter(n=9, explode_at=4)))
    assert "Counter.inc raised ZeroDivisionError" in str(caught.value)
    assert len(caught.value.trace) == 4


def test_ctrl_c_in_either_loop_form_stops_with_the_counts_so_far(loop_form):
    result = bfs.check(compile_spec(InterruptedCounter(n=100, stop_at=7)))
    assert result.stopped_by == "interrupted"
    assert (result.statistics.states, result.statistics.transitions) == (8, 7)


def test_the_state_limit_inside_a_chunk_keeps_the_transitions_counted_before_it(loop_form):
    model = compile_spec(DnsRace())
    result = bfs.check(model, CheckOptions(max_states=100))
    assert result.stopped_by == "max_states"
    # Replay the same search to the same point: the 100th state is admitted,
    # and the step that would admit the 101st is the one that stops it.
    order = list(model.initial_states)
    seen = set(order)
    transitions = 0
    for s in order:
        for _act, t in model.successors(s):
            if t not in seen and len(order) == 100:
                break
            transitions += 1
            if t not in seen:
                seen.add(t)
                order.append(t)
        else:
            continue
        break
    assert (result.statistics.states, result.statistics.transitions) == (100, transitions + 1)
