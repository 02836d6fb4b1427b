"""specs/dwfm_leases.py: pinned figures, an independent count, and the collapse as a lasso."""

from __future__ import annotations

from collections import deque

import pytest
from dwfm_leases import DwfmLeases

from modelcheck import Status, check, compile_spec, replay

#: (parameters, states, transitions, depth, {property: steps or None}, lasso (prefix, loop)).
PINNED = [
    (
        {},
        70,
        141,
        13,
        {"recoverable_by_automation": 8, "recoverable_with_operators": 10},
        (8, 2),
    ),
    ({"admission": True}, 54, 105, 11, {}, None),
    (
        {"hosts": 4, "concurrency": 4, "outages": 2},
        256,
        660,
        17,
        {"recoverable_by_automation": 10, "recoverable_with_operators": 12},
        (8, 2),
    ),
    ({"hosts": 4, "concurrency": 4, "outages": 2, "admission": True}, 152, 368, 14, {}, None),
]


@pytest.mark.parametrize(("params", "states", "transitions", "depth", "fails", "lasso"), PINNED)
def test_pinned_counts_verdicts_and_trace_lengths(params, states, transitions, depth, fails, lasso):
    result = check(DwfmLeases(**params))
    st = result.statistics
    assert (st.states, st.transitions, st.depth) == (states, transitions, depth)
    for name, steps in fails.items():
        verdict = result.verdict(name)
        assert verdict.status is Status.VIOLATED and len(verdict.counterexample.steps) == steps
    recover = result.verdict("leases_recover")
    if lasso is None:
        assert all(v.status is Status.HOLDS for v in result.verdicts)
        return
    trace = recover.counterexample
    assert recover.status is Status.VIOLATED
    assert (trace.loop_start, len(trace.steps) - trace.loop_start) == lasso


def test_the_lasso_is_the_collapse_and_replays():
    spec = DwfmLeases()
    trace = check(spec).verdict("leases_recover").counterexample
    loop = trace.steps[trace.loop_start :]
    # The loop is time passing with every renewal in flight timing out and retried.
    assert {step.action for step in loop} == {"tick"}
    stuck = trace.states[trace.loop_start]
    assert spec.work * len(stuck.inflight) > spec.timeout  # renewals outlast the timeout
    assert stuck.queued == 0 and stuck.valid == 0
    assert not any(step.action in ("throttle", "restart") for step in trace.steps)
    outcome = replay(compile_spec(spec), trace)
    assert outcome.legal and outcome.property_fails, outcome.message


def test_a_restart_without_throttling_leads_back_into_the_collapse():
    trace = check(DwfmLeases()).verdict("recoverable_with_operators").counterexample
    actions = [step.action for step in trace.steps]
    assert "restart" in actions and "throttle" not in actions


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="at most the timeout"):
        DwfmLeases(work=3, timeout=2)
    with pytest.raises(ValueError, match="at least 1"):
        DwfmLeases(concurrency=0)


def hand_count(
    hosts=3, concurrency=3, work=1, timeout=2, outages=1, admission=False
) -> tuple[int, int, int]:
    """An independent BFS of the model as the docstring states it (plain tuples)."""
    # (up, outages_left, valid, queued, inflight ages sorted, throttled, restarted)
    start = (True, outages, hosts, 0, (), False, False)

    def successors(s):
        up, left, valid, queued, flight, throttled, restarted = s
        out = []
        if up and left:  # fail
            out.append((False, left - 1, valid, queued + len(flight), (), throttled, restarted))
        if not up:  # heal
            out.append((True, left, valid, queued, flight, throttled, restarted))
        if not up and valid:  # expire
            out.append((up, left, valid - 1, queued + 1, flight, throttled, restarted))
        room = len(flight) < concurrency
        if admission or throttled:
            room = room and work * (len(flight) + 1) <= timeout
        if up and queued and room:  # start
            grown = tuple(sorted((*flight, 0)))
            out.append((up, left, valid, queued - 1, grown, throttled, restarted))
        if up and flight:  # tick
            needed = work * len(flight)
            aged = [a + 1 for a in flight]
            done = sum(1 for a in aged if a >= needed)
            rest = tuple(sorted(0 if a >= timeout else a for a in aged if a < needed))
            out.append((up, left, valid + done, queued, rest, throttled, restarted))
        if not throttled:  # throttle
            out.append((up, left, valid, queued, flight, True, restarted))
        if flight and not restarted:  # restart
            out.append((up, left, valid, queued + len(flight), (), throttled, True))
        return out

    depth = {start: 0}
    queue, transitions = deque([start]), 0
    while queue:
        s = queue.popleft()
        for t in successors(s):
            transitions += 1
            if t not in depth:
                depth[t] = depth[s] + 1
                queue.append(t)
    return len(depth), transitions, max(depth.values())


@pytest.mark.parametrize("params", [p[0] for p in PINNED])
def test_an_independent_bfs_counts_the_same(params):
    states, transitions, depth = hand_count(**params)
    st = check(DwfmLeases(**params)).statistics
    assert (st.states, st.transitions, st.depth) == (states, transitions, depth)


def test_the_trap_report_names_the_operator_actions_that_get_out():
    reason = check(DwfmLeases()).verdict("recoverable_by_automation").reason
    assert "(16 of 70 reachable states are unrecoverable)" in reason
    assert "an operator can: throttle(), restart() from the last state" in reason
    assert "(8 of the 16 cannot recover even with operators)" in reason


def test_the_readme_shows_what_check_prints_and_what_mermaid_draws(tmp_path):
    from test_readme_outputs import BLOCKS, block_after, cli, normal

    command = (
        "modelcheck check specs/dwfm_leases.py --property leases_recover "
        "--property recoverable_by_automation"
    )
    shown = normal(block_after(command)).splitlines()
    assert normal(cli(command, tmp_path)).splitlines()[: len(shown)] == shown
    (diagram,) = [b for kind, b, _, _ in BLOCKS if kind == "mermaid" and "DwfmLeases(" in b]
    drawn = "modelcheck check specs/dwfm_leases.py -q --format mermaid --property leases_recover"
    assert cli(drawn, tmp_path).strip() == diagram.strip()
