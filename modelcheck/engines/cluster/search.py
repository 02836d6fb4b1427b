"""The cluster engine's driver: a level-synchronous BFS over hash-partitioned shards.

Every shard runs the compiled engine's kernel (:mod:`.shard`) or, for a spec
outside the compiled subset, the spec's own Python code (:mod:`.python_shard`);
a *plan* (:mod:`.compiled_plan`, :mod:`.python_plan`) is what differs between
the two for the driver: how states are sent, decoded and placed, what is
compiled first, how checkpoints are written.  This driver holds no states.
Per BFS level:

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

:func:`check` runs the compiled kernel where it can give the one-process
answer and the Python shards otherwise; what neither can do exactly it
refuses (:class:`~modelcheck.engines.cluster.Refused`), for the caller to run
the Python engine in one process.
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
from modelcheck.engines.checkpoints import engine_of
from modelcheck.engines.cluster import Refused
from modelcheck.engines.cluster.plan import Plan, Saved, Saver, resumed_shards
from modelcheck.engines.cluster.stored import ROW_MASK, SHIFT
from modelcheck.engines.cluster.transport import InProcess, OnRay, ShardLost, Shards
from modelcheck.engines.compiled import numba_missing
from modelcheck.engines.parents import path_to
from modelcheck.model import Model, PropertyDef
from modelcheck.result import CheckResult, Statistics, Status, Verdict
from modelcheck.symbolic.program import NotCompilable

#: What stops the one-process engine at the end of the state that violates it.
SETTLING = ("invariant", "action", "terminal")
#: How often one run starts its shards again after losing one (with --checkpoint).
MAX_RESTARTS = 3
#: Action properties a step's flags have room for (above its action's 16 bits).
MOST_ACTION_PROPERTIES = 47


def check(
    model: Model,
    options: CheckOptions,
    progress: ProgressCallback | None = None,
    shards: int | None = None,
    address: str | None = None,
) -> CheckResult:
    """Explore ``model`` on ``shards`` shards: on Ray at ``address`` ("local": start an
    instance here), or, with ``address`` None, as objects in this process.

    The shards run the compiled kernel where the spec is in its subset (and
    ``options.engine`` is not "python"), the spec's Python code otherwise.
    Raises :class:`Refused` where neither can give the one-process answer
    (the caller runs the Python engine in one process).
    """
    for name, on in (("--coverage", options.coverage), ("--symmetry", options.symmetry)):
        if on:
            raise Refused(f"{name} is not supported by the cluster search yet")
    props = selected_properties(model, options.properties)
    live = [p.name for p in props if p.liveness]
    if live:
        raise Refused(
            f"liveness properties ({', '.join(live)}) are checked by the Python engine's "
            "fair-cycle search only"
        )
    actions = sum(p.kind == "action" for p in props)
    if actions > MOST_ACTION_PROPERTIES:
        raise Refused(
            f"more than {MOST_ACTION_PROPERTIES} action properties (the cluster search flags "
            f"{MOST_ACTION_PROPERTIES})"
        )
    resumed = None if options.resume is None else engine_of(options.resume)
    if options.engine == "python":
        reason = "the Python engine was asked for"
    else:
        reason = numba_missing()
    if resumed != "cluster-python" and reason is None:
        from modelcheck.engines.cluster.compiled_plan import CompiledPlan  # imports numba

        try:
            return _search(model, options, progress, shards, address, CompiledPlan(model, props))
        except NotCompilable as exc:
            if resumed == "cluster":
                raise
            reason = str(exc)
    if resumed == "cluster":
        raise NotCompilable(reason or "the compiled engine cannot run")
    from modelcheck.engines.cluster.python_plan import PythonPlan

    plan = PythonPlan(model, props, options)
    if reason is not None and options.engine != "python":
        plan.note = f"the compiled kernel was not used ({reason})"
    return _search(model, options, progress, shards, address, plan)


def _search(
    model: Model,
    options: CheckOptions,
    progress: ProgressCallback | None,
    shards: int | None,
    address: str | None,
    plan: Plan,
) -> CheckResult:
    """Run the search of ``plan``'s shards (from its checkpoint with ``options.resume``)."""
    saved = None
    if options.resume is not None:  # refused before the JIT when it is not this run's
        folder = options.resume
        count: list[int] = []

        def expected(manifest: dict[str, Any]) -> dict[str, Any]:
            count.append(resumed_shards(manifest, shards, folder))
            return plan.identity(options, count[0])

        saved = plan.load(folder, expected)
        shards = count[0]
    plan.start()
    args = plan.shard_args()
    cluster: Shards
    if address is None:
        cluster = InProcess(plan.shard_class, shards or 1, *args)
    else:
        by_value = plan.pickled_by_value()
        cluster = OnRay(plan.shard_class, address, shards, *args, by_value=by_value)
    try:
        return _Search(model, options, plan, cluster).run(progress, saved)
    finally:
        cluster.close()


