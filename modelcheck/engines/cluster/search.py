"""The cluster engine's driver: a level-synchronous BFS over hash-partitioned shards.

The compiled engine's kernel runs in every shard (:mod:`.shard`); this
driver holds no states.  Per BFS level:

1. every shard expands its part of the level and sends each successor, with
   its key (parent's global number x most successors + its place among the
   parent's), to the shard that owns it;
2. every shard admits what it received, least key first, so of the copies
   of a new state it keeps the one the one-process BFS would have found
   first, and sends the driver its new states' keys (8 bytes each);
3. the driver merges the keys into the new level's global numbers (the
   one-process engine's row numbers) and sends each shard its own.

Properties are judged where the one-process kernel judges them (a state's
as it is expanded, a step's as it is made, and past ``--max-depth`` only on
the steps the owner takes), and of each level's candidates the driver keeps
the least by global number or key, so verdicts are the one-process engine's.
Where that engine would stop inside a level (``--max-states``,
``--stop-at-first``), the keys say exactly where: the counts are its counts.
Traces follow the parent references from shard to shard, are decoded here
and re-run by the spec's own code, so they replay.
"""

from __future__ import annotations

import time
from typing import Any

import attrs
import numpy as np

from modelcheck.engines.bfs import (
    MEMORY_LIMIT,
    CheckOptions,
    Progress,
    ProgressCallback,
    excluded_operators,
    operator_escape,
    possibility_verdict,
    recoverability_verdict,
    selected_properties,
    violation_verdict,
)
from modelcheck.engines.cluster.shard import ROW_MASK, SHIFT, owners, warm_up
from modelcheck.engines.cluster.transport import InProcess, OnRay, Shards
from modelcheck.engines.compiled import cache, codegen
from modelcheck.engines.compiled import search as compiled
from modelcheck.engines.parents import path_to
from modelcheck.model import Model, PropertyDef
from modelcheck.result import CheckResult, Statistics, Status, Verdict
from modelcheck.symbolic.program import NotCompilable

#: What stops the one-process engine at the end of the state that violates it.
SETTLING = ("invariant", "action", "terminal")


def check(
    model: Model,
    options: CheckOptions,
    progress: ProgressCallback | None = None,
    shards: int | None = None,
    address: str | None = None,
) -> CheckResult:
    """Explore ``model`` on ``shards`` shards: on Ray at ``address`` ("local": start an
    instance here), or, with ``address`` None, as objects in this process.

    Raises :class:`NotCompilable` where the compiled engine could not give the
    one-process answer (the caller runs another engine).
    """
    for name, on in (
        ("--coverage", options.coverage),
        ("--symmetry", options.symmetry),
        ("--checkpoint", options.checkpoint is not None),
        ("resume", options.resume is not None),
    ):
        if on:
            raise NotCompilable(f"{name} is not supported by the cluster search yet")
    props = selected_properties(model, options.properties)
    # The driver compiles no search of its own: only what the shards run, once, into
    # the disk cache their processes load it from (on this machine).
    started = time.perf_counter()
    prepared = compiled.prepare(model, props, compile_now=False)
    warm_up(
        cache.load(prepared.kernel.source), prepared.layout.words, len(prepared.kernel.properties)
    )
    prepared = attrs.evolve(prepared, seconds=time.perf_counter() - started)
    kinds = tuple(model.property(n).kind for n in prepared.kernel.properties)
    if sum(k == "action" for k in kinds) > 47:
        raise NotCompilable("more than 47 action properties (the cluster search flags 47)")
    record = "recoverable" in kinds
    args = (prepared.kernel.source, prepared.layout.words, kinds, prepared.kernel.buffer, record)
    cluster: Shards
    if address is None:
        cluster = InProcess(shards or 1, *args)
    else:
        cluster = OnRay(address, shards, *args)
    try:
        return _Search(model, options, props, prepared, kinds, cluster).run(progress)
    finally:
        cluster.close()


