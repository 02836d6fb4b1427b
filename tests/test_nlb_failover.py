"""nlb-failover pins its figures, cross-checks a count by hand and replays its lasso."""

from __future__ import annotations

import itertools
from collections import deque
from pathlib import Path

import pytest
from nlb_failover import NlbFailover
from typer.testing import CliRunner

from modelcheck import Status, check, compile_spec, replay
from modelcheck.cli import app

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "nlb_failover.py"

#: (velocity_limit, hold_until_propagated, window_resets) -> (states, transitions,
#: depth, capacity_above_minimum's counterexample length or None when it holds,
#: membership_settles' lasso as (loop_start, steps) or None when it holds).
FIGURES = {
    (False, False, False): (72, 496, 6, 3, (0, 9)),
    (True, False, False): (104, 720, 7, None, None),
    (True, False, True): (104, 760, 7, None, (0, 12)),
    (False, True, False): (16, 104, 4, None, None),
    (True, True, False): (16, 104, 4, None, None),
    (True, True, True): (16, 104, 4, None, None),
}
NO_FIX, VELOCITY, RATE = (False, False, False), (True, False, False), (True, False, True)


def spec_of(flags: tuple[bool, bool, bool], **more: int) -> NlbFailover:
    velocity, hold, window = flags
    return NlbFailover(
        velocity_limit=velocity, hold_until_propagated=hold, window_resets=window, **more
    )


@pytest.fixture(scope="module")
def results():
    return {flags: check(spec_of(flags)) for flags in FIGURES}


@pytest.mark.parametrize("flags", list(FIGURES))
def test_each_configuration_has_its_pinned_states_transitions_and_depth(results, flags):
    result = results[flags]
    assert result.complete
    states, transitions, depth, _, _ = FIGURES[flags]
    stats = result.statistics
    assert (stats.states, stats.transitions, stats.depth) == (states, transitions, depth)


@pytest.mark.parametrize("flags", list(FIGURES))
def test_each_configuration_has_its_pinned_verdicts_and_trace_lengths(results, flags):
    result = results[flags]
    _, _, _, capacity, lasso = FIGURES[flags]
    floor = result.verdict("capacity_above_minimum")
    if capacity is None:
        assert floor.status is Status.HOLDS
    else:
        assert floor.status is Status.VIOLATED
        assert len(floor.counterexample) == capacity
    settles = result.verdict("membership_settles")
    if lasso is None:
        assert settles.status is Status.HOLDS
    else:
        assert settles.status is Status.VIOLATED
        cx = settles.counterexample
        assert (cx.loop_start, len(cx)) == lasso
    assert result.exit_code == (0 if capacity is None and lasso is None else 1)


def test_without_a_fix_three_failing_checks_empty_dns(results):
    cx = results[NO_FIX].verdict("capacity_above_minimum").counterexample
    assert [s.label for s in cx.steps] == [f"check(t={t}, outcome='fail')" for t in range(3)]
    assert cx.steps[-1].state.in_dns == (False, False, False)


def test_the_flip_flop_removes_and_returns_every_target_in_its_loop(results):
    for flags in [NO_FIX, RATE]:
        cx = results[flags].verdict("membership_settles").counterexample
        labels = [s.label for s in cx.steps[cx.loop_start :]]
        for t in range(3):
            assert f"check(t={t}, outcome='fail')" in labels
            assert f"check(t={t}, outcome='pass')" in labels
            assert f"propagate(t={t})" in labels  # the lag ends, and comes back: fair
        assert not any(label.startswith("disable_automation") for label in labels)


def test_the_velocity_limit_read_as_a_rate_keeps_capacity_but_the_flapping_goes_on(results):
    result = results[RATE]
    assert result.verdict("capacity_above_minimum").status is Status.HOLDS
    cx = result.verdict("membership_settles").counterexample
    assert "window()" in [s.label for s in cx.steps]  # windows keep closing: it stays fair
    assert min(s.state.in_dns.count(True) for s in cx.steps) == 1


def test_the_velocity_limit_spends_its_removals_and_then_removes_nothing():
    # Every reachable state of the fix: at most max_removals removals counted, and
    # at most that many targets out; where the count is spent, a failing check of a
    # target in DNS changes nothing (the limit refuses it).
    model = compile_spec(spec_of(VELOCITY))
    seen, todo, spent = set(model.initial_states), list(model.initial_states), 0
    while todo:
        s = todo.pop()
        assert s.removals <= 2 and s.in_dns.count(False) <= 2
        for t in range(3):
            for after in model.find_action("check", {"t": t}).successors(s):
                after = getattr(after, "state", after)
                if s.removals == 2 and s.automation and s.in_dns[t]:
                    spent += 1
                    assert after.in_dns == s.in_dns
        for action in model.actions:
            for after in action.successors(s):
                after = getattr(after, "state", after)
                if after not in seen:
                    seen.add(after)
                    todo.append(after)
    assert len(seen) == FIGURES[VELOCITY][0] and spent > 0


def test_without_churn_restaling_the_lag_ends_the_flapping_by_itself():
    result = check(NlbFailover(churn_restales=False))
    assert result.verdict("membership_settles").status is Status.HOLDS
    assert result.verdict("capacity_above_minimum").status is Status.VIOLATED


def test_the_operator_action_is_not_fair_and_the_automation_is():
    model = compile_spec(NlbFailover())
    fair = {f.label: f.kind for f in model.fairness}
    assert not any("disable_automation" in label for label in fair)
    assert fair["WF(check(t=0))"] == "weak" and fair["WF(propagate(t=2))"] == "weak"
    assert "WF(window)" not in fair  # no velocity control, no window to be fair about
    velocity = {f.label for f in compile_spec(spec_of(VELOCITY)).fairness}
    assert "WF(window)" not in velocity  # a limit for the incident: no window closes
    assert compile_spec(spec_of(RATE)).fairness[-1].label == "WF(window)"


