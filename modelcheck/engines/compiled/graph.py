"""Recoverability on the compiled engine's edge arrays (reverse reachability, in numba)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def recoverable_states(count, offsets, targets, acts, allowed, good):
    """Per state, whether a ``good`` state is reachable using only ``allowed`` actions.

    Works backwards from the good states over the reversed edges (built here
    in compressed form), so it is linear in the size of the graph.
    """
    incoming = np.zeros(count + 1, np.int64)
    for source in range(count):
        for pos in range(offsets[source], offsets[source + 1]):
            if allowed[acts[pos]]:
                incoming[targets[pos] + 1] += 1
    for i in range(count):
        incoming[i + 1] += incoming[i]
    fill = incoming[:-1].copy()
    sources = np.empty(incoming[count], np.int64)
    for source in range(count):
        for pos in range(offsets[source], offsets[source + 1]):
            if allowed[acts[pos]]:
                t = targets[pos]
                sources[fill[t]] = source
                fill[t] += 1
    reached = good.copy()
    stack = np.empty(count, np.int64)
    top = 0
    for i in range(count):
        if good[i]:
            stack[top] = i
            top += 1
    while top > 0:
        top -= 1
        node = stack[top]
        for pos in range(incoming[node], incoming[node + 1]):
            prev = sources[pos]
            if not reached[prev]:
                reached[prev] = True
                stack[top] = prev
                top += 1
    return reached
