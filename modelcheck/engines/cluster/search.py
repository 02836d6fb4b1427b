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
from modelcheck.engines.checkpoints import clean
from modelcheck.engines.cluster.shard import ROW_MASK, SHIFT, owners, warm_up
from modelcheck.engines.cluster.transport import InProcess, OnRay, ShardLost, Shards
from modelcheck.engines.compiled import cache, checkpoint, codegen
from modelcheck.engines.compiled import search as compiled
from modelcheck.engines.parents import path_to
from modelcheck.errors import CheckpointError
from modelcheck.model import Model, PropertyDef
from modelcheck.result import CheckResult, Statistics, Status, Verdict
from modelcheck.symbolic.program import NotCompilable

#: What stops the one-process engine at the end of the state that violates it.
SETTLING = ("invariant", "action", "terminal")
#: How often one run starts its shards again after losing one (with --checkpoint).
MAX_RESTARTS = 3


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
    for name, on in (("--coverage", options.coverage), ("--symmetry", options.symmetry)):
        if on:
            raise NotCompilable(f"{name} is not supported by the cluster search yet")
    props = selected_properties(model, options.properties)
    # The driver compiles no search of its own: only what the shards run, once, into
    # the disk cache their processes load it from (on this machine).
    started = time.perf_counter()
    prepared = compiled.prepare(model, props, compile_now=False)
    saved = None
    if options.resume is not None:  # refused before the JIT when it is not this run's
        saved = checkpoint.load(options.resume, "cluster")
        shards = _resumed_shards(saved[0], shards, options.resume)
        checkpoint.refuse_mismatch(
            saved[0], _identity(model, options, prepared, shards), options.resume
        )
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
        search = _Search(model, options, props, prepared, kinds, cluster)
        return search.run(progress, saved)
    finally:
        cluster.close()


def _resumed_shards(manifest: dict[str, Any], asked: int | None, folder: str) -> int:
    """The shard count of a resumed run: the checkpoint's (states are placed by it)."""
    had = int(manifest.get("shards", 0))
    if asked is not None and asked != had:
        raise CheckpointError(
            f"the checkpoint in {folder} was written by {had} shards, and this run asks for "
            f"{asked}: each shard's states are its part of the hash space, so a resumed run "
            f"has the same number of shards; resume with --shards {had} (or leave it out)"
        )
    return had


