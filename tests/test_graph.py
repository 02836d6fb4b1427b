"""Whole-graph analysis: which states cannot reach a good state."""

from __future__ import annotations

from modelcheck.engines.graph import unrecoverable


def csr(count, edges):
    """Compressed-sparse-row form of ``[(source, target, action), ...]``."""
    offsets, targets, actions = [0], [], []
    for node in range(count):
        for source, target, act in edges:
            if source == node:
                targets.append(target)
                actions.append(act)
        offsets.append(len(targets))
    return offsets, targets, actions


def test_every_state_of_a_cycle_through_a_good_state_recovers():
    offsets, targets, actions = csr(3, [(0, 1, 0), (1, 2, 0), (2, 0, 0)])
    assert unrecoverable(3, offsets, targets, actions, [True], [False, False, True]) == []


def test_a_dead_end_and_what_only_leads_to_it_are_unrecoverable():
    # 0 -> 1 -> 2 (good); 0 -> 3 -> 4 (dead end); 3 cannot go back.
    edges = [(0, 1, 0), (1, 2, 0), (0, 3, 0), (3, 4, 0)]
    good = [False, False, True, False, False]
    assert unrecoverable(5, *csr(5, edges), [True], good) == [3, 4]


def test_edges_of_actions_not_allowed_do_not_count():
    # 1 -> 0 by action 1 (the operator) is the only way back to the good state 0.
    edges = [(0, 1, 0), (1, 0, 1)]
    graph = csr(2, edges)
    assert unrecoverable(2, *graph, [True, True], [True, False]) == []
    assert unrecoverable(2, *graph, [True, False], [True, False]) == [1]


def test_with_no_good_state_everything_is_unrecoverable_in_increasing_order():
    edges = [(2, 1, 0), (1, 0, 0)]
    assert unrecoverable(3, *csr(3, edges), [True], [False] * 3) == [0, 1, 2]


def test_a_long_chain_is_handled_without_recursion_limits():
    n = 50_000
    good = [False] * (n - 1) + [True]
    assert unrecoverable(n, *csr_chain(n), [True], good) == []
    assert unrecoverable(n, *csr_chain(n), [True], [True] + [False] * (n - 1)) == list(range(1, n))


def csr_chain(n):
    # i -> i + 1 for every i < n - 1, built directly (csr() above is quadratic).
    offsets = [*range(n), n - 1]
    targets = list(range(1, n))
    return offsets, targets, [0] * (n - 1)
