"""Exhaustive breadth-first exploration.

The search keeps every distinct state in a list that is also the BFS queue
(state ``i`` is expanded once all states before it are), and a dict from each
state to the state it was first reached from.  States are numbered in
discovery order, so depth never decreases with the number: the first
violation found for a property is a shortest one, and following parents
gives its trace.

The loop that expands states is generated per model
(:mod:`modelcheck.engines.expand`); this module drives it level by level, in
chunks, and handles depth, limits, progress and interruption between chunks.
Properties are evaluated inside the loop (invariants per state, action
properties per step, the terminal check on states without successors);
recoverability and liveness need the whole graph, so edges are recorded only
when such a property is checked and analysed after the search
(:mod:`modelcheck.engines.graph`, :mod:`modelcheck.engines.liveness`).

State constraints (``@constraint``) follow TLC: a state failing one is kept
apart from the state space (not counted, numbered or expanded) but the
invariants and ``@reachable`` predicates are still evaluated on it, once a
BFS level is done, so that a deeper state outside the constraint never
displaces a shallower counterexample or witness.
"""

from __future__ import annotations

import gc
import resource
import sys
import time
from collections import ChainMap
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from modelcheck.engines import checkpoints
from modelcheck.engines.diagnose import diagnose, property_error
from modelcheck.engines.expand import ChunkAborted, ChunkFunction, LoopShape, StopSearch, generate
from modelcheck.engines.iteration_order import probe_iteration_order
from modelcheck.engines.parents import path_to
from modelcheck.errors import ModelcheckError, SpecError
from modelcheck.model import Model, PropertyDef
from modelcheck.properties import explain, satisfied
from modelcheck.result import ActionCoverage, CheckResult, Statistics, Status, Verdict
from modelcheck.symmetry import SymmetryDef, asymmetry
from modelcheck.trace import Step, Trace

#: The engines ``CheckOptions.engine`` can name.
ENGINES = ("auto", "python", "compiled")
#: How ``CheckOptions.store`` can keep the visited states: the states themselves,
#: or 64-bit fingerprints (:mod:`modelcheck.engines.fingerprint_search`).
STORES = ("exact", "fingerprints")


def store_refusal(
    store: str,
    *,
    engine: str = "auto",
    workers: int = 1,
    ray: str | None = None,
    coverage: bool = False,
    checkpoint: str | None = None,
    resume: str | None = None,
) -> str | None:
    """Why these options cannot go with ``store`` (None: they can), in one paragraph."""
    if store not in STORES:
        return f"--store {store}: unknown store; choose one of {', '.join(STORES)}."
    if store == "exact":
        return None
    what = (
        "--store fingerprints runs on the Python engine (the compiled engine already "
        "stores whole states in about 14 bytes each, exactly)"
    )
    if engine == "compiled" or ray is not None:
        option = "--engine compiled" if ray is None else "--ray"
        return f"{what}; drop {option} or --store fingerprints."
    if workers > 1:
        return f"{what}, on one core; drop --workers {workers} or --store fingerprints."
    if coverage:
        return (
            "--coverage with --store fingerprints: coverage counts steps over the stored state "
            "graph, and the fingerprint store keeps none; drop one of them."
        )
    if checkpoint is not None or resume is not None:
        return (
            "--checkpoint with --store fingerprints: the fingerprint store writes no "
            "checkpoints yet; drop one of them (a checkpointed run keeps the exact store)."
        )
    return None


