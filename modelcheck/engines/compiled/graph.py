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


@njit(cache=True, nogil=True)
def link(offsets, targets, acts, first, sstart, states, off, keep, edge, res, rowof, bact, marks):
    """The edges of a part of a batch that nothing stops (every step is taken): the part's
    states are rows ``first`` on, its successors batch rows ``off`` to ``off + keep``, its
    first edge number ``edge``.  ``marks`` holds the kernel's (NEW, BATCH, LOCAL): how
    ``claim`` and ``expand`` marked a successor that is not a stored row."""
    new, batch, local = marks[0], marks[1], marks[2]
    for s in range(states):
        offsets[first + s] = edge + sstart[s]
    for J in range(off, off + keep):
        idx = res[J]
        if idx < 0:
            if idx <= -batch:  # claimed first in an earlier part
                idx = rowof[-idx - batch]
            elif idx <= -local:  # made before in this part: as that one
                f = off - idx - local
                idx = res[f]
                if idx == new:
                    idx = rowof[f]
                elif idx < 0:
                    idx = rowof[-idx - batch]
            else:  # claimed here: numbered
                idx = rowof[J]
        targets[edge + J - off] = idx
        acts[edge + J - off] = bact[J]