def _identity(
    model: Model, options: CheckOptions, prepared: compiled.Prepared, shards: int
) -> dict[str, Any]:
    """What a cluster checkpoint must match to be resumed by this run."""
    identity = compiled._identity(model, options, prepared.kernel)
    return dict(identity, engine="cluster", shards=shards)


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
        self.saver = _Saver(options, _identity(model, options, prepared, cluster.count), cluster)

    def _restore(self, manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Put every shard and the first violations back where the checkpoint has them."""
        names = ("states", "number", "parent", "level", "edge_to", "edge_from", "edge_action")
        self.cluster.each_with(
            "restore",
            [({n: arrays[f"s{i}_{n}"] for n in names},) for i in range(self.cluster.count)],
        )
        self.found = {int(p): _found_from_json(f) for p, f in manifest["found"].items()}

    # --- the search ---

    def run(
        self,
        progress: ProgressCallback | None,
        saved: tuple[dict[str, Any], dict[str, np.ndarray]] | None = None,
    ) -> CheckResult:
        """The search, from the initial states or from the checkpoint ``saved``; where a
        shard is lost and this run has written a checkpoint (or asked for one), the shards
        are started again and the search goes on from its last checkpoint."""
        restarts: list[str] = []
        while True:
            try:
                result = self._run(progress, saved)
            except ShardLost as exc:
                if self.options.checkpoint is None:
                    raise ShardLost(
                        f"{exc} With --checkpoint DIR, the run starts its shards again and "
                        "goes on from its last checkpoint."
                    ) from None
                if len(restarts) == MAX_RESTARTS:
                    raise ShardLost(
                        f"{exc} The shards were started again {MAX_RESTARTS} times in this "
                        "run; it stops here. Its last checkpoint stays in "
                        f"{self.options.checkpoint} (modelcheck resume goes on from it)."
                    ) from None
                self.cluster.restart()
                saved = self.saver.last()
                restarts.append(
                    "a shard was lost; the shards were started again and the search went on "
                    + (
                        f"from its checkpoint at {saved[0]['count']:,} states"
                        if saved is not None
                        else "from the initial states (no checkpoint had been written yet)"
                    )
                )
                continue
            if restarts:
                note = "; ".join([result.engine_note or "", *restarts])
                result = attrs.evolve(result, engine_note=note)
            return result

    def _run(
        self,
        progress: ProgressCallback | None,
        saved: tuple[dict[str, Any], dict[str, np.ndarray]] | None,
    ) -> CheckResult:
        model, options, layout, cluster = self.model, self.options, self.layout, self.cluster
        started = time.perf_counter()
        before = 0.0  # seconds spent before the checkpoint this run goes on from
        self.found = {}
        if saved is not None:
            manifest = saved[0]
            self._restore(*saved)
            count, level = int(manifest["count"]), int(manifest["level"])
            transitions, depth = int(manifest["transitions"]), int(manifest["depth"])
            truncated, before = bool(manifest["truncated"]), float(manifest["seconds"])
        else:
            try:
                initial = list(dict.fromkeys(layout.encode(s) for s in model.initial_states))
            except ValueError as exc:
                raise NotCompilable(
                    f"an initial state is not of the declared types: {exc}"
                ) from None
            rows = np.array(initial, np.int64).reshape(len(initial), layout.words)
            cluster.each("add_initial", rows, np.arange(len(rows), dtype=np.int64))
            count, level, transitions, depth = len(rows), len(rows), 0, 0
            truncated = False
        stopped_by: str | None = None
        deadline = None if options.time_limit is None else time.monotonic() + options.time_limit

        def position() -> dict[str, Any]:
            return {
                "count": count,
                "level": level,
                "transitions": transitions,
                "depth": depth,
                "truncated": truncated,
                "seconds": before + time.perf_counter() - started,
            }

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
                            before + time.perf_counter() - started,
                            self._peak(),
                        )
                    )
                if stopped_by is not None:
                    self.saver.save(position(), self.found)  # where a limit stopped it
                    break
                self.saver.between_levels(position(), self.found)
        except KeyboardInterrupt:
            stopped_by = "interrupted"
        seconds = before + time.perf_counter() - started
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


class _Saver:
    """Writes the cluster's checkpoints, when asked for, at most every ``checkpoint_every``
    minutes: every shard's snapshot and the driver's counters, in one file."""

    def __init__(self, options: CheckOptions, identity: dict[str, Any], cluster: Shards) -> None:
        self.folder, self.resumed = options.checkpoint, options.resume
        self.every = 60 * options.checkpoint_every
        self.identity, self.cluster = identity, cluster
        self.written = False
        self.since = time.monotonic()
        if self.folder is not None:
            clean(self.folder)

    def between_levels(self, position: dict[str, Any], found: dict[int, Any]) -> None:
        if self.folder is not None and time.monotonic() - self.since >= self.every:
            self.save(position, found)

    def save(self, position: dict[str, Any], found: dict[int, Any]) -> None:
        if self.folder is None:
            return
        manifest = dict(
            self.identity,
            **position,
            found={str(p): _found_to_json(f) for p, f in found.items()},
        )
        arrays: dict[str, np.ndarray] = {}
        for i, snapshot in enumerate(self.cluster.each("snapshot")):
            arrays |= {f"s{i}_{name}": value for name, value in snapshot.items()}
        checkpoint.save(self.folder, manifest, arrays, "cluster")
        self.written = True
        self.since = time.monotonic()

    def last(self) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
        """The checkpoint this run wrote last, or else the one it resumed (None: neither)."""
        if self.folder is not None and self.written:
            return checkpoint.load(self.folder, "cluster")
        if self.resumed is not None:
            return checkpoint.load(self.resumed, "cluster")
        return None


def _found_to_json(found: tuple[Any, ...]) -> list[Any]:
    return [found[0], *(int(x) for x in found[1:3]), np.asarray(found[3]).tolist()]


def _found_from_json(found: list[Any]) -> tuple[Any, ...]:
    kind, a, b, c = found
    return (kind, a, b, c) if kind == "state" else (kind, a, b, np.array(c, np.int64))


def _ranks(mine: np.ndarray, every: list[np.ndarray]) -> np.ndarray:
    """The place of each of a shard's new keys among all shards' (each list sorted)."""
    rank = np.zeros(len(mine), np.int64)
    for other in every:
        rank += np.searchsorted(other, mine)
    return rank