@attrs.frozen
class CheckOptions:
    """How to run a check.  ``None`` means no limit."""

    #: Names of the properties to check (``None``: all the spec declares).
    properties: tuple[str, ...] | None = None
    max_states: int | None = None
    max_depth: int | None = None
    #: Seconds.
    time_limit: float | None = None
    #: Stop as soon as any property is violated.
    stop_at_first: bool = False
    #: Call the progress callback (and check the time limit) every this many
    #: expanded states.
    progress_every: int = 1 << 10
    #: Count, per action instance, the states it was enabled in and the steps
    #: it took (keeps the state graph, so it costs memory).
    coverage: bool = False
    #: Stop cleanly (``stopped_by="memory_limit"``) once the process's resident
    #: memory passes this many bytes; checked every ``progress_every`` states.
    memory_limit: int | None = None
    #: Which engine runs it: "auto", "python" or "compiled" (see
    #: :mod:`modelcheck.engines.selection`; this module is the Python engine).
    engine: str = "auto"
    #: Threads the compiled engine expands each BFS level with (the answer is the
    #: same for any number; the Python engine runs on one).
    workers: int = 1
    #: Symmetry reduction: explore one state per orbit of the spec's declared
    #: :class:`~modelcheck.spec.Symmetry` (both engines, to the same
    #: representatives; counts are then orbits, and the result says so).
    symmetry: bool = False
    #: A folder to write checkpoints to, and the least minutes between two of them
    #: (0: at every BFS level); see :mod:`modelcheck.engines.checkpoints`.
    checkpoint: str | None = None
    checkpoint_every: float = 10.0
    #: A folder whose checkpoint this run continues (same spec, parameters, options).
    resume: str | None = None
    #: Explore on a Ray cluster (:mod:`modelcheck.engines.cluster`): "local" starts an
    #: instance on this machine, anything else is the address of one to join.  Its shards
    #: run the compiled kernel, or (outside the subset, or with engine "python") the
    #: spec's Python code.
    ray: str | None = None
    #: Shards of the cluster search (default: one per CPU of the cluster).
    shards: int | None = None
    #: How visited states are kept (:data:`STORES`): "exact" compares whole states;
    #: "fingerprints" keeps a 64-bit fingerprint per state (a few bytes instead of
    #: hundreds), at the risk, which the result estimates, that a collision hides one.
    store: str = "exact"

    def __attrs_post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {self.engine!r}")
        for name in (
            "max_states",
            "max_depth",
            "progress_every",
            "memory_limit",
            "workers",
            "shards",
        ):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        if self.workers > 1 and self.engine == "python":
            raise ValueError(
                f"workers={self.workers} with engine='python': the Python engine runs on one "
                "core; use engine='compiled' (or 'auto') for more, or leave workers at 1"
            )
        if self.ray is not None and self.workers > 1:
            raise ValueError(
                "ray= runs the search on shards (one core each): leave workers at 1 and ask "
                "for more shards"
            )
        if self.shards is not None and self.ray is None:
            raise ValueError(
                f"shards={self.shards} without ray=: shards are a cluster search's; pass "
                "ray='local' (or a cluster's address) too"
            )
        refused = store_refusal(
            self.store,
            engine=self.engine,
            workers=self.workers,
            ray=self.ray,
            coverage=self.coverage,
            checkpoint=self.checkpoint,
            resume=self.resume,
        )
        if refused is not None:
            raise ValueError(refused)
        if not self.checkpoint_every >= 0:
            raise ValueError(
                f"checkpoint_every must be a number of minutes, 0 or more, not "
                f"{self.checkpoint_every!r}"
            )
        if self.time_limit is not None and not self.time_limit > 0:
            raise ValueError(
                f"time_limit must be a positive number of seconds, not {self.time_limit!r}"
            )


@attrs.frozen
class Progress:
    """A snapshot passed to the progress callback."""

    states: int
    transitions: int
    depth: int
    queued: int
    seconds: float
    peak_memory_bytes: int

    @property
    def states_per_second(self) -> float:
        """Distinct states found per second so far."""
        return self.states / self.seconds if self.seconds > 0 else 0.0


ProgressCallback = Callable[[Progress], None]


def peak_memory_bytes() -> int:
    """Peak resident set size of this process, in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def resident_memory_bytes() -> int:
    """This process's resident memory now (Linux); elsewhere its peak so far."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return peak_memory_bytes()


def between_chunks(deadline: float | None, memory_limit: int | None) -> None:
    """What a Python search does between two chunks of a level: collect the young
    generation (the cyclic collector is paused), and stop at a time or memory limit."""
    gc.collect(0)
    if deadline is not None and time.monotonic() > deadline:
        raise StopSearch("time_limit")
    if memory_limit is not None and resident_memory_bytes() > memory_limit:
        raise StopSearch(MEMORY_LIMIT)


