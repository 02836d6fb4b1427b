"""One shard of the cluster engine: the states whose hash falls in its part, and their work.

A shard is a plain object (the Ray actor is this class, wrapped by
:mod:`modelcheck.engines.cluster.transport`): it knows nothing of the spec
but its compiled kernel, and keeps

* its states as packed rows in discovery order (so in BFS order: levels one
  after the other, each in the order of the states' global numbers), with an
  open-addressing visited table of row numbers as the one-process engine's;
* per state, its global BFS number (``number``) and the shard and row of the
  state that discovered it (``parent``, 8 bytes each);
* with a recoverability property, the reversed edges into its states

(the numbers, references and edges as every shard keeps them: :mod:`.stored`).

Per level it expands its part of the frontier (``spread``) into successor
batches, one per owning shard, each successor with its key: the parent's
global number times the kernel's most successors per state, plus the
successor's place among its parent's successors.  Keys order steps as the
one-process BFS makes them, so the owner keeps, of the copies of a new state
it receives, the one with the least key (the step that discovers it there),
and numbers its new states in key order.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from modelcheck.engines.cluster.stored import ACT_BITS, SHIFT, START, StoredStates, grown
from modelcheck.engines.compiled import cache
from modelcheck.engines.compiled.codegen import DONE, O_DETAIL, O_END, O_STATUS, O_SUCC, OUT_SIZE

#: States expanded per kernel call (its buffers hold their successors).
CHUNK = 1 << 13
#: The visited table grows (doubling) when it is this full.
LOAD = 0.7
#: The multiplier and shift of the kernel's hash (``_mix`` in the generated code).
_MIX = np.int64(-7046029254386353131)


def owners(rows: np.ndarray, shards: int) -> np.ndarray:
    """The shard that owns each row: bits of the kernel's hash that neither its table
    slot nor its tag uses, so a shard's states spread over its whole table."""
    h = np.zeros(len(rows), np.int64)
    with np.errstate(over="ignore"):
        for j in range(rows.shape[1]):
            h = (h ^ rows[:, j]) * _MIX
            h ^= h >> 31
    return ((h >> 32) & 0xFFFF) % shards


def warm_up(module: Any, words: int, props: int) -> None:
    """Compile the kernel functions a shard calls (into the disk cache), on empty arrays."""
    width = max(props, 1)
    states = np.zeros((1, words), np.int64)
    found = np.full(width, -1, np.int64)
    out = np.zeros(OUT_SIZE, np.int64)
    nb = np.zeros((1, words), np.int64)
    module.spread(
        states,
        0,
        0,
        found,
        True,
        nb,
        np.zeros(1, np.int64),
        np.zeros(1, np.int64),
        np.zeros((1, width), np.bool_),
        np.zeros((1, width), np.bool_),
        out,
    )
    table = np.zeros(2, np.int32)
    order = np.zeros(0, np.int64)
    module.place(states, table, 1, 0, nb, order, False, order, np.zeros(0, np.bool_))
    module.rehash(states, 0, table, 1)
    module.good(states, 0, -1, np.zeros(1, np.bool_))


