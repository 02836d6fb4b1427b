"""What every shard keeps the same way, whatever expands its states.

A shard (:mod:`.shard` runs the compiled kernel on packed rows,
:mod:`.python_shard` the spec's own Python code on ``State`` objects) stores
its states in discovery order, so in BFS order, and beside them, per state,
its global BFS number and the reference (shard << :data:`SHIFT` | row) of
the state that discovered it; with a recoverability property, the reversed
edges into its states.  This module holds that bookkeeping and the backward
search of recoverability over the reversed edges, which need neither numba
nor the spec.
"""

from __future__ import annotations

import os
import resource
import sys
from typing import Any

import numpy as np

#: Rows of a shard's arrays at the start (they double as they fill).
START = 1 << 12
#: A global reference to a stored state: shard number << SHIFT | row.
SHIFT = 40
ROW_MASK = (1 << SHIFT) - 1
#: Bits of a successor's ``extra`` word below its action-property flags: its action.
ACT_BITS = 16


def grown(array: np.ndarray, need: int) -> np.ndarray:
    """``array``, or a copy twice (or more) as long when it has fewer than ``need`` rows."""
    if need <= len(array):
        return array
    size = len(array)
    while size < need:
        size *= 2
    bigger = np.empty((size, *array.shape[1:]), array.dtype)
    bigger[: len(array)] = array
    return bigger


