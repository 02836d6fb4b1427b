"""Action parameters chosen from the state, and labelled nondeterministic outcomes.

The two-phase commit figures are recomputed here by a breadth-first search
written by hand over plain tuples (it shares no code with modelcheck), and
agree with TLC's published counts for Lamport's ``TwoPhase`` (288 states with
3 resource managers, 1,568 with 4).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from typer.testing import CliRunner

from modelcheck import (
    Choice,
    PropertyViolation,
    Spec,
    SpecError,
    State,
    action,
    check,
    compile_spec,
    invariant,
    load_trace,
    replay,
    save_trace,
)
from modelcheck.cli import app
from modelcheck.engines.simulate import SimulateOptions, simulate
from modelcheck.errors import SpecWarning
from modelcheck.render.html import render_html
from modelcheck.render.json import result_to_json
from modelcheck.render.mermaid import trace_to_mermaid
from modelcheck.render.text import render_coverage, render_trace
from modelcheck.trace import trace_from_json, trace_to_json
from tests.state_domain_toys import Deliveries, LossyChannel, TwoPhaseCommit, UnboundedChoice

ROOT = Path(__file__).resolve().parent.parent
TOYS = Path(__file__).resolve().parent / "state_domain_toys.py"
runner = CliRunner()


def labels(trace):
    return [step.label for step in trace.steps]


# --- an independent two-phase commit ----------------------------------------------------------


def hand_bfs_two_phase(n: int) -> tuple[int, int]:
    """(states, transitions) of TLA+'s TwoPhase with n RMs, by a plain BFS over tuples."""
    rms = [f"r{i + 1}" for i in range(n)]
    start = (("working",) * n, "init", frozenset(), frozenset())

    def nexts(state):
        rm, tm, prepared, msgs = state
        out = []

        def with_rm(i, value):
            return (*rm[:i], value, *rm[i + 1 :])

        if tm == "init":
            for msg in msgs:  # TMRcvPrepared(r): one step per Prepared message
                if msg[0] == "prepared":
                    out.append((rm, tm, prepared | {msg[1]}, msgs))
            if len(prepared) == n:
                out.append((rm, "committed", prepared, msgs | {("commit",)}))
            out.append((rm, "aborted", prepared, msgs | {("abort",)}))
        for i, r in enumerate(rms):
            if rm[i] == "working":
                out.append((with_rm(i, "prepared"), tm, prepared, msgs | {("prepared", r)}))
                out.append((with_rm(i, "aborted"), tm, prepared, msgs))
            # RMRcvCommitMsg / RMRcvAbortMsg (enabled even when already decided)
            if ("commit",) in msgs:
                out.append((with_rm(i, "committed"), tm, prepared, msgs))
            if ("abort",) in msgs:
                out.append((with_rm(i, "aborted"), tm, prepared, msgs))
        return out

    seen = {start}
    queue = [start]
    transitions = 0
    while queue:
        state = queue.pop()
        for nxt in nexts(state):
            transitions += 1
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return len(seen), transitions


@pytest.mark.parametrize("n", [2, 3, 4])
def test_two_phase_commit_counts_match_a_hand_written_bfs(n):
    states, transitions = hand_bfs_two_phase(n)
    stats = check(TwoPhaseCommit(rms=n)).statistics
    assert (stats.states, stats.transitions) == (states, transitions)


def test_the_hand_written_bfs_gives_tlcs_published_two_phase_figures():
    assert hand_bfs_two_phase(3)[0] == 288
    assert hand_bfs_two_phase(4)[0] == 1568


def test_two_phase_commit_is_consistent():
    assert check(TwoPhaseCommit()).verdict("consistent").status == "holds"


# --- labels in every trace format --------------------------------------------------------------

COMMIT_RUN = [
    "tm_rcv_prepared(m=('prepared', 'r1'))",
    "tm_rcv_prepared(m=('prepared', 'r2'))",
    "tm_rcv_prepared(m=('prepared', 'r3'))",
    "tm_commit()",
    "rm_rcv(r='r1', m=('commit',))",
]


def commit_result():
    return check(TwoPhaseCommit(forbid="committed"), coverage=True)


def test_a_step_label_shows_the_value_chosen_from_the_state():
    trace = commit_result().verdict("never_reaches").counterexample
    steps = labels(trace)
    assert len(steps) == 8
    assert [s for s in steps if not s.startswith("rm_prepare")] == COMMIT_RUN