def stop_reason(cause: BaseException) -> str | None:
    """Why a chunk aborted by ``cause`` stops the search (a limit, Ctrl-C, no memory left);
    None when ``cause`` is an error of the spec's, to be diagnosed."""
    if isinstance(cause, StopSearch):
        return cause.reason
    if isinstance(cause, KeyboardInterrupt):
        return "interrupted"
    if isinstance(cause, MemoryError):
        return OUT_OF_MEMORY
    return None


def selected_properties(model: Model, names: tuple[str, ...] | None) -> list[PropertyDef]:
    if names is None:
        return list(model.properties)
    return [model.property(n) for n in names]


#: ``stopped_by`` when Python could not get memory for the search: the result
#: is partial, like one stopped by a limit, and says so.
OUT_OF_MEMORY = "out_of_memory"
#: ``stopped_by`` when the process passed ``CheckOptions.memory_limit``.
MEMORY_LIMIT = "memory_limit"


def check(
    model: Model, options: CheckOptions | None = None, progress: ProgressCallback | None = None
) -> CheckResult:
    """Explore every reachable state of ``model`` breadth-first and check its properties."""
    options = options or CheckOptions()
    props = selected_properties(model, options.properties)
    symmetry = reduction(model, options)
    canonical = None if symmetry is None else symmetry.canonical
    # Before the search: an action that depends on set iteration order would
    # make counts and traces change with PYTHONHASHSEED.
    probe_iteration_order(model, options.max_states)
    invariants = [p for p in props if p.kind == "invariant"]
    action_props = [p for p in props if p.kind == "action"]
    terminals = [p for p in props if p.kind == "terminal"]
    recoverables = [p for p in props if p.kind == "recoverable"]
    reachables = [p for p in props if p.kind == "reachable"]
    liveness = [p for p in props if p.liveness]

    constraints = [c.check for c in model.constraints]
    # States outside the constraint: state -> parent, and in discovery order.
    outside: dict[Any, Any] = {}
    outside_order: list[Any] = []
    states: list[Any] = []
    initial = model.initial_states
    if canonical is not None:
        initial = tuple(dict.fromkeys(map(canonical, initial)))
    for init in initial:
        if model.within(init):
            states.append(init)
        else:
            outside[init] = None
            outside_order.append(init)
    # state -> the state it was first reached from (None for initial states).
    # Parents are kept as references to existing objects, so the visited set
    # costs no allocation beyond its own entries.
    index: dict[Any, Any] = dict.fromkeys(states)
    # The whole graph is kept only when an analysis after the search needs it.
    # Liveness needs the graph too, except where a constraint keeps it from
    # being checked at all (see _liveness_refused).
    record_graph = (
        bool(recoverables) or options.coverage or (bool(liveness) and not model.constraints)
    )
    ids: dict[Any, int] = {s: n for n, s in enumerate(states)} if record_graph else {}
    edge_offsets: list[int] = []
    edge_targets: list[int] = []
    edge_actions: list[int] = []

    # First violation per property: (state, successor or None).
    found: dict[str, tuple[Any, Any]] = {}
    # First (shallowest) state satisfying each @reachable predicate.
    witnessed: dict[str, Any] = {}
    max_depth = options.max_depth if options.max_depth is not None else sys.maxsize
    deadline = None if options.time_limit is None else time.monotonic() + options.time_limit
    every = options.progress_every
    memory_limit = options.memory_limit

    def loop(frontier: bool) -> ChunkFunction:
        # The hot loop for the properties still unsettled (see expand.py).
        def live(group: list[PropertyDef]) -> list[tuple[str, Any]]:
            return [(p.name, p.check) for p in group if p.name not in found]

        shape = LoopShape(
            record_graph=record_graph,
            frontier=frontier,
            max_states=options.max_states,
            stop_at_first=options.stop_at_first,
        )
        return generate(
            model.actions,
            live(invariants),
            live(action_props),
            live(terminals),
            shape,
            states=states,
            index=index,
            found=found,
            graph=(ids, edge_offsets, edge_targets, edge_actions),
            witnesses=[(p.name, p.check) for p in reachables if p.name not in witnessed],
            witnessed=witnessed,
            constraints=constraints,
            outside=(outside, outside_order),
            canonical=canonical,
        )

    checked_outside = 0

    def check_outside() -> None:
        # The states outside the constraint found since the last call (one BFS
        # level deeper than the states just expanded): invariants and
        # @reachable predicates, as TLC checks invariants on them.
        nonlocal checked_outside
        parents = ChainMap(index, outside)
        settled = len(found)
        for t in outside_order[checked_outside:]:
            for prop in (*invariants, *reachables):
                if prop.name in found or prop.name in witnessed:
                    continue
                try:
                    value = prop.holds(t)
                except Exception as exc:
                    trace = path_to(model, parents, t, symmetry)
                    where = "a state outside the constraint"
                    raise property_error(model, prop, exc, trace, t, where) from exc
                if prop.kind == "reachable" and value:
                    witnessed.setdefault(prop.name, t)
                elif prop.kind == "invariant" and not value:
                    found.setdefault(prop.name, (t, None))
        checked_outside = len(outside_order)
        if options.stop_at_first and len(found) != settled:
            raise StopSearch("first_violation")

    loops: dict[bool, ChunkFunction] = {}
    transitions = 0
    known_violations = known_witnesses = 0
    depth = 0
    truncated_depth = False
    stopped_by: str | None = None
    done = 0  # states expanded
    started = time.perf_counter() - model.compile_seconds  # initial states included
    identity = _identity(model, options, props)
    # The level under way when the checkpoint being resumed was taken: where it ends.
    resumed_level: int | None = None
    if options.resume is not None:
        manifest, saved = checkpoints.load_pickled(options.resume, identity)
        (states, index, outside, outside_order, found, witnessed) = saved[:6]
        (edge_offsets, edge_targets, edge_actions) = saved[6:9]
        checked_outside, transitions, truncated_depth = saved[9:12]
        depth, done, resumed_level = manifest["depth"], manifest["done"], manifest["level_end"]
        started -= manifest["seconds"] - model.compile_seconds
        if record_graph:
            ids = {s: n for n, s in enumerate(states)}

    def save_checkpoint(level_end: int) -> None:
        # Everything the search needs to go on from ``done`` (with ``level_end`` the end
        # of the level under way), between two chunks.
        manifest = dict(
            identity,
            depth=depth,
            done=done,
            level_end=level_end,
            states=len(states),
            seconds=time.perf_counter() - started,
        )
        saved = (states, index, outside, outside_order, found, witnessed)
        saved += (edge_offsets, edge_targets, edge_actions)
        saved += (checked_outside, transitions, truncated_depth)
        checkpoints.save_pickled(options.checkpoint, manifest, saved)

    last_checkpoint = time.monotonic()
    if options.checkpoint is not None:
        checkpoints.clean(options.checkpoint)
    # The visited set holds millions of long-lived tuples; CPython's cyclic
    # collector would traverse them again and again (measured: 0.6 s of 3.6 s
    # on dns-race E=3 M=3 G=5).  States are immutable and the loop makes no
    # cycles, so automatic collection is paused during the search and only
    # the young generation is collected every ``every`` states, which still
    # frees any cyclic garbage a spec's actions leave behind.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if resumed_level is None:
            check_outside()  # initial states outside the constraint
        # One BFS level at a time, in chunks of ``every`` states: depth,
        # limits and progress are handled between chunks, not per state.
        while done < len(states):
            if resumed_level is not None:
                level_end, resumed_level = resumed_level, None
            else:
                level_end = len(states)
                if (
                    options.checkpoint is not None
                    and time.monotonic() - last_checkpoint >= 60 * options.checkpoint_every
                ):
                    save_checkpoint(level_end)
                    last_checkpoint = time.monotonic()
            frontier = depth >= max_depth
            while done < level_end:
                if (
                    len(found) != known_violations
                    or len(witnessed) != known_witnesses
                    or frontier not in loops
                ):
                    # A property's verdict is settled by its first (shortest)
                    # violation or witness: stop checking it.
                    known_violations, known_witnesses = len(found), len(witnessed)
                    loops.clear()
                    loops[frontier] = loop(frontier)
                chunk_end = min(done + every, level_end)
                n, truncated = loops[frontier](states[done:chunk_end])
                transitions += n
                truncated_depth = truncated_depth or truncated
                ticked = done // every != chunk_end // every
                done = chunk_end
                if not ticked:
                    continue  # a short chunk at the end of a level
                between_chunks(deadline, memory_limit)
                if progress is not None:
                    progress(
                        Progress(
                            len(states),
                            transitions,
                            depth,
                            len(states) - done,
                            time.perf_counter() - started,
                            peak_memory_bytes(),
                        )
                    )
            check_outside()
            if done < len(states):
                depth += 1
    except ChunkAborted as aborted:
        transitions += aborted.transitions
        cause = aborted.cause
        stopped_by = stop_reason(cause)
        if stopped_by is None:  # an error of the spec's own code (RecursionError included)
            if isinstance(cause, Exception):
                raise diagnose(model, index, aborted.state, cause, symmetry) from cause
            raise cause from None
    except StopSearch as stop:
        stopped_by = stop.reason
        if options.checkpoint is not None and stop.reason in ("time_limit", MEMORY_LIMIT):
            save_checkpoint(level_end)  # between two chunks: go on from where it stopped
    except KeyboardInterrupt:
        stopped_by = "interrupted"
    except MemoryError:
        stopped_by = OUT_OF_MEMORY
    finally:
        if collecting:
            gc.enable()
    seconds = time.perf_counter() - started
    if stopped_by is None and truncated_depth:
        stopped_by = "max_depth"
    complete = stopped_by is None

    if record_graph:
        edge_offsets.append(len(edge_targets))

    parents: Mapping[Any, Any] = ChainMap(index, outside) if outside else index
    warnings: list[str] = []
    live_graph: list[Any] = []  # built once, for the first liveness property

    def verdict(prop: PropertyDef, complete: bool) -> Verdict:
        if prop.liveness:
            if model.constraints:
                return _liveness_refused(model, prop, warnings)
            if not complete:
                return Verdict(prop.name, prop.kind, Status.UNKNOWN)
            from modelcheck.engines import liveness as live  # beside the search, not in it

            if not live_graph:
                graph = live.Graph(len(states), edge_offsets, edge_targets, edge_actions)
                live_graph.append(graph)
                warnings.extend(live.never_enabled_fairness(model, graph))
            initial = range(len(model.initial_states))  # no constraint: all are explored
            result, notes = live.liveness_verdict(
                model, prop, states, live_graph[0], initial, index
            )
            warnings.extend(notes)
            return result
        if prop.name in found:
            state, succ = found[prop.name]
            return violation_verdict(model, prop, parents, state, succ, symmetry)
        if prop.kind == "reachable":
            witness = witnessed.get(prop.name)
            return possibility_verdict(model, prop, parents, witness, complete, symmetry)
        if prop.kind == "recoverable":
            graph = (edge_offsets, edge_targets, edge_actions)
            return _recoverability(model, prop, states, ids, *graph, complete, index, symmetry)
        return Verdict(prop.name, prop.kind, Status.HOLDS if complete else Status.UNKNOWN)

    try:
        verdicts = [verdict(prop, complete) for prop in props]
        coverage = (
            _coverage(model, states, ids, edge_offsets, edge_targets, edge_actions)
            if options.coverage
            else ()
        )
    except KeyboardInterrupt:
        # Ctrl-C during the analyses after the search (recoverability takes
        # seconds on large graphs) still ends with what was found: the
        # violations, and nothing claimed to hold.
        stopped_by, complete, coverage = "interrupted", False, ()
        verdicts = [verdict(prop, complete) for prop in props]
    stats = Statistics(
        len(states), transitions, depth, seconds, peak_memory_bytes(), constrained=len(outside)
    )
    return CheckResult(
        spec=model.name,
        parameters=dict(model.parameters),
        verdicts=tuple(verdicts),
        statistics=stats,
        complete=complete,
        stopped_by=stopped_by,
        engine="python",
        coverage=coverage,
        warnings=tuple(warnings),
        symmetry="" if symmetry is None else symmetry.description,
    )