class Shard(StoredStates):
    """The states of one part of the hash space (see the module docstring)."""

    def __init__(
        self,
        index: int,
        shards: int,
        source: str,
        words: int,
        kinds: tuple[str, ...],
        buffer: int,
        record: bool,
        cache_folder: str | None = None,
    ) -> None:
        if cache_folder is not None:
            os.environ[cache.CACHE_ENV] = cache_folder
        super().__init__(index, shards, record)
        self.module = cache.load(source)
        warm_up(self.module, words, len(kinds))
        self.words, self.kinds, self.buffer = words, kinds, buffer
        self.props = len(kinds)
        self.states = np.empty((START, words), np.int64)
        self.table = np.zeros(2 * START, np.int32)

    # --- the search ---

    def _room(self, more: int) -> None:
        need = self.count + more
        self.states = grown(self.states, need)
        self._room_for_numbers(need)
        if need > LOAD * len(self.table):
            size = len(self.table)
            while need > LOAD * size:
                size *= 2
            self.table = np.zeros(size, np.int32)
            self.module.rehash(self.states, self.count, self.table, size - 1)

    def add_initial(self, rows: np.ndarray, numbers: np.ndarray) -> int:
        """Store the initial states this shard owns (``rows`` in order, each once)."""
        mine = owners(rows, self.shards) == self.index
        rows, numbers = rows[mine], numbers[mine]
        self._room(len(rows))
        n = len(rows)
        self.states[:n] = rows
        self.number[:n] = numbers
        self.parent[:n] = -1
        self.count = n
        self.module.rehash(self.states, n, self.table, len(self.table) - 1)
        self.lo, self.hi = 0, n
        return n

    def expand(self, found: np.ndarray, settle: bool) -> list[Any]:
        """Expand this shard's part of the level: a summary, then one successor batch per
        shard (``rows``, ``meta`` with columns key, parent reference, action | flags << 16).

        The summary: ``made`` (steps), ``problem`` (None or (number, status, detail) of the
        first state the kernel could not expand exactly), ``states`` (per state property:
        (number, row) of the first state of the range that violates or witnesses it),
        ``steps`` (per action property, with ``settle``: (key, parent reference, successor
        row) of its first violating step).
        """
        lo, hi, words, props = self.lo, self.hi, self.words, self.props
        width = max(props, 1)
        span = max(1, min(CHUNK, (1 << 20) // self.buffer))
        out = np.zeros(OUT_SIZE, np.int64)
        rows_parts, meta_parts, made = [], [], []
        states_first: dict[int, tuple[int, int]] = {}
        steps_first: dict[int, tuple[int, int, np.ndarray]] = {}
        problem = None
        found = found.copy()
        flags_of = np.array([1 << (ACT_BITS + p) for p in range(width)], np.int64)
        for a in range(lo, hi, span):
            b = min(a + span, hi)
            nb = np.empty(((b - a) * self.buffer, words), np.int64)
            bact = np.empty(len(nb), np.int64)
            sstart = np.empty(b - a + 1, np.int64)
            sflags = np.zeros((b - a, width), np.bool_)
            aflags = np.zeros((len(nb), width), np.bool_)
            self.module.spread(
                self.states, a, b, found, settle, nb, bact, sstart, sflags, aflags, out
            )
            if out[O_STATUS] != DONE:
                at = int(out[O_END])
                problem = (int(self.number[at]), int(out[O_STATUS]), int(out[O_DETAIL]))
                b = at  # the states before it were expanded in full
            k = int(sstart[b - a]) if problem is not None else int(out[O_SUCC])
            counts = np.diff(sstart[: b - a + 1])
            made.append(counts)
            parents = np.repeat(np.arange(a, b, dtype=np.int64), counts)
            ordinal = np.arange(k, dtype=np.int64) - np.repeat(sstart[: b - a], counts)
            keys = self.number[parents] * self.buffer + ordinal
            meta = np.empty((k, 3), np.int64)
            meta[:, 0] = keys
            meta[:, 1] = (self.index << SHIFT) | parents
            meta[:, 2] = bact[:k] | (aflags[:k] @ flags_of if props else 0)
            rows_parts.append(nb[:k])
            meta_parts.append(meta)
            for p in range(props):
                if found[p] != -1:
                    continue
                if self.kinds[p] != "action":
                    hits = np.flatnonzero(sflags[: b - a, p])
                    if len(hits):
                        row = a + int(hits[0])
                        states_first[p] = (int(self.number[row]), row)
                        found[p] = row  # settled in this range: the rest skip it
                elif settle:
                    hits = np.flatnonzero(aflags[:k, p])
                    if len(hits):
                        j = int(hits[0])
                        steps_first[p] = (int(keys[j]), int(meta[j, 1]), nb[j].copy())
                        found[p] = 0
            if problem is not None:
                break
        self.made = np.concatenate(made) if made else np.zeros(0, np.int64)
        rows = np.concatenate(rows_parts) if rows_parts else np.zeros((0, words), np.int64)
        meta = np.concatenate(meta_parts) if meta_parts else np.zeros((0, 3), np.int64)
        own = owners(rows, self.shards)
        order = np.argsort(own, kind="stable")
        bounds = np.searchsorted(own[order], np.arange(self.shards + 1))
        summary = {
            "made": int(self.made.sum()),
            "problem": problem,
            "states": states_first,
            "steps": steps_first,
        }
        batches = [
            (rows[order[bounds[s] : bounds[s + 1]]], meta[order[bounds[s] : bounds[s + 1]]])
            for s in range(self.shards)
        ]
        return [summary, *batches]

    def take(self, frontier: bool, *batches: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:
        """Admit the successors sent to this shard, least key first: the new states' keys
        (in order), whether a step past --max-depth was not taken, and (past it) each
        action property's first violating step that was taken."""
        rows = np.concatenate([b[0] for b in batches])
        meta = np.concatenate([b[1] for b in batches])
        order = np.argsort(meta[:, 0], kind="stable")
        self._room(len(rows))
        before = self.count
        where = np.empty(len(rows), np.int64)
        fresh = np.empty(len(rows), np.bool_)
        self.count = int(
            self.module.place(
                self.states,
                self.table,
                len(self.table) - 1,
                self.count,
                rows,
                order,
                frontier,
                where,
                fresh,
            )
        )
        sorted_meta = meta[order]
        self.parent[before : self.count] = sorted_meta[fresh, 1]
        self.keys = sorted_meta[fresh, 0]
        steps = self._after_admission(frontier, where, sorted_meta, lambda q: rows[order[q]])
        return {
            "new": self.count - before,
            "keys": self.keys,
            "truncated": bool(frontier and (where < 0).any()),
            "steps": steps,
        }

    def snapshot(self) -> dict[str, Any]:
        """What a checkpoint keeps of this shard between levels (the table is rebuilt)."""
        return self._snapshot(self.states[: self.count].copy())

    def restore(self, saved: dict[str, Any]) -> int:
        """Go on from a :meth:`snapshot`: its states stored, its last level next to expand."""
        n = len(saved["states"])
        self.count = 0
        self._room(n)
        self.states[:n] = saved["states"]
        self._restore_numbers(saved)
        self.table[:] = 0
        self.module.rehash(self.states, n, self.table, len(self.table) - 1)
        return n

    def row(self, row: int) -> tuple[np.ndarray, int]:
        """A stored state's words and its parent's reference (-1 for an initial state)."""
        return self.states[row].copy(), int(self.parent[row])

    def row_of_number(self, number: int) -> np.ndarray | None:
        """The words of the state with this global number, if this shard holds it."""
        hits = np.flatnonzero(self.number[: self.hi] == number)
        return self.states[int(hits[0])].copy() if len(hits) else None

    # --- recoverability: backwards from the good states over the reversed edges ---

    def _good(self, prop: int) -> tuple[np.ndarray, int]:
        good = np.zeros(self.count, np.bool_)
        return good, int(self.module.good(self.states, self.count, prop, good))

    def recovers_row(self, row: np.ndarray) -> bool:
        """Whether the stored state ``row`` recovers (in the last recovery computed)."""
        hits = np.flatnonzero((self.states[: self.count] == row).all(axis=1))
        return bool(len(hits)) and bool(self.recovers[int(hits[0])])