def test_text_json_mermaid_and_html_show_the_chosen_values():
    result = commit_result()
    trace = result.verdict("never_reaches").counterexample
    text = render_trace(trace)
    mermaid = trace_to_mermaid(trace)
    html = render_html(result, compile_spec(TwoPhaseCommit(forbid="committed")))
    for label in COMMIT_RUN:
        assert label in text
        assert label in mermaid
        assert label.replace("'", "&#x27;") in html or label in html
    data = trace_to_json(trace)
    receipts = [s["args"] for s in data["steps"] if s["action"] == "tm_rcv_prepared"]
    assert receipts == [{"m": ["prepared", r]} for r in ("r1", "r2", "r3")]
    assert data["steps"][-1]["args"] == {"r": "r1", "m": ["commit"]}
    assert labels(trace_from_json(json.loads(json.dumps(data)))) == labels(trace)


def test_a_saved_trace_with_chosen_values_replays(tmp_path):
    trace = commit_result().verdict("never_reaches").counterexample
    save_trace(trace, tmp_path / "t.json")
    model = compile_spec(TwoPhaseCommit(forbid="committed"))
    outcome = replay(model, load_trace(tmp_path / "t.json"))
    assert outcome.legal and outcome.property_fails
    assert labels(outcome.trace) == labels(trace)


def test_replay_names_the_values_the_state_offered_when_a_chosen_value_is_not_there(tmp_path):
    data = trace_to_json(commit_result().verdict("never_reaches").counterexample)
    first = next(s for s in data["steps"] if s["action"] == "tm_rcv_prepared")
    first["args"]["m"] = ["prepared", "r3"]  # not sent yet at that point
    (tmp_path / "bad.json").write_text(json.dumps(data))
    result = runner.invoke(app, ["replay", f"{TOYS}:TwoPhaseCommit", str(tmp_path / "bad.json")])
    assert result.exit_code == 2
    assert "tm_rcv_prepared(m=('prepared', 'r3')) is not enabled" in result.output
    assert "can take: tm_rcv_prepared(m=('prepared', 'r1'))" in result.output


def test_replay_of_a_step_without_its_chosen_value_says_it_is_not_one_of_the_actions():
    trace = commit_result().verdict("never_reaches").counterexample
    index = next(i for i, s in enumerate(trace.steps) if s.action == "tm_rcv_prepared")
    steps = list(trace.steps)
    steps[index] = type(steps[index])("tm_rcv_prepared", (), steps[index].state)
    broken = type(trace)(trace.initial, tuple(steps), spec=trace.spec)
    outcome = replay(compile_spec(TwoPhaseCommit()), broken)
    assert not outcome.legal
    assert "tm_rcv_prepared(m=*)" in outcome.message