class _Search:
    def __init__(
        self,
        model: Model,
        options: CheckOptions,
        props: list[PropertyDef],
        prepared: compiled.Prepared,
        kinds: tuple[str, ...],
        cluster: Shards,
    ) -> None:
        self.model, self.options, self.props = model, options, props
        self.prepared, self.layout = prepared, prepared.layout
        self.names = prepared.kernel.properties
        self.kinds = kinds
        self.cluster = cluster
        self.per = prepared.kernel.buffer  # keys: parent number * per + place
        #: Per property: ("state", number, shard, row) or ("step", key, parent ref, row words).
        self.found: dict[int, tuple[Any, ...]] = {}

    # --- the search ---

    def run(self, progress: ProgressCallback | None) -> CheckResult:
        model, options, layout, cluster = self.model, self.options, self.layout, self.cluster
        started = time.perf_counter()
        try:
            initial = list(dict.fromkeys(layout.encode(s) for s in model.initial_states))
        except ValueError as exc:
            raise NotCompilable(f"an initial state is not of the declared types: {exc}") from None
        rows = np.array(initial, np.int64).reshape(len(initial), layout.words)
        cluster.each("add_initial", rows, np.arange(len(rows), dtype=np.int64))
        count, level, transitions, depth = len(rows), len(rows), 0, 0
        truncated = False
        stopped_by: str | None = None
        deadline = None if options.time_limit is None else time.monotonic() + options.time_limit
        try:
            while level:
                frontier = options.max_depth is not None and depth >= options.max_depth
                settled = np.array(
                    [0 if p in self.found else -1 for p in range(len(self.names))], np.int64
                )
                heads, takes = cluster.exchange(
                    "expand", (settled, not frontier), "take", (frontier,)
                )
                self._refuse_problems(heads)
                states, steps = self._candidates(heads, takes, frontier)
                keys = [t["keys"] for t in takes]
                new = sum(len(k) for k in keys)
                stop = self._stop_inside(count, new, keys, states, steps)
                if stop is not None:
                    stopped_by, at, inclusive, place, count = stop
                    transitions += place + sum(cluster.each("made_before", at, inclusive))
                    break
                self._keep(states, steps, None)
                transitions += sum(h["made"] for h in heads)
                truncated = truncated or any(t["truncated"] for t in takes)
                cluster.each_with(
                    "number_level",
                    [(count + _ranks(k, keys),) for k in keys],
                )
                count += new
                level = new
                if new:
                    depth += 1
                if deadline is not None and time.monotonic() > deadline:
                    stopped_by = "time_limit"
                elif options.memory_limit is not None and (self._resident() > options.memory_limit):
                    stopped_by = MEMORY_LIMIT
                if progress is not None:
                    progress(
                        Progress(
                            count,
                            transitions,
                            depth,
                            new,
                            time.perf_counter() - started,
                            self._peak(),
                        )
                    )
                if stopped_by is not None:
                    break
        except KeyboardInterrupt:
            stopped_by = "interrupted"
        seconds = time.perf_counter() - started
        if stopped_by is None and truncated:
            stopped_by = "max_depth"
        complete = stopped_by is None
        try:
            verdicts = [self._verdict(p, count, complete) for p in self.props]
        except KeyboardInterrupt:
            stopped_by, complete = "interrupted", False
            verdicts = [Verdict(p.name, p.kind, Status.UNKNOWN) for p in self.props]
        stats = Statistics(
            count,
            transitions,
            depth,
            seconds,
            self._peak(),
            compile_seconds=self.prepared.seconds,
            shards=cluster.count,
        )
        return CheckResult(
            spec=model.name,
            parameters=dict(model.parameters),
            verdicts=tuple(verdicts),
            statistics=stats,
            complete=complete,
            stopped_by=stopped_by,
            engine="compiled",
            engine_note=self._note(),
        )

    def _note(self) -> str:
        if isinstance(self.cluster, OnRay):
            nodes = len({m[0] for m in self.cluster.each("memory")})
            where = f"on a Ray cluster of {nodes} node{'s' if nodes != 1 else ''}"
        else:
            where = "in this process"
        return f"a level-synchronous BFS, hash-partitioned, {where}"

    def _memories(self) -> list[tuple[str, int, int]]:
        return list(self.cluster.each("memory"))

    def _resident(self) -> int:
        """The most resident memory the shards of one node hold together."""
        per_node: dict[str, int] = {}
        for node, rss, _ in self._memories():
            per_node[node] = per_node.get(node, 0) + rss
        return max(per_node.values())

    def _peak(self) -> int:
        """The largest peak resident memory of one shard."""
        return max(peak for _, _, peak in self._memories())

    def _refuse_problems(self, heads: list[dict[str, Any]]) -> None:
        problems = [h["problem"] for h in heads if h["problem"] is not None]
        if not problems:
            return
        # The least-numbered problem is the one the one-process engine meets first
        # (where it meets one at all: it may stop before; the caller then runs the
        # Python engine, whose answer is the same).
        number, status, detail = min(problems)
        if status == codegen.OUTSIDE_TYPES:
            row = self._row_of_number(number)
            slot = self.layout.slots[detail]
            raise NotCompilable(
                f"a successor of the reachable state {self.layout.decode(row)!r} gives "
                f"{slot.leaf.name} a value outside its declared type "
                f"({compiled._type_text(slot.leaf.ftype)}); the Python engine does not hold "
                "values to the declared types (declare a wider type to use the compiled engine)"
            )
        raise NotCompilable(compiled._inexact(self.prepared.program, self.names, detail))

    def _row_of_number(self, number: int) -> np.ndarray:
        for shard in range(self.cluster.count):
            hit = self.cluster.one(shard, "row_of_number", number)
            if hit is not None:
                return hit
        raise AssertionError(f"no shard holds state number {number}")

    def _candidates(
        self, heads: list[dict[str, Any]], takes: list[dict[str, Any]], frontier: bool
    ) -> tuple[dict[int, tuple[Any, ...]], dict[int, tuple[Any, ...]]]:
        """This level's first violation or witness of each open property, over all shards."""
        states: dict[int, tuple[Any, ...]] = {}
        steps: dict[int, tuple[Any, ...]] = {}
        for shard, head in enumerate(heads):
            for p, (number, row) in head["states"].items():
                if p not in states or number < states[p][1]:
                    states[p] = ("state", number, shard, row)
        step_sources = takes if frontier else heads
        for source in step_sources:
            for p, (key, parent, succ) in source["steps"].items():
                if p not in steps or key < steps[p][1]:
                    steps[p] = ("step", key, parent, succ)
        return states, steps

    def _parent_number(self, found: tuple[Any, ...]) -> int:
        return found[1] if found[0] == "state" else found[1] // self.per

    def _stop_inside(
        self,
        count: int,
        new: int,
        keys: list[np.ndarray],
        states: dict[int, tuple[Any, ...]],
        steps: dict[int, tuple[Any, ...]],
    ) -> tuple[str, int, bool, int, int] | None:
        """Where the one-process engine stops inside this level, if it does: (why, the
        state it stops at, whether that state's steps all count, steps made there before
        it stops, the states found by then); the candidates it had judged are kept."""
        options = self.options
        first = None
        if options.stop_at_first:
            settling = [
                self._parent_number(f)
                for p, f in (states | steps).items()
                if self.kinds[p] in SETTLING
            ]
            first = min(settling) if settling else None
        if options.max_states is not None and count + new > options.max_states:
            merged = np.sort(np.concatenate(keys))
            key = int(merged[options.max_states - count])
            at = key // self.per
            if first is None or at <= first:
                # It stops as it makes this step, before judging it: the states before
                # ``at`` and ``at`` itself were judged, and the steps before this one.
                self._keep(states, steps, (at, key))
                return "max_states", at, False, key % self.per + 1, options.max_states
        if first is not None:
            limit = (first + 1) * self.per
            self._keep(states, steps, (first, limit))
            found = count + sum(int(np.searchsorted(k, limit)) for k in keys)
            return "first_violation", first, True, 0, found
        return None

    def _keep(
        self,
        states: dict[int, tuple[Any, ...]],
        steps: dict[int, tuple[Any, ...]],
        upto: tuple[int, int] | None,
    ) -> None:
        """Keep the candidates judged before the stop ``upto`` = (state, key), or all."""
        for p, f in states.items():
            if upto is None or f[1] <= upto[0]:
                self.found[p] = f
        for p, f in steps.items():
            if upto is None or f[1] < upto[1]:
                self.found[p] = f

    # --- verdicts ---

    def _fetch(self, ref: int) -> tuple[np.ndarray, int]:
        return self.cluster.one(ref >> SHIFT, "row", ref & ROW_MASK)

    def _chain(self, ref: int) -> tuple[Any, dict[Any, Any]]:
        """The state at ``ref`` and its ``state -> parent`` links back to an initial state."""
        words, parent = self._fetch(ref)
        state = self.layout.decode(words)
        links: dict[Any, Any] = {}
        current = state
        while True:
            if parent < 0:
                links[current] = None
                return state, links
            words, grand = self._fetch(parent)
            previous = self.layout.decode(words)
            links[current] = previous
            current, parent = previous, grand

    def _verdict(self, prop: PropertyDef, count: int, complete: bool) -> Verdict:
        model = self.model
        p = self.names.index(prop.name)
        found = self.found.get(p)
        if prop.kind == "reachable":
            if found is None:
                return possibility_verdict(model, prop, {}, None, complete)
            state, links = self._chain((found[2] << SHIFT) | found[3])
            return possibility_verdict(model, prop, links, state, complete)
        if found is not None:
            if found[0] == "state":
                state, links = self._chain((found[2] << SHIFT) | found[3])
                return violation_verdict(model, prop, links, state, None)
            state, links = self._chain(found[2])
            succ = self.layout.decode(found[3])
            return violation_verdict(model, prop, links, state, succ)
        if prop.kind == "recoverable":
            if not complete:
                return Verdict(prop.name, prop.kind, Status.UNKNOWN)
            return self._recoverability(p, prop, count)
        return Verdict(prop.name, prop.kind, Status.HOLDS if complete else Status.UNKNOWN)

    def _recover(self, p: int, allowed: np.ndarray) -> None:
        failed = self.cluster.each("start_recovery", p, allowed)
        if any(f >= 0 for f in failed):
            raise NotCompilable(
                f"{self.model.name}.{self.names[p]} computes a value that does not fit the "
                "compiled engine's integers in a reachable state"
            )
        while True:
            _, marked = self.cluster.exchange("spread_back", (), "mark", ())
            if not any(marked):
                return

    def _recoverability(self, p: int, prop: PropertyDef, count: int) -> Verdict:
        model = self.model
        allowed = np.array(
            [prop.using is None or a.family in prop.using for a in model.actions], np.bool_
        )
        self._recover(p, allowed)
        counts = self.cluster.each("unrecoverable")
        bad = sum(c[0] for c in counts)
        if bad == 0:
            return Verdict(prop.name, prop.kind, Status.HOLDS)
        _, number, shard, row = min((c[1], c[0], s, c[2]) for s, c in enumerate(counts) if c[0])
        del number
        state, links = self._chain((shard << SHIFT) | row)
        trace = path_to(model, links, state)
        escape = None
        operators = excluded_operators(model, prop)
        taken = set().union(*self.cluster.each("actions_taken")) if operators else set()
        if operators and any(model.actions[a].family in operators for a in taken):
            self._recover(p, np.ones(len(model.actions), np.bool_))
            stuck = sum(c[0] for c in self.cluster.each("unrecoverable"))

            def row_recovers(candidate: Any) -> bool:
                words = np.array([self.layout.encode(candidate)], np.int64)
                owner = int(owners(words, self.cluster.count)[0])
                return bool(self.cluster.one(owner, "recovers_row", words[0]))

            escape = operator_escape(model, state, row_recovers, stuck)
        return recoverability_verdict(prop, trace, bad, count, escape)


def _ranks(mine: np.ndarray, every: list[np.ndarray]) -> np.ndarray:
    """The place of each of a shard's new keys among all shards' (each list sorted)."""
    rank = np.zeros(len(mine), np.int64)
    for other in every:
        rank += np.searchsorted(other, mine)
    return rank