def _liveness_refused(model: Model, prop: PropertyDef, warnings: list[str]) -> Verdict:
    """A liveness property of a spec with a ``@constraint``: not checked, and why.

    The states outside a constraint are not expanded, so their futures are
    unknown: treating them as deadlocks (they stutter forever) would invent
    counterexamples, and leaving them out would miss real ones, and which
    actions are enabled on the constraint's border is unknown either way.
    """
    names = ", ".join(f"{model.name}.{c.name}" for c in model.constraints)
    reason = (
        f"not checked: the state constraint {names} leaves states unexplored, and a liveness "
        "verdict needs every infinite run; bound the model with parameters instead of a "
        "@constraint to check it"
    )
    if not any(w.startswith("liveness is not checked") for w in warnings):
        warnings.append(
            f"liveness is not checked with a @constraint ({names}): the verdicts of the liveness "
            "properties are unknown"
        )
    return Verdict(prop.name, prop.kind, Status.UNKNOWN, reason=reason)


def reduction(model: Model, options: CheckOptions) -> SymmetryDef | None:
    """The symmetry ``options`` asks to reduce by, validated (None: no reduction)."""
    if not options.symmetry:
        return None
    if model.symmetry is None:
        raise ModelcheckError(
            f"symmetry reduction was asked for, but {model.name} declares no symmetry; "
            "declare one (symmetry = Symmetry('ids', per_id=(...)) on the spec class, see "
            "README 'Symmetry reduction') or drop --symmetry."
        )
    if options.coverage:
        raise ModelcheckError(
            "coverage with symmetry reduction: the reduced search takes one step per orbit, "
            "so per-action counts would not be those of the spec; drop --coverage or "
            "--symmetry."
        )
    symmetry = model.symmetry
    props = selected_properties(model, options.properties)
    live = [p.name for p in props if p.liveness]
    if live:
        raise ModelcheckError(
            f"liveness with symmetry reduction ({', '.join(live)}): a fair cycle of the reduced "
            "graph need not be one of the spec, since per-process fairness is renamed along "
            "it; check liveness without --symmetry, or select the other properties with "
            "--property."
        )
    try:
        problem = asymmetry(
            symmetry,
            model.initial_states,
            # States outside a constraint are not extended, as in the search.
            lambda state: [t for _act, t in model.successors(state)] if model.within(state) else [],
            [(p.name, p.holds) for p in props if p.kind != "action"],
            [(p.name, p.holds) for p in props if p.kind == "action"],
        )
    except Exception:
        # A spec that raises is reported by the search itself, with its trace.
        problem = None
    if problem is not None:
        raise SpecError(
            f"{model.name}.symmetry ({symmetry.description}) is not a symmetry of the spec: "
            f"{problem}. Declare every field indexed by an id (per_id) or holding one "
            "(holds_id), or check without --symmetry."
        )
    return symmetry


