"""FrozenMap and Bag state values, their traces, and set-order independence of a check."""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
from collections import deque
from pathlib import Path

import pytest

from modelcheck import (
    Bag,
    FrozenMap,
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
from modelcheck.containers import canonical_key
from modelcheck.render.text import render_trace
from modelcheck.state import format_value
from modelcheck.trace import decode_value, encode_value, trace_from_json, trace_to_json

ROOT = Path(__file__).resolve().parent.parent
ENTRY = (sys.executable, "-c", "from modelcheck.cli import main; main()")


# --- the README's two-phase commit -------------------------------------------------------


def readme_two_phase_commit() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
    (block,) = [b for b in blocks if "class TwoPhaseCommit" in b]
    return block


@pytest.fixture(scope="module")
def tpc() -> dict:
    namespace: dict = {"__name__": "readme_two_phase_commit"}
    exec(compile(readme_two_phase_commit(), "README two-phase commit", "exec"), namespace)
    return namespace


def hand_bfs(rms: tuple[str, ...], copies: int, wait_for_all: bool = True) -> tuple[int, int, int]:
    """(states, transitions, depth) of the README's two-phase commit, without modelcheck.

    A state is (RM states as a tuple in ``rms`` order, TM state, the set of
    RMs the TM heard from as a sorted tuple, the network as a sorted tuple
    of ((kind, rm), count) pairs).  Each enabled action instance gives one
    successor; every successor is a transition.
    """

    def net_add(net: dict, msg: tuple, n: int = 1) -> dict:
        out = dict(net)
        out[msg] = out.get(msg, 0) + n
        return out

    def net_remove(net: dict, msg: tuple) -> dict:
        out = dict(net)
        out[msg] -= 1
        if out[msg] == 0:
            del out[msg]
        return out

    def freeze(rm, tm, heard, net):
        return (tuple(rm), tm, tuple(sorted(heard)), tuple(sorted(net.items())))

    def successors(state):
        rm_t, tm, heard_t, net_t = state
        rm, heard, net = list(rm_t), set(heard_t), dict(net_t)
        out = []
        for i, r in enumerate(rms):  # prepare
            if rm[i] == "working":
                new = rm.copy()
                new[i] = "prepared"
                out.append(freeze(new, tm, heard, net_add(net, ("prepared", r))))
        for i, r in enumerate(rms):  # resend
            if rm[i] == "prepared" and net.get(("prepared", r), 0) < copies:
                out.append(freeze(rm, tm, heard, net_add(net, ("prepared", r))))
        for i, _ in enumerate(rms):  # give up
            if rm[i] == "working":
                new = rm.copy()
                new[i] = "aborted"
                out.append(freeze(new, tm, heard, net))
        for r in rms:  # the TM receives a vote
            if net.get(("prepared", r), 0) > 0:
                now = heard | {r} if tm == "init" else heard
                out.append(freeze(rm, tm, now, net_remove(net, ("prepared", r))))
        for decision, guard in (
            ("commit", len(heard) >= (len(rms) if wait_for_all else 1)),
            ("abort", True),
        ):
            if tm == "init" and guard:
                told = net
                for r in rms:
                    told = net_add(told, (decision, r))
                out.append(
                    freeze(rm, "committed" if decision == "commit" else "aborted", heard, told)
                )
        for i, r in enumerate(rms):  # an RM receives the decision
            for decision, outcome in (("commit", "committed"), ("abort", "aborted")):
                if net.get((decision, r), 0) > 0:
                    new = rm.copy()
                    new[i] = outcome
                    out.append(freeze(new, tm, heard, net_remove(net, (decision, r))))
                    break
        return out

    start = freeze(["working"] * len(rms), "init", set(), {})
    depth_of = {start: 0}
    queue = deque([start])
    transitions = 0
    while queue:
        state = queue.popleft()
        for nxt in successors(state):
            transitions += 1
            if nxt not in depth_of:
                depth_of[nxt] = depth_of[state] + 1
                queue.append(nxt)
    return len(depth_of), transitions, max(depth_of.values())


@pytest.mark.parametrize(("rms", "copies"), [(("r1", "r2", "r3"), 2), (("r1", "r2"), 1)])
def test_the_readme_two_phase_commit_has_the_state_count_of_a_hand_written_search(tpc, rms, copies):
    result = check(tpc["TwoPhaseCommit"](rms=rms, copies=copies))
    st = result.statistics
    assert result.ok
    assert (st.states, st.transitions, st.depth) == hand_bfs(rms, copies)


def test_the_readme_states_the_pinned_count_and_its_output(tpc):
    assert hand_bfs(("r1", "r2", "r3"), 2)[0] == 3303
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pins the 3303 states" in text
    section = text[text.index("### Maps and bags") :]
    shown = re.search(r"```text\n(.*?)```", section, re.DOTALL).group(1).rstrip("\n")
    broken = check(tpc["TwoPhaseCommit"](rms=("r1", "r2"), wait_for_all=False))
    assert render_trace(broken.verdict("consistent").counterexample) == shown


# --- FrozenMap --------------------------------------------------------------------------


def test_a_frozen_map_reads_like_a_dict_and_changes_by_returning_new_maps():
    m = FrozenMap({"r2": "no", "r1": "yes"})
    assert m["r1"] == "yes" and m.get("r3") is None and m.get("r3", "-") == "-"
    assert "r2" in m and "r3" not in m and len(m) == 2
    changed = m.set("r3", "yes").remove("r1")
    assert changed == FrozenMap(r2="no", r3="yes")
    assert m == FrozenMap({"r1": "yes", "r2": "no"})  # unchanged
    assert m.discard("zz") is m
    assert m.update({"r1": "no"}, r4="x") == FrozenMap(r1="no", r2="no", r4="x")
    with pytest.raises(KeyError):
        m.remove("zz")
    with pytest.raises(AttributeError, match="immutable"):
        m.x = 1  # type: ignore[attr-defined]


def test_a_frozen_map_iterates_in_canonical_order_whatever_the_insertion_order():
    a = FrozenMap([("b", 1), (3, 0), ("a", 2), ((1, "x"), 5), (None, 9)])
    b = FrozenMap(reversed(a.items()))
    assert list(a) == list(b) == [None, 3, "a", "b", (1, "x")]
    assert a.set("aa", 0).keys() == (None, 3, "a", "aa", "b", (1, "x"))
    assert a == b and hash(a) == hash(b)
    assert a.values() == (9, 0, 2, 1, 5)


def test_a_frozen_map_is_not_equal_to_a_dict_or_a_bag_and_pickles():
    m = FrozenMap(a=1)
    assert m != {"a": 1} and m != Bag(["a"])
    assert pickle.loads(pickle.dumps(m)) == m
    assert repr(m) == "FrozenMap({'a': 1})"


# --- Bag --------------------------------------------------------------------------------


def test_a_bag_counts_copies_and_changes_by_returning_new_bags():
    b = Bag([("prepared", "r1")]).add(("prepared", "r1")).add("x")
    assert b.count(("prepared", "r1")) == 2 and b.count("nothing") == 0
    assert ("prepared", "r1") in b and "nothing" not in b
    assert len(b) == 2 and b.total() == 3
    assert b.remove(("prepared", "r1")).count(("prepared", "r1")) == 1
    assert ("prepared", "r1") not in b.remove(("prepared", "r1"), 2)
    assert b.items() == (("x", 1), (("prepared", "r1"), 2))
    assert b.elements() == ("x", ("prepared", "r1"), ("prepared", "r1"))
    assert Bag.from_counts({"x": 1, ("prepared", "r1"): 2, "gone": 0}) == b
    assert Bag(["a"]) + Bag(["a", "b"]) == Bag(["a", "a", "b"])
    assert not Bag() and Bag(["a"])


def test_removing_a_message_the_bag_does_not_hold_is_an_error_naming_it():
    with pytest.raises(ValueError, match=r"Bag.remove\('m'\): the bag holds 1 copy, not 2"):
        Bag(["m"]).remove("m", 2)
    with pytest.raises(ValueError, match="holds 0 copies"):
        Bag().remove("m")


def test_bags_built_in_any_order_are_equal_hash_alike_and_iterate_alike():
    msgs = [("vote", "r2"), ("vote", "r1"), ("commit", "r1"), ("vote", "r1")]
    a, b = Bag(msgs), Bag(reversed(msgs))
    assert a == b and hash(a) == hash(b) and list(a) == list(b)
    assert list(a) == [("commit", "r1"), ("vote", "r1"), ("vote", "r2")]
    assert pickle.loads(pickle.dumps(a)) == a


def test_values_without_a_canonical_order_are_refused_with_the_allowed_kinds():
    with pytest.raises(TypeError, match="has no canonical order"):
        Bag([object(), object()])
    with pytest.raises(TypeError):
        FrozenMap({"a": 1}).set([1], 2)  # unhashable


def test_canonical_order_puts_kinds_in_a_fixed_order():
    values = [(1,), "b", 2, None, frozenset({"a"}), b"x", 1.5, "a"]
    assert sorted(values, key=canonical_key) == [
        None,
        1.5,
        2,
        "a",
        "b",
        b"x",
        (1,),
        frozenset({"a"}),
    ]
    assert canonical_key(1) == canonical_key(True) == canonical_key(1.0)


def test_iteration_order_does_not_depend_on_the_hash_seed():
    code = (
        "from modelcheck import Bag, FrozenMap\n"
        "names = [f'n{i}' for i in range(30)]\n"
        "print(list(FrozenMap(dict.fromkeys(reversed(names), 0))))\n"
        "print(list(Bag(n for n in set(names))))\n"
    )
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        proc = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(proc.stdout)
    assert len(outputs) == 1


# --- showing and saving -----------------------------------------------------------------


def test_values_show_maps_with_colons_and_bags_with_copy_counts():
    assert format_value(FrozenMap({"r2": "no", "r1": "yes"})) == "{r1: yes, r2: no}"
    assert format_value(Bag([("p", "r1"), ("p", "r1"), "x"])) == "{x, (p, r1) ×2}"
    assert format_value(Bag()) == "{}"


class Votes(State):
    votes: FrozenMap
    network: Bag


class Voting(Spec):
    def initial_states(self):
        return Votes(FrozenMap(r1="yes"), Bag([("prepare", "r1"), ("prepare", "r2")]))

    @action
    def vote(self, s):
        if "r2" in s.votes:
            return None
        return Votes(s.votes.set("r2", "yes"), s.network.remove(("prepare", "r2")))

    @action
    def retract(self, s):
        if "r1" not in s.votes or "r2" not in s.votes:
            return None
        return Votes(s.votes.remove("r1"), s.network.add(("prepare", "r1"), 2))

    @invariant
    def someone_votes(self, s):
        return len(s.votes) >= 2 or "r2" not in s.votes


def voting_trace():
    result = check(Voting())
    return result.verdict("someone_votes").counterexample


def test_a_trace_diffs_maps_per_key_and_bags_as_added_and_removed_copies():
    table = render_trace(voting_trace())
    assert "votes[r2]: - → yes, network: -{(prepare, r2)}" in table
    assert "votes[r1]: yes → -, network: +{(prepare, r1) ×2}" in table


def test_a_trace_with_maps_and_bags_is_schema_version_2_and_loads_back_into_them(tmp_path):
    trace = voting_trace()
    save_trace(trace, tmp_path / "t.json")
    data = json.loads((tmp_path / "t.json").read_text())
    assert data["schema_version"] == 2
    assert data["initial"]["votes"] == {"$map": [["r1", "yes"]]}
    assert data["initial"]["network"] == {"$bag": [[["prepare", "r1"], 1], [["prepare", "r2"], 1]]}
    loaded = load_trace(tmp_path / "t.json")
    assert isinstance(loaded.final["votes"], FrozenMap) and isinstance(loaded.final["network"], Bag)
    assert render_trace(loaded) == render_trace(trace)
    result = replay(compile_spec(Voting()), loaded)
    assert result.legal and result.property_fails
    assert trace_to_json(loaded) == data  # re-encodes exactly as read


def test_traces_without_maps_or_bags_stay_version_1_and_version_1_files_still_load(tmp_path):
    class Plain(State):
        n: int

    class Count(Spec):
        def initial_states(self):
            return Plain(0)

        @action
        def inc(self, s):
            return Plain(s.n + 1) if s.n < 2 else None

        @invariant
        def small(self, s):
            return s.n < 2

    trace = check(Count()).verdict("small").counterexample
    data = trace_to_json(trace)
    assert data["schema_version"] == 1
    # A version-1 file as older versions wrote it, with a dict parameter as "$map".
    data["spec"]["parameters"] = {"table": {"$map": [["a", 1]]}}
    loaded = trace_from_json(json.loads(json.dumps(data)))
    assert loaded.final == {"n": 2} and loaded.parameters["table"] == FrozenMap(a=1)


def test_malformed_maps_and_bags_in_a_trace_are_format_errors():
    from modelcheck import TraceFormatError

    for bad in ({"$map": [["a"]]}, {"$bag": [["a", 0]]}, {"$bag": [["a", "2"]]}, {"$bag": 3}):
        with pytest.raises(TraceFormatError, match="cannot decode"):
            decode_value(bad, "here")
    assert decode_value(encode_value(Bag(["a", "a"])), "here") == Bag(["a", "a"])


# --- set iteration order and PYTHONHASHSEED ---------------------------------------------


class Names(State):
    waiting: frozenset
    served: tuple


class FirstComeFirstServed(Spec):
    """Serves 'some' waiting client: the first one its loop happens to meet."""

    sort: bool = False

    def initial_states(self):
        return Names(frozenset({"ann", "bob", "cy", "dee"}), ())

    @action
    def serve(self, s):
        for name in sorted(s.waiting) if self.sort else s.waiting:
            return Names(s.waiting - {name}, (*s.served, name))
        return None


class EachOne(Spec):
    """A nondeterministic action yielding one successor per element, in set order."""

    def initial_states(self):
        return Names(frozenset({"ann", "bob", "cy"}), ())

    @action(nondeterministic=True)
    def serve(self, s):
        return [Names(s.waiting - {n}, (*s.served, n)) for n in s.waiting]


class Counts(Spec):
    """Iterates a set of ints, whose order does not depend on the hash seed."""

    def initial_states(self):
        return Names(frozenset({3, 1, 2}), ())

    @action
    def serve(self, s):
        for n in s.waiting:
            return Names(s.waiting - {n}, (*s.served, n))
        return None


def test_an_action_that_builds_a_state_from_set_order_is_named_before_the_search():
    with pytest.raises(SpecError) as caught:
        check(FirstComeFirstServed())
    text = str(caught.value)
    assert "FirstComeFirstServed.serve" in text and "'waiting'" in text
    assert "PYTHONHASHSEED" in text and "sorted(waiting)" in text


def test_a_nondeterministic_action_yielding_in_set_order_is_named():
    with pytest.raises(
        SpecError, match=r"EachOne\.serve: serve\(\) gives its successors in an order"
    ):
        check(EachOne())


class SetOfStates(Spec):
    """A nondeterministic action returning a set of next states (hash-seed order)."""

    def initial_states(self):
        return Names(frozenset({"ann", "bob"}), ())

    @action(nondeterministic=True)
    def serve(self, s):
        return {Names(s.waiting - {n}, (*s.served, n)) for n in sorted(s.waiting)}


def test_a_nondeterministic_action_returning_a_set_of_states_is_named():
    with pytest.raises(
        SpecError, match=r"SetOfStates\.serve: serve\(\) returns its next states as a set"
    ):
        check(SetOfStates())


def test_iterating_sorted_sets_or_sets_of_ints_is_not_reported():
    assert check(FirstComeFirstServed(sort=True)).statistics.states == 5
    assert check(Counts()).statistics.states == 4


class Pick(State):
    last: str


class SetDomain(Spec):
    def initial_states(self):
        return Pick("")

    @action(who=lambda self: frozenset({"f", "c", "a", "e", "b", "d", "g"}))
    def pick(self, s, who):
        return Pick(who) if s.last == "" else None


def test_an_action_domain_given_as_a_set_is_sorted():
    labels = [a.label for a in compile_spec(SetDomain()).actions]
    assert labels == [f"pick(who={c!r})" for c in "abcdefg"]


def run_cli(args: list[str], seed: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [*ENTRY, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def without_timings(stdout: str) -> dict:
    data = json.loads(stdout)
    for key in ("seconds", "states_per_second", "peak_memory_bytes"):
        data["statistics"].pop(key)
    return data


def test_the_two_phase_commit_check_gives_the_same_json_under_two_hash_seeds(tmp_path):
    spec = tmp_path / "tpc.py"
    # The spec only: the block's closing lines run a check and print.
    spec.write_text(readme_two_phase_commit().split("\nassert check(")[0])
    args = ["check", f"{spec}:TwoPhaseCommit", "--format", "json", "-q", "-p", "wait_for_all=false"]
    first, second = run_cli(args, "1"), run_cli(args, "2")
    assert first.returncode == second.returncode == 1, first.stderr
    assert without_timings(first.stdout) == without_timings(second.stdout)
    assert without_timings(first.stdout)["verdicts"][0]["counterexample"]["schema_version"] == 2


def test_an_order_dependent_spec_fails_the_same_way_under_two_hash_seeds(tmp_path):
    spec = tmp_path / "fcfs.py"
    spec.write_text(
        "from modelcheck import Spec, State, action\n"
        "class Names(State):\n"
        "    waiting: frozenset\n"
        "    served: tuple\n"
        "class Serve(Spec):\n"
        "    def initial_states(self):\n"
        "        return Names(frozenset({'ann', 'bob', 'cy', 'dee'}), ())\n"
        "    @action\n"
        "    def serve(self, s):\n"
        "        if s.waiting:\n"
        "            name = next(iter(s.waiting))\n"
        "            return Names(s.waiting - {name}, (*s.served, name))\n"
        "        return None\n"
    )
    runs = [run_cli(["check", str(spec), "--format", "json", "-q"], seed) for seed in "12"]
    assert [r.returncode for r in runs] == [2, 2]
    assert runs[0].stderr == runs[1].stderr
    assert "Serve.serve" in runs[0].stderr and "'waiting'" in runs[0].stderr
    assert "Traceback" not in runs[0].stderr


# --- the Hypothesis bridge --------------------------------------------------------------


def bridge_settings(examples: int):
    from hypothesis import HealthCheck, settings

    return settings(
        max_examples=examples,
        stateful_step_count=8,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )


def test_the_hypothesis_bridge_runs_the_two_phase_commit_over_maps_and_bags(tpc):
    from modelcheck.integrations import hypothesis as modelcheck_hypothesis

    modelcheck_hypothesis.run(tpc["TwoPhaseCommit"](rms=("r1", "r2")), settings=bridge_settings(20))


@pytest.mark.slow
def test_the_hypothesis_bridge_finds_the_shortest_two_phase_commit_bug(tpc, tmp_path):
    from modelcheck import PropertyViolation
    from modelcheck.integrations import hypothesis as modelcheck_hypothesis

    broken = tpc["TwoPhaseCommit"](rms=("r1", "r2"), wait_for_all=False)
    with pytest.raises(PropertyViolation) as caught:
        modelcheck_hypothesis.run(broken, settings=bridge_settings(1000), trace_dir=tmp_path)
    assert "proven shortest" in str(caught.value)
    assert "network: +{(commit, r1), (commit, r2)}" in str(caught.value)


def test_hypothesis_strategies_draw_maps_and_bags_by_type():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from modelcheck.integrations.hypothesis import bags, frozen_maps

    seen = []

    @settings(max_examples=30, database=None)
    @given(
        st.from_type(FrozenMap[str, int]),
        st.from_type(Bag[str]),
        frozen_maps(st.sampled_from("ab"), st.booleans()),
        bags(st.integers(0, 3), max_copies=2),
    )
    def draw(m, b, small, few):
        assert all(isinstance(k, str) and isinstance(v, int) for k, v in m.items())
        assert all(isinstance(e, str) for e in b) and all(n >= 1 for _, n in b.items())
        assert set(small) <= {"a", "b"} and all(n <= 2 for _, n in few.items())
        seen.append((m, b))

    draw()
    assert any(b.total() > len(b) for _, b in seen)  # some bag held a copy twice
