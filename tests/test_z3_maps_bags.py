"""FrozenMap and Bag fields in the symbolic engine: bmc and prove agree with check.

A map declared ``MapOf(keys, values)`` and a bag declared ``BagOf(elements,
copies)`` are bounded, so z3 encodes them (a has-a-value bool and a value
per key, a count per element); fields without those bounds, and values
outside them, are rejected naming the field.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pytest

from modelcheck import (
    Bag,
    FrozenMap,
    Spec,
    State,
    Status,
    action,
    check,
    compile_spec,
    invariant,
    replay,
    terminal,
)
from modelcheck.engines.z3 import bmc, prove
from modelcheck.symbolic import BagOf, MapOf, OneOf, Range, SubsetError

ROOT = Path(__file__).resolve().parent.parent

# --- two-phase commit, with bounds for the symbolic engine ------------------------------

KINDS = ("prepared", "commit", "abort")
RM_STATES = OneOf("working", "prepared", "committed", "aborted")


def messages(spec):
    return [(kind, r) for kind in KINDS for r in spec.rms]


class Commit(State):
    rm: Annotated[FrozenMap, MapOf("rms", RM_STATES, total=True)]
    tm: Annotated[str, OneOf("init", "committed", "aborted")]
    heard: Annotated[FrozenMap, MapOf("rms", bool)]  # a key per RM the TM heard from
    network: Annotated[Bag, BagOf(messages, copies="copies")]


class TwoPhaseCommit(Spec):
    rms: tuple[str, ...] = ("r1", "r2", "r3")
    copies: int = 2
    wait_for_all: bool = True

    def initial_states(self):
        return Commit(FrozenMap(dict.fromkeys(self.rms, "working")), "init", FrozenMap(), Bag())

    @action(r=lambda self: self.rms)
    def prepare(self, s, r):
        if s.rm[r] != "working":
            return None
        return s.replace(rm=s.rm.set(r, "prepared"), network=s.network.add(("prepared", r)))

    @action(r=lambda self: self.rms)
    def resend(self, s, r):
        vote = ("prepared", r)
        if s.rm[r] != "prepared" or s.network.count(vote) >= self.copies:
            return None
        return s.replace(network=s.network.add(vote))

    @action(r=lambda self: self.rms)
    def give_up(self, s, r):
        if s.rm[r] != "working":
            return None
        return s.replace(rm=s.rm.set(r, "aborted"))

    @action(r=lambda self: self.rms)
    def tm_receive(self, s, r):
        vote = ("prepared", r)
        if vote not in s.network:
            return None
        heard = s.heard.set(r, True) if s.tm == "init" else s.heard
        return s.replace(heard=heard, network=s.network.remove(vote))

    @action
    def tm_commit(self, s):
        enough = len(self.rms) if self.wait_for_all else 1
        if s.tm != "init" or len(s.heard) < enough:
            return None
        return s.replace(tm="committed", network=self.tell_all(s.network, "commit"))

    @action
    def tm_abort(self, s):
        if s.tm != "init":
            return None
        return s.replace(tm="aborted", network=self.tell_all(s.network, "abort"))

    def tell_all(self, network, decision):
        for r in self.rms:
            network = network.add((decision, r))
        return network

    @action(r=lambda self: self.rms)
    def rm_receive(self, s, r):
        for decision, outcome in (("commit", "committed"), ("abort", "aborted")):
            if (decision, r) in s.network:
                return s.replace(rm=s.rm.set(r, outcome), network=s.network.remove((decision, r)))
        return None

    @invariant
    def consistent(self, s):
        """No resource manager commits while another aborts."""
        outcomes = s.rm.values()
        return not (
            any(v == "committed" for v in outcomes) and any(v == "aborted" for v in outcomes)
        )

    @terminal
    def all_decided(self, s):
        """Only stops once every RM has decided and the network is empty."""
        return all(v in ("committed", "aborted") for v in s.rm.values()) and s.network == Bag()


def test_bmc_finds_the_two_phase_commit_bug_with_the_trace_check_reports():
    spec = TwoPhaseCommit(rms=("r1", "r2"), wait_for_all=False)
    explicit = check(spec).verdict("consistent").counterexample
    symbolic = bmc(compile_spec(spec), depth=6)
    verdict = symbolic.verdict("consistent")
    assert verdict.status is Status.VIOLATED
    trace = verdict.counterexample
    assert [s.label for s in trace.steps] == [s.label for s in explicit.steps]
    assert trace.states == explicit.states  # real FrozenMaps and Bags, equal to check's
    assert isinstance(trace.final.network, Bag) and isinstance(trace.final.rm, FrozenMap)
    assert replay(compile_spec(spec), trace).property_fails


def test_bmc_finds_nothing_where_check_finds_nothing():
    spec = TwoPhaseCommit(rms=("r1", "r2"), copies=1)
    assert check(spec).ok
    result = bmc(compile_spec(spec), depth=5)
    assert all(v.status is Status.UNKNOWN for v in result.verdicts)  # runs are unbounded


# --- a small protocol prove can finish ----------------------------------------------------


class Mailbox(State):
    inbox: Annotated[Bag, BagOf(("ping", "pong"), copies=3)]
    seen: Annotated[FrozenMap, MapOf(range(3), Range(0, 2))]


class Pinger(Spec):
    """Pings and pongs in a bag of at most 2 copies each; a count per slot up to 2."""

    limit: int = 2
    most: int = 2  # what `bounded` allows

    def initial_states(self):
        return Mailbox(Bag(), FrozenMap())

    @action(m=("ping", "pong"))
    def send(self, s, m):
        return s.replace(inbox=s.inbox.add(m)) if s.inbox.count(m) < self.limit else None

    @action(m=("ping", "pong"), k=range(3))
    def deliver(self, s, m, k):
        if m not in s.inbox or s.seen.get(k, 0) >= 2:
            return None
        return s.replace(inbox=s.inbox.remove(m), seen=s.seen.set(k, s.seen.get(k, 0) + 1))

    @action(k=range(3))
    def forget(self, s, k):
        return s.replace(seen=s.seen.remove(k)) if k in s.seen else None

    @invariant
    def bounded(self, s):
        """No message is in the bag more than ``most`` times."""
        return s.inbox.count("ping") <= self.most and s.inbox.count("pong") <= self.most

    @invariant
    def seen_is_small(self, s):
        """Each slot counts at most 2, and a slot that has a value counts at least 1."""
        return all(1 <= v <= 2 for v in s.seen.values())


def test_prove_proves_a_map_and_bag_protocol_that_check_finds_correct():
    assert check(Pinger()).ok
    result = prove(compile_spec(Pinger()))
    assert result.ok, [v.reason for v in result.verdicts]


def test_bmc_and_prove_refute_where_check_refutes():
    spec = Pinger(most=1)
    explicit = check(spec).verdict("bounded")
    assert explicit.status is Status.VIOLATED and len(explicit.counterexample) == 2
    symbolic = bmc(compile_spec(spec), depth=3).verdict("bounded")
    assert symbolic.status is Status.VIOLATED
    assert [s.label for s in symbolic.counterexample] == [s.label for s in explicit.counterexample]
    assert not prove(compile_spec(spec)).ok


# --- what the symbolic engine refuses ------------------------------------------------------


class Loose(State):
    network: Bag


class Unbounded(Spec):
    def initial_states(self):
        return Loose(Bag())

    @action
    def send(self, s):
        return Loose(s.network.add("m")) if s.network.count("m") < 1 else None


def test_a_bag_without_bounds_is_rejected_naming_the_field_and_the_fix():
    with pytest.raises(SubsetError, match=r"Loose\.network .*a Bag field needs its bounds.*BagOf"):
        bmc(compile_spec(Unbounded()), depth=2)


def test_the_cli_exits_2_naming_the_field(tmp_path):
    spec = tmp_path / "loose.py"
    spec.write_text(
        "from modelcheck import FrozenMap, Spec, State, action\n"
        "class Loose(State):\n"
        "    votes: FrozenMap\n"
        "class Votes(Spec):\n"
        "    def initial_states(self):\n"
        "        return Loose(FrozenMap())\n"
        "    @action\n"
        "    def vote(self, s):\n"
        "        return None if 'a' in s.votes else Loose(s.votes.set('a', 1))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", "from modelcheck.cli import main; main()", "bmc", str(spec)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Loose.votes" in proc.stderr and "MapOf" in proc.stderr
    assert "Traceback" not in proc.stderr


class Strict(State):
    network: Annotated[Bag, BagOf(("a", "b"), copies=2)]
    votes: Annotated[FrozenMap, MapOf(("x",), bool)]


class Stray(Spec):
    what: str = "element"

    def initial_states(self):
        return Strict(Bag(), FrozenMap())

    @action
    def go(self, s):
        if self.what == "element":
            return s.replace(network=s.network.add("c"))
        if self.what == "key":
            return s.replace(votes=s.votes.set("y", True))
        if self.what == "read":
            return s.replace(votes=s.votes.set("x", not s.votes["x"]))
        return s.replace(network=s.network.add("a"))  # "overflow": the third copy


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("element", r"the element 'c' is not one of the declared elements"),
        ("key", r"the key 'y' is not one of the declared keys of the map \('x'\)"),
        ("read", r"raised KeyError"),
    ],
)
def test_values_outside_the_declared_keys_and_elements_are_rejected(what, message):
    with pytest.raises(SubsetError, match=message):
        bmc(compile_spec(Stray(what=what)), depth=2)


def test_a_bag_holding_more_copies_than_declared_is_a_spec_error_with_its_run():
    with pytest.raises(
        SubsetError, match=r"leaves the declared field types after 3 steps.*network"
    ):
        bmc(compile_spec(Stray(what="overflow")), depth=4)


class Routed(State):
    to: Annotated[int, Range(0, "top")]
    box: Annotated[Bag, BagOf((("m", 0), ("m", 1)), copies=1)]
    last: Annotated[FrozenMap, MapOf((0, 1), bool)]


class Router(Spec):
    """Sends to a symbolic destination; with ``top=2``, to 2, which no key or element names."""

    top: int = 1

    def initial_states(self):
        return Routed(0, Bag(), FrozenMap())

    @action
    def aim(self, s):
        return s.replace(to=s.to + 1) if s.to < self.top else None

    @action
    def send(self, s):
        if ("m", s.to) in s.box:
            return None
        return s.replace(box=s.box.add(("m", s.to)), last=s.last.set(s.to, True))

    @invariant
    def sent_means_recorded(self, s):
        return all(s.last.get(k, False) == (("m", k) in s.box) for k in (0, 1))


def test_symbolic_keys_and_elements_agree_with_check():
    spec = Router()
    assert check(spec).ok
    assert prove(compile_spec(spec)).ok


def test_a_symbolic_key_that_may_be_undeclared_is_outside_the_subset():
    with pytest.raises(SubsetError, match="outside the declared"):
        bmc(compile_spec(Router(top=2)), depth=3)