def _identity(model: Model, options: CheckOptions, props: list[PropertyDef]) -> dict[str, Any]:
    """What a checkpoint of this search must match to be resumed by it."""
    import hashlib
    import inspect
    import json
    from pathlib import Path

    from modelcheck._version import __version__

    try:
        source = Path(inspect.getsourcefile(type(model.spec)) or "").read_bytes()
    except (OSError, TypeError):
        source = b""
    return {
        "format": checkpoints.PYTHON_FORMAT,
        "engine": "python",
        "modelcheck": __version__,
        "spec": model.name,
        "source": hashlib.sha256(source).hexdigest(),
        "parameters": json.dumps(dict(model.parameters), sort_keys=True, default=repr),
        "options": {
            "properties": [p.name for p in props],
            "max_states": options.max_states,
            "max_depth": options.max_depth,
            "stop_at_first": options.stop_at_first,
            "coverage": options.coverage,
            # A reduced search stores orbit representatives: never resume across.
            "symmetry": options.symmetry,
        },
    }


def _coverage(
    model: Model,
    states: list[Any],
    ids: dict[Any, int],
    offsets: list[int],
    targets: list[int],
    actions: list[int],
) -> tuple[ActionCoverage, ...]:
    fired = [0] * len(model.actions)
    enabled = [0] * len(model.actions)
    # Extra arguments seen per labelled instance (the graph keeps only the
    # instance of each edge, so its steps are re-run where it fired).
    values: list[dict[Any, None]] = [{} for _ in model.actions]
    for source in range(len(offsets) - 1):
        seen_here: dict[int, set[int]] = {}
        for pos in range(offsets[source], offsets[source + 1]):
            k = actions[pos]
            fired[k] += 1
            seen_here.setdefault(k, set()).add(targets[pos])
        for k, reached in seen_here.items():
            enabled[k] += 1
            act = model.actions[k]
            if act.labelled is not None:
                for args, nxt in act.labelled(states[source]):
                    if ids.get(nxt) in reached:
                        values[k].setdefault(args[len(act.args) :], None)
    return tuple(
        ActionCoverage(
            a.label,
            a.family,
            enabled[a.index],
            fired[a.index],
            tuple(v for v in values[a.index] if v),
            a.family in model.operators,
        )
        for a in model.actions
    )


