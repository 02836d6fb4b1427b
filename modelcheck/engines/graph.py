"""Whole-graph analyses run after a search: recoverability.

The search records the explored graph in compressed-sparse-row form: the
successors of state ``i`` are ``targets[offsets[i]:offsets[i+1]]``, reached
by action instances ``actions[...]`` at the same positions.
"""

from __future__ import annotations

from collections.abc import Sequence


def unrecoverable(
    count: int,
    offsets: Sequence[int],
    targets: Sequence[int],
    actions: Sequence[int],
    allowed: Sequence[bool],
    good: Sequence[bool],
) -> list[int]:
    """States (in increasing order) from which no ``good`` state is reachable.

    Only edges whose action is ``allowed`` count.  Works backwards from the
    good states over reversed edges, so it is linear in the graph's size.
    """
    reverse: list[list[int]] = [[] for _ in range(count)]
    for source in range(count):
        for pos in range(offsets[source], offsets[source + 1]):
            if allowed[actions[pos]]:
                reverse[targets[pos]].append(source)
    reached = list(good)
    stack = [n for n in range(count) if good[n]]
    while stack:
        node = stack.pop()
        for prev in reverse[node]:
            if not reached[prev]:
                reached[prev] = True
                stack.append(prev)
    return [n for n in range(count) if not reached[n]]