class _Search:
    def __init__(self, model: Model, options: CheckOptions, plan: Plan, cluster: Shards) -> None:
        self.model, self.options, self.plan = model, options, plan
        self.props = [model.property(n) for n in plan.names]
        self.names, self.kinds = plan.names, plan.kinds
        self.cluster = cluster
        self.per = plan.per  # keys: parent number * per + place
        #: Per property: ("state", number, shard, row) or ("step", key, parent ref, successor).
        self.found: dict[int, tuple[Any, ...]] = {}
        self.saver = Saver(options, plan.identity(options, cluster.count), plan, cluster)

    def _restore(self, saved: Saved) -> None:
        """Put every shard and the first violations back where the checkpoint has them."""
        _, found, snapshots = saved
        self.cluster.each_with("restore", [(snapshot,) for snapshot in snapshots])
        self.found = dict(found)

    # --- the search ---

    def run(
        self,
        progress: ProgressCallback | None,
        saved: Saved | None = None,
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
        saved: Saved | None,
    ) -> CheckResult:
        model, options, cluster = self.model, self.options, self.cluster
        started = time.perf_counter()
        before = 0.0  # seconds spent before the checkpoint this run goes on from
        self.found = {}
        if saved is not None:
            manifest = saved[0]
            self._restore(saved)
            count, level = int(manifest["count"]), int(manifest["level"])
            transitions, depth = int(manifest["transitions"]), int(manifest["depth"])
            truncated, before = bool(manifest["truncated"]), float(manifest["seconds"])
        else:
            initial, count = self.plan.initial()
            cluster.each("add_initial", initial, np.arange(count, dtype=np.int64))
            level, transitions, depth = count, 0, 0
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
                self._refuse_problems([*heads, *takes])
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
            compile_seconds=self.plan.seconds,
            shards=cluster.count,
        )
        return CheckResult(
            spec=model.name,
            parameters=dict(model.parameters),
            verdicts=tuple(verdicts),
            statistics=stats,
            complete=complete,
            stopped_by=stopped_by,
            engine=self.plan.engine,
            engine_note=self._note(),
        )

    def _note(self) -> str:
        if isinstance(self.cluster, OnRay):
            nodes = len({m[0] for m in self.cluster.each("memory")})
            where = f"on a Ray cluster of {nodes} node{'s' if nodes != 1 else ''}"
        else:
            where = "in this process"
        note = f"a level-synchronous BFS, hash-partitioned, {where}"
        if self.plan.engine == "python":
            note += ", the spec's Python code on every shard"
        return f"{note}; {self.plan.note}" if self.plan.note else note

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

    def _refuse_problems(self, replies: list[dict[str, Any]]) -> None:
        problems = [r["problem"] for r in replies if r.get("problem") is not None]
        if not problems:
            return
        # The least-numbered problem is the one the one-process engine meets first
        # (where it meets one at all: it may stop before; the caller then runs the
        # Python engine, whose answer is the same).
        self.plan.refuse(min(problems), self._row_of_number)

    def _row_of_number(self, number: int) -> Any:
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

    def _fetch(self, ref: int) -> tuple[Any, int]:
        return self.cluster.one(ref >> SHIFT, "row", ref & ROW_MASK)

    def _chain(self, ref: int) -> tuple[Any, dict[Any, Any]]:
        """The state at ``ref`` and its ``state -> parent`` links back to an initial state."""
        words, parent = self._fetch(ref)
        state = self.plan.decode(words)
        links: dict[Any, Any] = {}
        current = state
        while True:
            if parent < 0:
                links[current] = None
                return state, links
            words, grand = self._fetch(parent)
            previous = self.plan.decode(words)
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
            succ = self.plan.decode(found[3])
            return violation_verdict(model, prop, links, state, succ)
        if prop.kind == "recoverable":
            if not complete:
                return Verdict(prop.name, prop.kind, Status.UNKNOWN)
            return self._recoverability(p, prop, count)
        return Verdict(prop.name, prop.kind, Status.HOLDS if complete else Status.UNKNOWN)

    def _recover(self, p: int, allowed: np.ndarray) -> None:
        failed = self.cluster.each("start_recovery", p, allowed)
        if any(f >= 0 for f in failed):
            self.plan.recovery_failed(p)
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
                owner, row = self.plan.lookup(candidate, self.cluster.count)
                return bool(self.cluster.one(owner, "recovers_row", row))

            escape = operator_escape(model, state, row_recovers, stuck)
        return recoverability_verdict(prop, trace, bad, count, escape)


def _ranks(mine: np.ndarray, every: list[np.ndarray]) -> np.ndarray:
    """The place of each of a shard's new keys among all shards' (each list sorted)."""
    rank = np.zeros(len(mine), np.int64)
    for other in every:
        rank += np.searchsorted(other, mine)
    return rank