# --- after the search -----------------------------------------------------------------


def possibility_verdict(
    model: Model,
    prop: PropertyDef,
    parents: Mapping[Any, Any],
    witness: Any,
    complete: bool,
    symmetry: SymmetryDef | None = None,
) -> Verdict:
    if witness is not None:
        trace = path_to(model, parents, witness, symmetry)
        reason = satisfied(prop, trace.final)
        trace = attrs.evolve(trace, violates=prop.name, kind=prop.kind, reason=reason)
        return Verdict(prop.name, prop.kind, Status.HOLDS, reason=reason, witness=trace)
    if not complete:
        return Verdict(prop.name, prop.kind, Status.UNKNOWN, reason="no state found so far")
    reason = f"no reachable state satisfies {prop.name}"
    return Verdict(prop.name, prop.kind, Status.VIOLATED, reason=reason)


def violation_verdict(
    model: Model,
    prop: PropertyDef,
    index: Mapping[Any, Any],
    state: Any,
    succ: Any,
    symmetry: SymmetryDef | None = None,
) -> Verdict:
    trace = path_to(model, index, state, symmetry)
    if symmetry is not None:
        # The trace ends in a renaming of ``state``: take the renamed step.
        state, succ = trace.final, _renamed_step(model, prop, symmetry, trace.final, succ)
    if succ is not None:
        act = model.action_between(state, succ)
        trace = attrs.evolve(
            trace, steps=(*trace.steps, Step(act.family, act.args, succ, act.actor))
        )
        reason = explain(prop, state, succ)
    elif prop.kind == "terminal":
        reason = f"no action is enabled and {explain(prop, state)}"
    else:
        reason = explain(prop, state)
    trace = attrs.evolve(trace, violates=prop.name, kind=prop.kind, reason=reason)
    return Verdict(prop.name, prop.kind, Status.VIOLATED, trace, reason)