def test_an_operator_who_disables_the_automation_ends_the_flapping():
    # Every state where the operator has acted has all targets in DNS, and from
    # there no check changes membership: a run that takes it settles.
    spec = NlbFailover()
    model = compile_spec(spec)
    (start,) = model.initial_states
    (off,) = model.find_action("disable_automation", {}).successors(start)
    assert off.in_dns == (True,) * 3 and not off.automation
    for t in range(3):
        for after in model.find_action("check", {"t": t}).successors(off):
            assert getattr(after, "state", after).in_dns == off.in_dns


@pytest.mark.parametrize("flags", [NO_FIX, RATE])
def test_the_lasso_replays_as_a_fair_violation(results, flags):
    cx = results[flags].verdict("membership_settles").counterexample
    outcome = replay(compile_spec(spec_of(flags)), cx)
    assert outcome.legal, outcome.message
    assert outcome.property_fails


def test_the_lasso_is_not_a_run_once_checks_before_propagation_are_held(results):
    cx = results[NO_FIX].verdict("membership_settles").counterexample
    outcome = replay(compile_spec(NlbFailover(hold_until_propagated=True)), cx)
    assert not outcome.legal
    assert outcome.steps_replayed == 0  # the first failing check no longer removes


# --- an independent BFS on plain tuples ---------------------------------------------------


def hand_bfs(
    targets: int, velocity: bool, hold: bool, window: bool, limit: int = 2
) -> tuple[int, int, int]:
    """(states, transitions, depth) of the model as the docstring describes it.

    A state is (propagated bits, in-DNS bits, automation on, removals); every
    successor of every action counts as a transition, self-loops included.
    """
    everyone = (1 << targets) - 1
    start = (0, everyone, True, 0)

    def moved(prop: int, dns: int, t: int) -> tuple[int, int]:
        return prop & ~(1 << t), dns ^ (1 << t)  # a membership change restales t

    def successors(s):
        prop, dns, auto, rem = s
        for t in range(targets):
            if not prop >> t & 1:
                yield (prop | 1 << t, dns, auto, rem)  # propagate(t)
        for t in range(targets):  # check(t): propagated passes; otherwise fail or pass
            here, ready = dns >> t & 1, prop >> t & 1
            for fails in (False,) if ready else (True, False):
                if not auto:
                    yield s
                elif (
                    fails and here and not (hold and not ready) and not (velocity and rem >= limit)
                ):
                    yield (*moved(prop, dns, t), auto, rem + 1 if velocity else 0)
                elif not fails and not here:
                    yield (*moved(prop, dns, t), auto, rem)
                else:
                    yield s
        out = targets - bin(dns).count("1")
        if velocity and window and rem != out:
            yield (prop, dns, auto, out)  # window()
        if auto:  # disable_automation(): everyone back; a returned target restales
            yield (prop & dns, everyone, False, 0)

    depth = {start: 0}
    queue = deque([start])
    transitions = 0
    while queue:
        s = queue.popleft()
        for n in successors(s):
            transitions += 1
            if n not in depth:
                depth[n] = depth[s] + 1
                queue.append(n)
    return len(depth), transitions, max(depth.values())


@pytest.mark.parametrize("flags", list(FIGURES))
def test_a_hand_written_bfs_finds_the_same_states_transitions_and_depth(flags):
    assert hand_bfs(3, *flags) == FIGURES[flags][:3]


def test_the_hand_written_bfs_agrees_on_other_sizes():
    for targets in (1, 2, 4):
        for flags in FIGURES:
            stats = check(spec_of(flags, targets=targets)).statistics
            got = (stats.states, stats.transitions, stats.depth)
            assert hand_bfs(targets, *flags) == got, (targets, flags)


# --- the command line and the README ------------------------------------------------------


def test_the_command_exits_1_by_default_and_0_with_the_velocity_fix():
    runner = CliRunner()

    def status(*flags: str) -> int:
        return runner.invoke(app, ["check", str(SPEC), "-q", *flags]).exit_code

    assert status() == 1
    assert status("-p", "velocity_limit=true") == 0
    assert status("-p", "velocity_limit=true", "-p", "window_resets=true") == 1
    assert status("-p", "hold_until_propagated=true") == 0


README_COMMANDS = [
    "modelcheck check specs/nlb_failover.py",
    "modelcheck check specs/nlb_failover.py -p velocity_limit=true",
    "modelcheck check specs/nlb_failover.py -q -p velocity_limit=true -p window_resets=true",
]


@pytest.mark.parametrize("command", README_COMMANDS)
def test_the_readme_shows_what_each_command_prints(command, tmp_path):
    from test_readme_outputs import BLOCKS, cli, normal

    (shown,) = [
        later
        for (kind, body, _, _), (next_kind, later, _, _) in itertools.pairwise(BLOCKS)
        if kind == "bash" and body.strip() == command and next_kind == "text"
    ]
    assert normal(cli(command, tmp_path)) == normal(shown)


def test_the_readme_diagram_is_what_mermaid_draws(tmp_path):
    from test_readme_outputs import BLOCKS, cli

    (shown,) = [b for kind, b, _, _ in BLOCKS if kind == "mermaid" and "NlbFailover(" in b]
    command = (
        "modelcheck check specs/nlb_failover.py -q --format mermaid --property membership_settles"
    )
    assert cli(command, tmp_path).strip() == shown.strip()