class StoredStates:
    """A shard's numbers, parent references, level bounds and reversed edges.

    Subclasses store the states themselves and give :meth:`_good` (which of
    them satisfy a property) for the recoverability search.
    """

    def __init__(self, index: int, shards: int, record: bool) -> None:
        self.index, self.shards = index, shards
        self.record = record
        self.number = np.empty(START, np.int64)
        self.parent = np.empty(START, np.int64)
        self.count = 0
        # The rows of the level being expanded, and the successors each one made.
        self.lo = self.hi = 0
        self.made = np.zeros(0, np.int64)
        # The new states of the level being admitted: their keys, in order.
        self.keys = np.zeros(0, np.int64)
        self.edges: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.recovers = np.zeros(0, np.bool_)
        self.reached = np.zeros(0, np.int64)

    def _after_admission(
        self,
        frontier: bool,
        where: np.ndarray,
        sorted_meta: np.ndarray,
        successor: Any,
    ) -> dict[int, tuple[int, int, Any]]:
        """What every shard does once a batch is admitted (``where``: each step's row, -1
        where a step past --max-depth was not taken; ``sorted_meta`` in key order): the
        recorded edges of the steps taken, and past --max-depth each action property's
        first violating step taken, its successor from ``successor(place in key order)``."""
        taken = where >= 0
        steps: dict[int, tuple[int, int, Any]] = {}
        if frontier:
            for p, kind in enumerate(self.kinds):
                if kind != "action":
                    continue
                hits = np.flatnonzero(taken & ((sorted_meta[:, 2] >> (ACT_BITS + p)) & 1 == 1))
                if len(hits):
                    q = int(hits[0])
                    steps[p] = (int(sorted_meta[q, 0]), int(sorted_meta[q, 1]), successor(q))
        if self.record:
            self.edges.append(
                (
                    where[taken],
                    sorted_meta[taken, 1],
                    (sorted_meta[taken, 2] & ((1 << ACT_BITS) - 1)).astype(np.int16),
                )
            )
        return steps

    def _room_for_numbers(self, need: int) -> None:
        self.number = grown(self.number, need)
        self.parent = grown(self.parent, need)

    def number_level(self, numbers: np.ndarray) -> None:
        """Give the level just admitted its global numbers; it is the next to expand."""
        self.lo, self.hi = self.count - len(numbers), self.count
        self.number[self.lo : self.hi] = numbers

    def made_before(self, number: int, inclusive: bool) -> int:
        """Steps made by this level's states numbered below ``number`` (or up to it)."""
        numbers = self.number[self.lo : self.lo + len(self.made)]
        upto = int(np.searchsorted(numbers, number, side="right" if inclusive else "left"))
        return int(self.made[:upto].sum())

    def memory(self) -> tuple[str, int, int]:
        """This shard's node, resident and peak resident memory in bytes."""
        node = os.uname().nodename
        # Only where Ray is already imported (a shard in this process does not pay for
        # importing it, about 0.4 s).
        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized():
            node = ray.get_runtime_context().get_node_id()
        rss = 0
        try:
            with open("/proc/self/statm", encoding="ascii") as statm:
                rss = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            pass
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return node, rss, peak

    def _snapshot(self, states: Any) -> dict[str, Any]:
        """What a checkpoint keeps of this shard between levels: ``states`` (each kind of
        shard's own), and the numbers, parents, level and edges every shard has."""
        n = self.count
        where, src, act = self._edge_arrays()
        return {
            "states": states,
            "number": self.number[:n].copy(),
            "parent": self.parent[:n].copy(),
            "level": np.array([self.lo, self.hi], np.int64),
            "edge_to": where,
            "edge_from": src,
            "edge_action": act,
        }

    def _restore_numbers(self, saved: dict[str, Any]) -> int:
        """The numbers, parents, level and edges of a :meth:`_snapshot` (once room is made
        for its states); how many states it holds."""
        n = len(saved["states"])
        self.number[:n] = saved["number"]
        self.parent[:n] = saved["parent"]
        self.count = n
        self.lo, self.hi = (int(x) for x in saved["level"])
        self.made = np.zeros(0, np.int64)
        self.edges = []
        if self.record and len(saved["edge_to"]):
            self.edges.append((saved["edge_to"], saved["edge_from"], saved["edge_action"]))
        return n

    def _edge_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The recorded steps into this shard's states: target rows, source refs, actions."""
        if not self.edges:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int16)
        return (
            np.concatenate([e[0] for e in self.edges]),
            np.concatenate([e[1] for e in self.edges]),
            np.concatenate([e[2] for e in self.edges]),
        )

    # --- recoverability: backwards from the good states over the reversed edges ---

    def _good(self, prop: int) -> tuple[np.ndarray, int]:
        """Which stored states satisfy property ``prop``, and -1 (or the first row where
        it could not be judged)."""
        raise NotImplementedError

    def start_recovery(self, prop: int, allowed: np.ndarray) -> int:
        """Mark this shard's good states (-1, or the row whose property could not be judged)."""
        good, failed = self._good(prop)
        if failed >= 0:
            return failed
        dst, src, act = self._edge_arrays()
        keep = allowed[act]
        dst, src = dst[keep], src[keep]
        order = np.argsort(dst, kind="stable")
        self.sources = src[order]
        self.offsets = np.zeros(self.count + 1, np.int64)
        np.cumsum(np.bincount(dst, minlength=self.count), out=self.offsets[1:])
        self.recovers = good
        self.reached = np.flatnonzero(good)
        return -1

    def spread_back(self) -> list[Any]:
        """How many states newly found to recover this shard looks back from, then the rows,
        per shard, of the states with a step into one of them."""
        rows = self.reached
        lo, hi = self.offsets[rows], self.offsets[rows + 1]
        lens = hi - lo
        total = int(lens.sum())
        pos = np.repeat(lo - np.cumsum(lens) + lens, lens) + np.arange(total)
        src = self.sources[pos]
        shard = src >> SHIFT
        return [len(rows), *(src[shard == s] & ROW_MASK for s in range(self.shards))]

    def mark(self, *incoming: np.ndarray) -> int:
        """Mark the rows sent back as recovering; how many of them are new."""
        rows = np.unique(np.concatenate(incoming)) if incoming else np.zeros(0, np.int64)
        rows = rows[~self.recovers[rows]]
        self.recovers[rows] = True
        self.reached = rows
        return len(rows)

    def unrecoverable(self) -> tuple[int, int, int]:
        """How many states cannot recover, and the global number and row of the first."""
        bad = np.flatnonzero(~self.recovers)
        if len(bad) == 0:
            return 0, -1, -1
        return len(bad), int(self.number[bad[0]]), int(bad[0])

    def actions_taken(self) -> set[int]:
        """The action instances of the steps into this shard's states."""
        return {int(a) for e in self.edges for a in np.unique(e[2])}