def _recoverability(
    model: Model,
    prop: PropertyDef,
    states: list[Any],
    ids: Any,
    offsets: list[int],
    targets: list[int],
    actions: list[int],
    complete: bool,
    index: dict[Any, Any],
    symmetry: SymmetryDef | None = None,
) -> Verdict:
    from modelcheck.engines.graph import unrecoverable  # beside the search, not in it

    if not complete:
        return Verdict(prop.name, prop.kind, Status.UNKNOWN)
    # ``ids`` numbers states in discovery order, the same order as ``states``.
    allowed = [prop.using is None or a.family in prop.using for a in model.actions]
    good = []
    for state in states:
        try:
            good.append(prop.holds(state))
        except Exception as exc:
            trace = path_to(model, index, state, symmetry)
            raise property_error(model, prop, exc, trace, state) from exc
    bad = unrecoverable(len(states), offsets, targets, actions, allowed, good)
    if not bad:
        return Verdict(prop.name, prop.kind, Status.HOLDS)
    escape = None
    operators = excluded_operators(model, prop)
    if operators and any(model.actions[a].family in operators for a in actions):
        everything = [True] * len(model.actions)
        stuck = set(unrecoverable(len(states), offsets, targets, actions, everything, good))
        canon = (lambda t: t) if symmetry is None else symmetry.canonical
        escape = operator_escape(
            model, states[bad[0]], lambda t: ids[canon(t)] not in stuck, len(stuck)
        )
    return recoverability_verdict(
        prop, path_to(model, index, states[bad[0]], symmetry), len(bad), len(states), escape
    )