def test_cli_check_and_replay_carry_the_chosen_values(tmp_path):
    result = runner.invoke(
        app,
        [
            "check",
            f"{TOYS}:TwoPhaseCommit",
            "-p",
            "forbid=committed",
            "--trace-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 1
    assert "rm_rcv(r='r1', m=('commit',))" in result.stdout
    again = runner.invoke(
        app, ["replay", f"{TOYS}:TwoPhaseCommit", str(tmp_path / "never_reaches.json")]
    )
    assert again.exit_code == 1
    assert "replayed 8 steps" in again.stdout


# --- coverage ----------------------------------------------------------------------------------


def test_coverage_lists_the_values_each_state_dependent_instance_took():
    result = commit_result()
    cov = {c.label: c for c in result.coverage}
    receipts = cov["tm_rcv_prepared(m=*)"]
    assert receipts.values == tuple(((("m", ("prepared", r)),)) for r in ("r1", "r2", "r3"))
    assert cov["rm_rcv(r='r2', m=*)"].values == ((("m", ("abort",)),), (("m", ("commit",)),))
    assert cov["tm_commit()"].values == ()
    text = render_coverage(result)
    assert "tm_rcv_prepared(m=*) took: m=('prepared', 'r1'); m=('prepared', 'r2'); " in text
    row = next(r for r in result_to_json(result)["coverage"] if r["family"] == "tm_rcv_prepared")
    assert row["values"] == [{"m": ["prepared", r]} for r in ("r1", "r2", "r3")]
    plain = next(r for r in result_to_json(result)["coverage"] if r["family"] == "tm_commit")
    assert "values" not in plain  # unchanged for instances without choices


def test_coverage_lists_choice_labels_of_a_nondeterministic_action():
    (cov,) = check(LossyChannel(), coverage=True).coverage
    assert cov.values == ((("outcome", "delivered"),), (("outcome", "lost"),))


def test_the_readme_coverage_fragment_is_what_coverage_prints():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = next(
        b for b in re.findall(r"```python\n(.*?)```", readme, re.DOTALL) if "TwoPhase(Spec)" in b
    )
    namespace: dict[str, object] = {"__name__": "readme_two_phase"}
    exec(compile(block, "README two-phase block", "exec"), namespace)
    shown = re.search(r"\(`(tm_receive\(m=\*\) took: [^`]*?)\.\.\.`\)", readme).group(1)
    text = render_coverage(check(namespace["TwoPhase"](), coverage=True))
    assert any(line.strip().startswith(shown) for line in text.splitlines())


# --- determinism -----------------------------------------------------------------------------


def test_a_set_domain_is_enumerated_in_the_same_order_under_every_hash_seed():
    script = (
        "from tests.state_domain_toys import TwoPhaseCommit\n"
        "from modelcheck import check\n"
        "r = check(TwoPhaseCommit(forbid='committed'))\n"
        "print([s.label for s in r.verdict('never_reaches').counterexample.steps])\n"
        "print(r.statistics.states, r.statistics.transitions)\n"
    )
    outputs = set()
    for seed in ("1", "2", "3"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT))
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1


# --- how domains are written, and the errors ---------------------------------------------


class Cell(State):
    items: frozenset[int]
    taken: tuple[int, ...]


def cell_spec(m):
    """A spec whose one action takes ``m`` from the given domain."""

    class Picker(Spec):
        def initial_states(self):
            return Cell(frozenset({3, 1, 2}), ())

        @action(m=m)
        def take(self, s, m):
            return s.replace(items=s.items - {m}, taken=(*s.taken, m))

        @invariant
        def fine(self, s):
            return True

    return Picker()


def two_parameter_spec(**domains):
    """A spec whose one action takes two parameters, in the keywords' order."""
    first, second = domains

    class Picker(Spec):
        def initial_states(self):
            return Cell(frozenset({3, 1, 2}), ())

        @action(**domains)
        def take(self, s, a, b):
            return s.replace(taken=(*s.taken, a, b)) if len(s.taken) < 2 else None

        @invariant
        def fine(self, s):
            return True

    # Rename the parameters to the keywords (the scan checks them by name).
    code = Picker.take.__code__
    Picker.take.__code__ = code.replace(co_varnames=("self", "s", first, second))
    return Picker()


def test_a_later_domain_may_use_an_earlier_parameter_by_name():
    class Pairs(Spec):
        def initial_states(self):
            return Cell(frozenset(), ())

        @action(i=[0, 1, 2], j=lambda self, s, i: range(i) if not s.taken else [])
        def pick(self, s, i, j):
            return s.replace(taken=(i, j))

        @invariant
        def fine(self, s):
            return True

    model = compile_spec(Pairs())
    assert [a.label for a in model.actions] == [
        "pick(i=0, j=*)",
        "pick(i=1, j=*)",
        "pick(i=2, j=*)",
    ]
    moves = [args for act in model.actions for args, _ in act.moves(model.initial_states[0])]
    assert moves == [(("i", 1), ("j", 0)), (("i", 2), ("j", 0)), (("i", 2), ("j", 1))]
    assert check(Pairs()).statistics.states == 4


def test_a_fixed_domain_after_a_state_dependent_one_is_chosen_with_it():
    spec = two_parameter_spec(m=lambda self, s: s.items, k=["a", "b"])
    model = compile_spec(spec)
    (act,) = model.actions
    assert act.label == "take(m=*, k=*)"
    first = [args for args, _ in act.moves(model.initial_states[0])]
    assert first[:3] == [(("m", 1), ("k", "a")), (("m", 1), ("k", "b")), (("m", 2), ("k", "a"))]


def test_a_domain_function_of_no_parameters_is_an_error_saying_what_to_write():
    with pytest.raises(SpecError, match=r"function of no parameters; write lambda self: \.\.\."):
        compile_spec(cell_spec(lambda: [1]))


def test_a_domain_function_of_one_parameter_that_reads_the_state_says_to_add_it():
    with pytest.raises(SpecError, match=r"to choose from the state, write lambda self, s: "):
        compile_spec(cell_spec(lambda s: s.items))


def test_a_domain_naming_an_unknown_earlier_parameter_is_an_error_listing_the_earlier_ones():
    with pytest.raises(SpecError, match=r"'j' is not a parameter of take declared before 'm'"):
        compile_spec(two_parameter_spec(k=[1], m=lambda self, s, j: [j]))


def test_a_state_dependent_domain_returning_none_is_a_spec_error():
    with pytest.raises(SpecError, match=r"state-dependent domain of 'm' returned None"):
        check(cell_spec(lambda self, s: None))


def test_an_empty_fixed_domain_draws_a_warning(tmp_path):
    with pytest.warns(SpecWarning, match=r"the domain of 'm' is empty \(no values\)"):
        compile_spec(cell_spec([]))
    source = (
        "from modelcheck import Spec, State, action, invariant\n"
        "class C(State):\n    v: int\n"
        "class Empty(Spec):\n    k: int = 0\n"
        "    def initial_states(self):\n        return C(0)\n"
        "    @action(i='k')\n    def bump(self, s, i):\n        return None\n"
        "    @invariant\n    def ok(self, s):\n        return True\n"
    )
    (tmp_path / "empty.py").write_text(source)
    result = runner.invoke(app, ["check", str(tmp_path / "empty.py")])
    assert result.exit_code == 0
    assert "warning: Empty.bump: the domain of 'i' is empty (range(k) with k=0)" in result.stderr


def test_an_action_instance_with_an_actor_function_gets_the_chosen_values():
    class Senders(Spec):
        def initial_states(self):
            return Cell(frozenset({1, 2}), ())

        @action(m=lambda self, s: s.items, actor=lambda m: f"Node {m}")
        def take(self, s, m):
            return s.replace(items=s.items - {m})

        @invariant
        def not_empty(self, s):
            return bool(s.items)

    trace = check(Senders()).verdict("not_empty").counterexample
    assert [(s.label, s.actor) for s in trace.steps] == [
        ("take(m=1)", "Node 1"),
        ("take(m=2)", "Node 2"),
    ]


# --- nondeterministic outcomes labelled with Choice ----------------------------------------


def test_a_choice_labels_the_step_and_replays(tmp_path):
    result = check(LossyChannel())
    assert (result.statistics.states, result.statistics.transitions) == (6, 6)
    trace = result.verdict("not_all_lost").counterexample
    assert labels(trace) == ["send(outcome='lost')", "send(outcome='lost')"]
    save_trace(trace, tmp_path / "t.json")
    outcome = replay(compile_spec(LossyChannel()), load_trace(tmp_path / "t.json"))
    assert outcome.legal and outcome.property_fails
    data = trace_to_json(trace)
    data["steps"][0]["args"]["outcome"] = "delivered"  # the other branch: a different state
    assert not replay(compile_spec(LossyChannel()), trace_from_json(data)).legal


def test_a_choice_label_may_not_reuse_a_parameter_name():
    class Clash(Spec):
        def initial_states(self):
            return Cell(frozenset(), ())

        @action(nondeterministic=True, k=[0])
        def go(self, s, k):
            return [Choice(s.replace(taken=(1,)), k=1)] if not s.taken else []

        @invariant
        def fine(self, s):
            return True

    with pytest.raises(SpecError, match="yielded a Choice labelled 'k'"):
        compile_spec(Clash()).actions[0].moves(Cell(frozenset(), ()))


def test_simulation_counterexamples_carry_choices_and_chosen_values():
    result = simulate(compile_spec(LossyChannel()), SimulateOptions(runs=50, depth=5))
    (ce,) = result.counterexamples
    assert labels(ce.trace) == ["send(outcome='lost')", "send(outcome='lost')"]
    result = simulate(
        compile_spec(TwoPhaseCommit(forbid="committed")), SimulateOptions(runs=200, depth=30)
    )
    (ce,) = result.counterexamples
    assert any(
        label.startswith("rm_rcv(r=") and "m=('commit',)" in label for label in labels(ce.trace)
    )


# --- the Hypothesis bridge -----------------------------------------------------------------


def test_hypothesis_draws_the_chosen_values_from_the_state():
    from modelcheck.integrations import hypothesis as bridge

    # No shrinking: any violating run shows the drawn values, and shrinking took
    # minutes under newer Hypothesis releases (204 s with 6.170).
    quick = settings(
        max_examples=300,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
    )
    with pytest.raises(PropertyViolation) as caught:
        bridge.run(TwoPhaseCommit(forbid="committed"), settings=quick)
    trace = caught.value.trace
    assert "tm_commit()" in labels(trace)
    assert any(label.startswith("tm_rcv_prepared(m=('prepared', ") for label in labels(trace))
    # Every value it drew was in the state's domain: the run replays.
    assert replay(compile_spec(TwoPhaseCommit(forbid="committed")), trace).legal


# --- the symbolic engine -------------------------------------------------------------------


def test_prove_and_bmc_handle_a_bounded_state_dependent_domain():
    from modelcheck.engines.z3 import bmc, prove

    assert check(Deliveries(n=3)).statistics.states == 27
    assert prove(compile_spec(Deliveries(n=2))).exit_code == 0
    model = compile_spec(Deliveries(n=2, forbid_all=True))
    found = bmc(model, depth=5).verdict("not_all_received").counterexample
    assert len(found) == 4
    assert sorted(s.label for s in found.steps if s.action == "receive") == [
        "receive(i=0)",
        "receive(i=1)",
    ]
    assert replay(model, found).legal


def test_bmc_rejects_an_unbounded_state_dependent_domain_naming_the_action():
    result = runner.invoke(app, ["bmc", f"{TOYS}:UnboundedChoice", "--depth", "3"])
    assert result.exit_code == 2
    assert "UnboundedChoice.jump (jump(to=*))" in result.output
    assert "the domain of 'to' is chosen in each state" in result.output
    assert check(UnboundedChoice()).statistics.states == 4  # fine for the explicit engine