def _renamed_step(
    model: Model, prop: PropertyDef, symmetry: SymmetryDef, here: Any, succ: Any
) -> Any:
    """The successor of ``here`` that renames the violating step to ``succ`` (None: none)."""
    if succ is None:
        return None
    wanted = symmetry.canonical(succ)
    candidates = [t for _act, t in model.successors(here) if symmetry.canonical(t) == wanted]
    for t in candidates:
        if not prop.holds(here, t):
            return t
    raise SpecError(
        f"{model.name}.symmetry ({symmetry.description}): {prop.name} fails on a step of a "
        f"renamed state but on no step of {here!r}, so the property is not symmetric; "
        "check this property without --symmetry."
    )


def excluded_operators(model: Model, prop: PropertyDef) -> frozenset[str]:
    """The operator action families a recoverability property leaves out (the report says
    what they could do only where one of them takes a step somewhere)."""
    return model.operators if prop.using is None else model.operators - prop.using


@attrs.frozen
class OperatorEscape:
    """What operators can do where the automation cannot recover."""

    #: The operator actions that lead from the trap's entry to states that can recover.
    actions: tuple[str, ...]
    #: How many reachable states cannot recover even with operators.
    stuck: int


def operator_escape(
    model: Model, state: Any, recovers: Callable[[Any], bool], stuck: int
) -> OperatorEscape:
    """The operator actions from ``state`` whose successor ``recovers`` (with every action)."""
    found = []
    for act, succ in model.successors(state):
        if act.family in model.operators and recovers(succ) and act.label not in found:
            found.append(act.label)
    return OperatorEscape(tuple(found), stuck)


def recoverability_verdict(
    prop: PropertyDef,
    trace: Trace,
    bad: int,
    states: int,
    escape: OperatorEscape | None = None,
) -> Verdict:
    """The violation of a recoverability property: ``trace`` reaches the first of ``bad``
    unrecoverable states (of ``states`` reachable ones); ``escape`` says what operators
    can do there when the property leaves their actions out."""
    using = "any action" if prop.using is None else "only " + ", ".join(sorted(prop.using))
    reason = (
        f"from the last state no state satisfying {prop.name} is reachable using {using} "
        f"({bad} of {states} reachable states are unrecoverable)"
    )
    if escape is not None:
        if escape.actions:
            reason += (
                f"; the automation cannot recover alone, an operator can: "
                f"{', '.join(escape.actions)} from the last state leads to states that recover"
            )
        else:
            reason += "; no operator action from the last state leads to a state that recovers"
        reason += (
            f" ({escape.stuck} of the {bad} cannot recover even with operators)"
            if escape.stuck
            else f" (every one of the {bad} can recover with an operator's help)"
        )
    trace = attrs.evolve(trace, violates=prop.name, kind=prop.kind, reason=reason)
    return Verdict(prop.name, prop.kind, Status.VIOLATED, trace, reason)
