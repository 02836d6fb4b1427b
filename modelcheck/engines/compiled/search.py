"""The compiled breadth-first search: the Python engine's search, on packed states in numba.

States are rows of int64 words (:mod:`modelcheck.engines.compiled.layout`)
in one array that is also the BFS queue, numbered in discovery order; the
visited set is an open-addressing table of row numbers (exact: it compares
whole rows, never fingerprints).  No parent is stored: the first row of the
previous BFS level (in order) that has a state as a successor is the state
that discovered it, so a trace's parents are found by re-running the kernel
over one level per step, only for the states a trace needs (4 bytes per
state saved, at the cost of a fraction of a search per trace).
The generated kernel (:mod:`modelcheck.engines.compiled.codegen`) expands
one chunk of a BFS level per call (``run``), in the same order as the
Python engine (states in order, action instances in declaration order,
successors in the order the action gives them), so every state gets the
same number, and counts, depth, verdicts and the first-found shortest
counterexamples are the Python engine's.  Once the table outgrows the
cache, and on several workers from the start, the search goes on in
batches (``_Batches``: expand, claim, number), which give every state the
same number too.  Between calls this driver grows the arrays, reports
progress and checks limits; Ctrl-C ends the search with what was found.

Traces are rebuilt from the parent rows, decoded into states and re-run by
the spec's own code (so they replay).  Under symmetry reduction the rows
are the Python engine's orbit representatives, and the traces are made
concrete runs of the unreduced spec as the Python engine makes them.
A successor outside the declared field types, or an operation whose
fixed-width value is not Python's, ends the compiled run with
:class:`NotCompilable`: the caller runs the Python engine instead and says
why.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
import numpy as np

from modelcheck.engines import checkpoints
from modelcheck.engines.bfs import (
    MEMORY_LIMIT,
    CheckOptions,
    Progress,
    ProgressCallback,
    excluded_operators,
    operator_escape,
    peak_memory_bytes,
    possibility_verdict,
    recoverability_verdict,
    reduction,
    resident_memory_bytes,
    selected_properties,
    violation_verdict,
)
from modelcheck.engines.compiled import cache, canonical, checkpoint, codegen
from modelcheck.engines.compiled.codegen import (
    AT,
    CONTROL_SIZE,
    COUNT,
    DETAIL,
    EDGE_CAP,
    EDGES,
    END,
    FRONTIER,
    GROW_AT,
    MAX,
    O_DETAIL,
    O_END,
    O_KEEP,
    O_NEW,
    O_STATUS,
    OUT_SIZE,
    RECORD,
    STATUS,
    STOP_AT_FIRST,
    TABLE_MASK,
    TRANSITIONS,
    TRUNCATED,
)
from modelcheck.engines.compiled.graph import link as link_edges
from modelcheck.engines.compiled.graph import recoverable_states
from modelcheck.engines.compiled.layout import Layout
from modelcheck.engines.iteration_order import probe_iteration_order
from modelcheck.engines.parents import path_to
from modelcheck.errors import ModelcheckError
from modelcheck.model import Model, PropertyDef
from modelcheck.result import CheckResult, Statistics, Status, Verdict
from modelcheck.symbolic import IntType, SubsetError, field_types
from modelcheck.symbolic.program import NotCompilable
from modelcheck.symmetry import SymmetryDef

#: Progress, the time limit and the memory limit are looked at after about this
#: many expanded states (and Ctrl-C is felt between kernel calls).
CHUNK = 1 << 15
#: States per part (a worker's unit of expansion).
PART = 1 << 12
#: Successor rows a part's buffer may hold (fewer states per part where one
#: state can have many successors).
PART_ROWS = 1 << 20
#: Parts per worker in a batch (more: finer sharing of a batch between threads).
PARTS_PER_WORKER = 4
#: Rows of the edge offsets, edges, and half the visited table's slots, at the start
#: (all grow by doubling; state rows are reserved at once, see ``reserve_rows``).
START = 1 << 16
#: The visited table grows (doubling) when it is this full.
LOAD = 0.7
#: One worker searches in batches (``_Batches``) once the visited table has this many
#: slots (a table past the cache, where grouped reads pay), and with ``run`` before.
BATCHED_FROM = 1 << 23
#: In batches, the table also doubles before any of its ranges is this full.
RANGE_LOAD = 0.85
#: Property kinds the kernel evaluates.
KINDS = ("invariant", "action", "terminal", "recoverable", "reachable")


@attrs.frozen
class Prepared:
    """A model turned into a loaded kernel, ready to search."""

    layout: Layout
    kernel: codegen.Kernel
    module: Any
    program: Any
    seconds: float
    #: Whether the kernel's machine code came from the disk cache.
    cached: bool


def prepare(
    model: Model,
    props: list[PropertyDef],
    compile_now: bool = True,
    symmetry: SymmetryDef | None = None,
    workers: int = 1,
) -> Prepared:
    """Extract, generate and (with ``compile_now``) load and JIT the kernel for ``model``
    (with ``symmetry``, one that stores one representative per orbit; with several
    ``workers``, the functions they run are compiled too)."""
    started = time.perf_counter()
    if model.constraints:
        raise NotCompilable("the spec has a @constraint, which the compiled engine does not run")
    live = [p.name for p in props if p.liveness]
    if live:
        # Its kernel records no fairness data; the Python engine's fair-cycle
        # search (modelcheck.engines.liveness) is the one that checks them.
        raise NotCompilable(
            f"liveness properties ({', '.join(live)}) are checked by the Python engine's "
            "fair-cycle search only"
        )
    unsupported = [p.name for p in props if p.kind not in KINDS]
    if unsupported:
        raise NotCompilable(f"properties of a kind it does not check: {', '.join(unsupported)}")
    state_class = type(model.initial_states[0])
    if not hasattr(state_class, "_fields"):
        raise NotCompilable("states are not modelcheck.State records with annotated fields")
    try:
        from modelcheck.engines.z3 import extract
    except (ImportError, ModelcheckError) as exc:  # pragma: no cover - z3 is a dependency
        raise NotCompilable(f"path extraction needs z3 ({exc})") from None
    try:
        program = extract.extract(model, props)
        types = field_types(state_class, model.spec)
        layout = Layout(state_class, types, program.leaves)
    except SubsetError as exc:
        raise NotCompilable(str(exc)) from None
    except ValueError as exc:
        raise NotCompilable(str(exc)) from None
    header = (
        f"# modelcheck compiled kernel for {model.name}{dict(model.parameters)!r}\n"
        f"# state layout:\n" + "".join(f"#   {line}\n" for line in layout.describe().splitlines())
    )
    canon = None if symmetry is None else canonical.generate(symmetry, layout)
    if canon is not None:
        header += f"# symmetry: {symmetry.description}\n"
    kernel = codegen.generate(program, layout, {p.name: p.kind for p in props}, header, canon)
    cached = cache.is_cached(kernel.source)
    module = _load(kernel, workers) if compile_now else None
    return Prepared(layout, kernel, module, program, time.perf_counter() - started, cached)


def _load(kernel: codegen.Kernel, workers: int = 1) -> Any:
    """The kernel module with its functions compiled (a warm-up call on empty arrays)."""
    for attempt in (1, 2):
        try:
            module = cache.load(kernel.source)
            _warm_up(module, kernel.width, len(kernel.properties))
            if workers > 1:
                _warm_up_batches(module, kernel.width, len(kernel.properties))
            return module
        except Exception:
            if attempt == 2:
                raise
            cache.forget(kernel.source)  # a corrupt numba cache: rebuild it once
    raise AssertionError("unreachable")  # pragma: no cover


def _warm_up(module: Any, width: int, props: int) -> None:
    states, ctl, table, found, found_succ, offsets, targets, acts = _empty(width, props)
    module.run(states, table, ctl, found, found_succ, offsets, targets, acts)
    module.find(states, 0, 0, 0)
    module.good(states, 0, -1, np.zeros(1, np.bool_))
    module.rehash(states, 0, table, 1)
    recoverable_states(0, offsets, targets, acts, np.zeros(1, np.bool_), np.zeros(0, np.bool_))


def _warm_up_batches(module: Any, width: int, props: int) -> None:
    """Compile what the batched search runs (``expand``, ``claim``, ``number``, ``admit``,
    ``rehash_ranges``)."""
    states, ctl, table, found, found_succ, offsets, targets, acts = _empty(width, props)
    batch = _Buffers(width, props, 1, 1, 1)
    part = batch.parts[0]
    fill, pending = np.zeros(1, np.int64), np.zeros((1, 2), np.int64)
    seen = _Seen(1)
    module.expand(states, table, 1, 1, 0, found, 0, 0, False, *part.head, *seen.views, *part.tail)
    module.claim(
        *(states, 0, table, 1, 1, 0, 1, batch.nb, batch.res, batch.rowof, batch.slots),
        *(batch.outs, 1, 0),
        *(batch.rlists, batch.rcounts, fill, fill, pending, fill),
    )
    module.number(states, 0, 0, 0, batch.nb, batch.res, batch.rowof)
    module.admit(
        *(states, table, ctl, found, found_succ, offsets, targets, acts),
        *(0, 0, 0, batch.nb, batch.bact, batch.res, batch.rowof, batch.slots),
        *(part.sstart, part.sflags, batch.aflags),
    )
    module.rehash_ranges(states, 0, table, 1, 1, 0, 0, 1, fill)


def _empty(width: int, props: int) -> tuple[np.ndarray, ...]:
    """Arrays of the types the kernel's functions take, for warm-up calls that do nothing
    (``width`` columns, a successor row's: the stored states are narrower under symmetry,
    and an array of either shape has the one numba type)."""
    return (
        np.zeros((1, width), np.int64),
        np.zeros(CONTROL_SIZE, np.int64),
        np.zeros(2, np.int32),
        np.full(max(props, 1), -2, np.int64),
        np.zeros((max(props, 1), width), np.int64),
        np.zeros(2, np.int64),
        np.zeros(1, np.int32),
        np.zeros(1, np.int16),
    )


class _Buffers:
    """The buffers of one batch of ``parts`` parts, each of up to ``states`` states.

    Each buffer is one array over the whole batch (part ``p`` has rows
    ``p * cap`` on), so that ``claim``, ``admit`` and ``link`` reach any part's
    successors by batch row; a part's ``expand`` takes its views.
    """

    def __init__(
        self, width: int, props: int, states: int, most: int, parts: int, ranges: int = 1
    ) -> None:
        self.cap = cap = states * most
        rows = parts * cap
        self.nb = np.empty((rows, width), np.int64)
        self.bact = np.empty(rows, np.int16)
        self.res = np.empty(rows, np.int64)
        self.rowof = np.empty(rows, np.int64)
        self.slots = np.empty(rows, np.int64)  # where claim put each new state's entry
        self.aflags = np.zeros((rows, max(props, 1)), np.bool_)
        self.sstart = np.empty((parts, states + 1), np.int64)
        self.sflags = np.zeros((parts, states, max(props, 1)), np.bool_)
        self.outs = np.zeros((parts, OUT_SIZE), np.int64)
        # Each part's successors to look up, listed by the range of the table they fall in.
        self.rlists = np.empty((parts, ranges, cap), np.int32)
        self.rcounts = np.zeros((parts, ranges), np.int64)
        self.parts = [_Part(self, p) for p in range(parts)]


class _Seen:
    """A thread's own set of the successors of the part it expands (``expand`` empties
    it of the last part's): room for a part's successors at most 2/3 full."""

    def __init__(self, cap: int) -> None:
        self.local = np.zeros(1 << max(1, (3 * cap // 2).bit_length()), np.int32)
        self.used = np.empty(cap, np.int64)
        self.count = np.zeros(1, np.int64)

    @property
    def views(self) -> tuple[np.ndarray, ...]:
        return self.local, self.used, self.count


class _Part:
    """One part of a batch: its views of the batch's buffers."""

    def __init__(self, batch: _Buffers, p: int) -> None:
        rows = slice(p * batch.cap, (p + 1) * batch.cap)
        self.offset = p * batch.cap
        self.out = batch.outs[p]
        self.sstart, self.sflags = batch.sstart[p], batch.sflags[p]
        self.head = (batch.nb[rows], batch.bact[rows], batch.res[rows])
        self.tail = (
            self.sstart,
            self.sflags,
            batch.aflags[rows],
            self.out,
            batch.rlists[p],
            batch.rcounts[p],
        )


class _Arrays:
    """The search's storage, grown as it fills."""

    def __init__(self, words: int, props: int, record: bool) -> None:
        self.words = words
        self.states = reserve_rows(words)
        self.table = np.zeros(2 * START, np.int32)
        self.found = np.full(max(props, 1), -2, np.int64)
        self.found_succ = np.zeros((max(props, 1), words), np.int64)
        self.record = record
        size = START if record else 1
        self.offsets = np.zeros(size + 1, np.int64)
        self.targets = np.empty(size if record else 1, np.int32)
        self.acts = np.empty(size if record else 1, np.int16)

    def shared(self, ctl: np.ndarray) -> tuple[np.ndarray, ...]:
        """The arrays ``run`` and ``admit`` take first, in their order."""
        return (
            self.states,
            self.table,
            ctl,
            self.found,
            self.found_succ,
            self.offsets,
            self.targets,
            self.acts,
        )

    def grow(
        self, ctl: np.ndarray, states: int, edges: int, reserve: int = 0, least: int = 0
    ) -> bool:
        """Room for ``states`` more states and ``edges`` more edges; whether the table was
        replaced (it is then empty, to be rehashed).  The batched search asks for ``reserve``
        row numbers past the stored ones (the marks of claimed entries) and, where a range
        of the table is fuller than the rest, for a table of at least ``least`` slots."""
        rehash = False
        count = int(ctl[COUNT])
        while count + states > len(self.states):
            self.states = _bigger(self.states, count)
        while self.record and count + states + 1 > len(self.offsets):
            self.offsets = _bigger(self.offsets, count + 1)
        # The table's entries keep a row + 1 in the bits below the slot count, so it
        # must stay less than full (and is kept at most LOAD full for short probes).
        while (
            count + states > LOAD * len(self.table)
            or count + reserve + 1 >= len(self.table)
            or len(self.table) < least
        ):
            self.table = np.zeros(2 * len(self.table), np.int32)
            rehash = True
        if self.record:
            used = int(ctl[EDGES])
            while used + edges > len(self.targets):
                self.targets = _bigger(self.targets, used)
                self.acts = _bigger(self.acts, used)
        # ``run`` writes rows, edges and (recording) offsets[row] without bounds checks,
        # so it stops for more room before any of them is full.
        room = [len(self.states), int(LOAD * len(self.table))]
        if self.record:
            room.append(len(self.offsets) - 1)
        ctl[GROW_AT] = min(room)
        ctl[EDGE_CAP] = len(self.targets)
        ctl[TABLE_MASK] = len(self.table) - 1
        return rehash


def reserve_rows(words: int) -> np.ndarray:
    """The state rows, reserved once for as many states as half the machine's memory holds.

    Only the pages written become resident, so a small model costs little, and
    a large one never has its rows copied (growing by copying would hold two
    arrays at once, the largest cost in peak memory); where the system refuses
    so large a reservation, the rows start small and double.
    """
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        memory = 0
    rows = min(memory // 2 // (8 * words), (1 << 31) - 2)  # table entries are int32 row + 1
    if rows > START:
        try:
            return np.empty((rows, words), np.int64)
        except MemoryError:
            pass
    return np.empty((START, words), np.int64)


def _bigger(array: np.ndarray, used: int) -> np.ndarray:
    grown = np.empty((2 * len(array), *array.shape[1:]), array.dtype)
    grown[:used] = array[:used]
    return grown


def check(
    model: Model,
    options: CheckOptions,
    progress: ProgressCallback | None = None,
    prepared: Prepared | None = None,
) -> CheckResult:
    """Explore every reachable state of ``model`` with the compiled kernel.

    Raises :class:`NotCompilable` (before or during the search) when it
    cannot give the Python engine's answer; nothing else differs.
    """
    props = selected_properties(model, options.properties)
    # The Python engine's checks of the declaration (and its refusals), before anything.
    symmetry = reduction(model, options)
    if options.coverage:
        raise NotCompilable("--coverage is counted by the Python engine only")
    probe_iteration_order(model, options.max_states)
    if options.resume is not None and prepared is None:
        # Refuse a checkpoint that is not this run's before paying for the JIT.
        unloaded = prepare(model, props, compile_now=False, symmetry=symmetry)
        manifest, _ = checkpoint.load(options.resume)
        checkpoint.refuse_mismatch(
            manifest, _identity(model, options, unloaded.kernel), options.resume
        )
    prepared = prepared or prepare(model, props, symmetry=symmetry, workers=options.workers)
    layout, kernel, module = prepared.layout, prepared.kernel, prepared.module
    names = kernel.properties
    record = any(p.kind == "recoverable" for p in props)
    arrays = _Arrays(layout.words, len(names), record)
    arrays.found[: len(names)] = -1
    ctl = np.zeros(CONTROL_SIZE, np.int64)
    ctl[MAX] = -1 if options.max_states is None else options.max_states
    ctl[STOP_AT_FIRST] = int(options.stop_at_first)
    ctl[RECORD] = int(record)

    started = time.perf_counter()
    identity = _identity(model, options, kernel)
    restored = _restore(options.resume, identity, arrays, ctl, kernel, module)
    if restored is None:
        # Initial states, in order, once each (their representatives, under symmetry).
        starting = model.initial_states
        if symmetry is not None:
            starting = tuple(map(symmetry.canonical, starting))
        try:
            initial = list(dict.fromkeys(layout.encode(init) for init in starting))
        except ValueError as exc:
            raise NotCompilable(f"an initial state is not of the declared types: {exc}") from None
        count = len(initial)
        arrays.grow(ctl, count, 0)  # ctl[COUNT] is 0: room for them all
        arrays.states[:count] = initial
        ctl[COUNT] = count
        arrays.grow(ctl, kernel.buffer, kernel.buffer)
        module.rehash(arrays.states, count, arrays.table, ctl[TABLE_MASK])
        depth, done, starts, before = 0, 0, [0], 0.0  # starts[d]: the first row of level d
    else:
        depth, done, starts, before = restored
    # The level under way when the checkpoint was taken (its end is in ``starts``).
    resumed_level = starts[-1] if restored is not None else None
    saver = _Saver(options, identity, arrays, ctl)

    workers = options.workers
    owners = [-1] * len(prepared.program.inexact)
    for p, name in enumerate(names):
        owners += [p] * len(prepared.program.property_inexact[name])
    batches = _Batches(module, arrays, ctl, kernel, workers) if workers > 1 else None
    max_depth = options.max_depth
    deadline = None if options.time_limit is None else time.monotonic() + options.time_limit
    looked = done
    stopped_by: str | None = None
    truncated = False
    try:
        while done < ctl[COUNT]:
            if resumed_level is not None:
                level_end, resumed_level = resumed_level, None
            else:
                level_end = int(ctl[COUNT])
                starts.append(level_end)  # the first row of the next level
                if batches is not None:
                    batches.flush()  # (the rows a checkpoint saves)
                saver.between_levels(done, depth, starts, before + time.perf_counter() - started)
            frontier = max_depth is not None and depth >= max_depth
            ctl[FRONTIER] = int(frontier)
            while done < level_end:
                if batches is None and len(arrays.table) >= BATCHED_FROM:
                    # Past the cache, one worker too goes faster in batches (the same
                    # table: one range is the table ``run`` built).
                    batches = _Batches(module, arrays, ctl, kernel, 1)
                if batches is None:
                    stopped_by = _run(module, arrays, ctl, done, level_end, kernel.buffer)
                    if stopped_by == "problem":
                        at, status, detail = int(ctl[AT]), ctl[STATUS], int(ctl[DETAIL])
                        raise NotCompilable(_problem(model, arrays, prepared, at, status, detail))
                else:
                    stopped_by, stuck = batches.step(done, level_end, frontier, owners)
                    if stuck is not None:
                        at, status = int(stuck.out[O_END]), stuck.out[O_STATUS]
                        detail = int(stuck.out[O_DETAIL])
                        raise NotCompilable(_problem(model, arrays, prepared, at, status, detail))
                done = int(ctl[AT])
                if stopped_by is not None:
                    break
                if batches is not None and done - looked < CHUNK and done < level_end:
                    continue  # (a call of ``run`` is a whole CHUNK)
                looked = done
                if deadline is not None and time.monotonic() > deadline:
                    stopped_by = "time_limit"
                elif options.memory_limit is not None and (
                    resident_memory_bytes() > options.memory_limit
                ):
                    stopped_by = MEMORY_LIMIT
                if stopped_by is not None:
                    break
                if progress is not None:
                    progress(
                        Progress(
                            int(ctl[COUNT]),
                            int(ctl[TRANSITIONS]),
                            depth,
                            int(ctl[COUNT]) - done,
                            time.perf_counter() - started,
                            peak_memory_bytes(),
                        )
                    )
            if stopped_by is not None:
                break
            if done < ctl[COUNT]:
                depth += 1
    except KeyboardInterrupt:
        stopped_by = "interrupted"
    except MemoryError:
        stopped_by = "out_of_memory"
    finally:
        if batches is not None:
            batches.close()  # a worker finishes its part within milliseconds
    # Compiling the batched search's functions (at its start, where a cached kernel
    # lacked them) is compile time, not search time.
    warm = 0.0 if batches is None else batches.compile_seconds
    seconds = before + time.perf_counter() - started - warm
    if stopped_by in ("time_limit", MEMORY_LIMIT):
        # Stopped between two kernel calls: go on from there.  (Ctrl-C may land
        # anywhere, so the last checkpoint stays the place to go on from.)
        saver.save(done, depth, starts, seconds)
    truncated = bool(ctl[TRUNCATED])
    if stopped_by is None and truncated:
        stopped_by = "max_depth"
    complete = stopped_by is None
    count = int(ctl[COUNT])
    if record:
        arrays.offsets[count] = ctl[EDGES]

    search = _Decoded(model, layout, arrays, module, starts, symmetry)

    def verdict(p: int, prop: PropertyDef) -> Verdict:
        at = int(arrays.found[p])
        if prop.kind == "reachable":
            witness = search.state(at) if at >= 0 else None
            links = search.parents_of(at)
            return possibility_verdict(model, prop, links, witness, complete, symmetry)
        if at >= 0:
            succ = None
            if prop.kind == "action":  # the concrete step, as the Python engine keeps it
                succ = layout.decode(arrays.found_succ[p])
            links, state = search.parents_of(at), search.state(at)
            return violation_verdict(model, prop, links, state, succ, symmetry)
        if prop.kind == "recoverable":
            if not complete:
                return Verdict(prop.name, prop.kind, Status.UNKNOWN)
            return _recoverability(model, prepared, arrays, count, p, prop, search)
        return Verdict(prop.name, prop.kind, Status.HOLDS if complete else Status.UNKNOWN)

    try:
        verdicts = [verdict(names.index(prop.name), prop) for prop in props]
    except KeyboardInterrupt:
        stopped_by, complete = "interrupted", False
        verdicts = [
            verdict(names.index(p.name), p)
            if p.kind != "recoverable"
            else Verdict(p.name, p.kind, Status.UNKNOWN)
            for p in props
        ]
    stats = Statistics(
        count,
        int(ctl[TRANSITIONS]),
        depth,
        seconds,
        peak_memory_bytes(),
        compile_seconds=prepared.seconds + warm,
        workers=options.workers,
    )
    return CheckResult(
        spec=model.name,
        parameters=dict(model.parameters),
        verdicts=tuple(verdicts),
        statistics=stats,
        complete=complete,
        stopped_by=stopped_by,
        engine="compiled",
        engine_note=(
            f"the kernel came from the disk cache ({cache.cache_dir()})" if prepared.cached else ""
        ),
        symmetry="" if symmetry is None else symmetry.description,
    )


class _Batches:
    """The search in batches of parts, on one thread or several, with the table cut
    into ranges (one range: the table ``run`` builds).

    Per batch, every phase on all the threads at once:

    - ``expand`` makes each part's successors, finds the part's own duplicates
      and where each property settles (the states and ``found`` are only read);
    - ``claim``: each thread takes the batch's successors whose range of the
      table is one of its own (a probe wraps within its range, so each range
      has one writer): a stored one gets its row, the first of a new one a
      marked entry;
    - the new states are numbered in BFS order: each part's first row is the
      rows before it plus the new states of the parts before it, so the parts
      are numbered (``number``) and their edges linked (``link``) at once, with
      the next batch's expansion and claim (or at ``flush``, where their rows
      are about to be read).

    So the answer is the one-worker answer.  A batch in which the search may
    stop (a property settles, ``--max-states`` is reached, a value outside the
    subset, or past ``--max-depth``) is admitted on this thread in order
    (``admit``), which stops exactly where one worker would.
    """

    def __init__(self, module: Any, arrays: _Arrays, ctl: np.ndarray, kernel: Any, n: int) -> None:
        self.module, self.arrays, self.ctl = module, arrays, ctl
        self.n = n
        # (Compiled already where ``prepare`` knew of the workers; a kernel prepared for
        # one gets them here, before any thread runs them.)
        started = time.perf_counter()
        _warm_up_batches(module, kernel.width, len(kernel.properties))
        self.compile_seconds = time.perf_counter() - started
        self.per_part = max(1, min(PART, PART_ROWS // kernel.buffer))
        parts = PARTS_PER_WORKER * n
        props = len(kernel.properties)
        self.ranges = 1 << (n - 1).bit_length()  # a power of two, at least one per worker
        # Two sets of buffers: a batch is expanded in one while the last is numbered.
        self.sets = [
            _Buffers(kernel.width, props, self.per_part, kernel.buffer, parts, self.ranges)
            for _ in (0, 1)
        ]
        self.buffers, self.last = self.sets
        self.deferred: _Numbering | None = None
        rows = parts * self.buffers.cap
        self.reserve = rows  # claimed entries are marked count + batch row
        # Each thread's claimed entries of the last batch (batch row, slot), and how many.
        self.pending = np.zeros((n, rows, 2), np.int64)
        self.npending = np.zeros((n, 1), np.int64)
        self.spans = [(t * self.ranges // n, (t + 1) * self.ranges // n) for t in range(n)]
        self.fill = np.zeros(self.ranges, np.int64)  # entries in each range
        self.news = np.zeros((n, parts), np.int64)  # new states per thread and part
        self.marks = np.array([codegen.NEW, codegen.BATCH, codegen.LOCAL], np.int64)
        self.pool = ThreadPoolExecutor(n - 1) if n > 1 else None
        self.local = threading.local()
        # The table ``run`` built is one range; for more, rebuild it in ranges.
        if arrays.grow(ctl, 0, 0, reserve=self.reserve) or self.ranges > 1:
            arrays.table[:] = 0
            self._rehash()
        else:
            self.fill[0] = ctl[COUNT]

    def _seen(self) -> _Seen:
        """This thread's set of a part's successors."""
        seen = getattr(self.local, "seen", None)
        if seen is None:
            seen = self.local.seen = _Seen(self.buffers.cap)
        return seen

    def _rshift(self) -> int:
        """Range ``r`` of the table is its slots from ``r << rshift``."""
        return len(self.arrays.table).bit_length() - self.ranges.bit_length()

    def _each(self, work: Any, items: int | None = None) -> None:
        """``work(t, first, last)`` for each thread ``t`` and its ranges (or, with
        ``items``, ``work(k)`` for each item, taken by whichever thread is free)."""
        if items is not None:
            taken = itertools.count()

            def loop() -> None:
                while (k := next(taken)) < items:
                    work(k)

            futures = [self.pool.submit(loop) for _ in range(self.n - 1)] if self.pool else []
            loop()
        else:
            futures = [self.pool.submit(work, t, *span) for t, span in enumerate(self.spans) if t]
            work(0, *self.spans[0])
        for future in futures:
            future.result()

    def _rehash(self) -> None:
        arrays, ctl = self.arrays, self.ctl
        states, count, table = arrays.states, int(ctl[COUNT]), arrays.table
        tmask, rshift = len(table) - 1, self._rshift()
        self.fill[:] = 0
        self.npending[:] = 0  # the new table has their rows
        rlast = self.ranges - 1
        self._each(
            lambda t, a, b: self.module.rehash_ranges(
                states, count, table, tmask, rshift, rlast, a, b, self.fill
            )
        )

    def _claim(self, count: int, parts: int) -> None:
        """Each thread claims its ranges' successors of the first ``parts`` parts (after
        giving the last batch's new entries their rows), then links its share of the
        last batch's parts."""
        arrays, buffers, module = self.arrays, self.buffers, self.module
        table, last, deferred = arrays.table, self.last, self.deferred
        tmask, rshift, cap = len(table) - 1, self._rshift(), buffers.cap

        def work(t: int, a: int, b: int) -> None:
            module.claim(
                *(arrays.states, count, table, tmask, rshift, a, b),
                *(buffers.nb, buffers.res, last.rowof, buffers.slots),
                *(buffers.outs, cap, parts),
                *(buffers.rlists, buffers.rcounts, self.fill, self.news[t]),
                *(self.pending[t], self.npending[t]),
            )
            if deferred is not None:
                for k in range(t, deferred.used, self.n):
                    self._link(deferred, k)

        self._each(work)
        self.deferred = None

    def flush(self) -> None:
        """Number (and link) the last batch now: its rows are about to be read."""
        deferred = self.deferred
        if deferred is not None:
            self._each(lambda k: self._number_part(deferred, k), deferred.used)
            self._each(lambda k: self._link(deferred, k), deferred.used)
            self.deferred = None

    def _number_part(self, deferred: _Numbering, k: int) -> None:
        buffers = deferred.buffers
        off = k * buffers.cap
        self.module.number(
            *(self.arrays.states, int(deferred.rows[k]), off, off + int(deferred.keeps[k])),
            *(buffers.nb, buffers.res, buffers.rowof),
        )

    def _link(self, deferred: _Numbering, k: int) -> None:
        arrays, buffers = self.arrays, deferred.buffers
        if not arrays.record:
            return
        part, (lo, hi) = buffers.parts[k], deferred.ranges[k]
        link_edges(
            *(arrays.offsets, arrays.targets, arrays.acts, lo, part.sstart, hi - lo),
            *(part.offset, int(deferred.keeps[k]), int(deferred.firsts[k])),
            *(buffers.res, buffers.rowof, buffers.bact, self.marks),
        )

    def step(
        self, done: int, level_end: int, frontier: bool, owners: list[int]
    ) -> tuple[str | None, _Part | None]:
        """Expand, claim and admit the batch of parts that starts at ``done``: why the
        search stops (``"max_states"``, ``"first_violation"``, or ``"problem"`` with the
        part that met it) or None, ``ctl[AT]`` the next state.  The last batch's
        numbering runs with this batch's expansion, unless this batch reads its rows."""
        self.last, self.buffers = self.buffers, self.last
        arrays, ctl, buffers, module = self.arrays, self.ctl, self.buffers, self.module
        span = self.per_part
        ranges = [
            (a, min(a + span, level_end))
            for a in range(done, min(done + span * len(buffers.parts), level_end), span)
        ]
        deferred = self.deferred
        if deferred is not None and (frontier or deferred.rows[0] < ranges[-1][1]):
            self.flush()
            deferred = None
        if frontier:  # its parts look their successors up: the table's entries are due
            self._claim(int(ctl[COUNT]), 0)
        states, table, found = arrays.states, arrays.table, arrays.found
        tmask, rshift, rlast = len(table) - 1, self._rshift(), self.ranges - 1

        def expand(k: int) -> None:
            lo, hi = ranges[k]
            part, seen = buffers.parts[k], self._seen()
            module.expand(
                *(states, table, tmask, rshift, rlast, found, lo, hi, frontier),
                *(*part.head, *seen.views, *part.tail),
            )

        if deferred is None:
            self._each(expand, len(ranges))
        else:
            numbered = deferred.used
            self._each(
                lambda k: self._number_part(deferred, k) if k < numbered else expand(k - numbered),
                numbered + len(ranges),
            )
        # The parts to admit: up to the first that stopped (at a problem) included.
        outs = buffers.outs
        used = len(ranges)
        for p in range(used):
            if outs[p, O_STATUS] != codegen.DONE:
                used = p + 1
                break
        fresh = int(outs[:used, O_NEW].sum())  # the parts' first occurrences
        steps = int(outs[:used, O_KEEP].sum())
        room = len(arrays.table) >> (self.ranges.bit_length() - 1)
        least = 2 * len(arrays.table) if self.fill.max() + fresh > RANGE_LOAD * room else 0
        if arrays.grow(ctl, fresh, steps, reserve=self.reserve, least=least):
            self._rehash()
        count = int(ctl[COUNT])
        if not frontier:
            self.news[:] = 0
            self._claim(count, used)
            news = self.news.sum(axis=0)[:used]
            if self._unstopped(ranges, used, count + int(news.sum())):
                self._number(ranges, used, news)
                return None, None
        self.npending[:] = 0  # ``admit`` gives the claimed entries their rows
        for part, (lo, _) in zip(buffers.parts[:used], ranges, strict=False):
            module.admit(
                *arrays.shared(ctl),
                *(lo, int(part.out[O_END]), part.offset),
                *(buffers.nb, buffers.bact, buffers.res, buffers.rowof, buffers.slots),
                *(part.sstart, part.sflags, buffers.aflags),
            )
            status = ctl[STATUS]
            if status == codegen.MAX_STATES:
                return "max_states", None
            if status == codegen.FIRST_VIOLATION:
                return "first_violation", None
            if part.out[O_STATUS] != codegen.DONE:
                # The part stopped before state ``end``: a value outside the subset there,
                # unless it was in a property that an earlier part has settled since (the
                # search does not evaluate a settled property): then it goes on from there.
                if _settled_since(part, arrays, owners):
                    return None, None
                return "problem", part
        return None, None

    def _unstopped(self, ranges: list[tuple[int, int]], used: int, after: int) -> bool:
        """Whether nothing in the batch can stop the search or settle a property: no part
        stopped, no flag is set, and ``--max-states`` is not reached by ``after`` states."""
        buffers, limit = self.buffers, int(self.ctl[MAX])
        if used < len(ranges) or buffers.outs[used - 1, O_STATUS] != codegen.DONE:
            return False
        if limit >= 0 and after > limit:
            return False
        for part, (lo, hi) in zip(buffers.parts, ranges, strict=False):
            if part.sflags[: hi - lo].any():
                return False
        for part in buffers.parts[:used]:
            if buffers.aflags[part.offset : part.offset + int(part.out[O_KEEP])].any():
                return False
        return True

    def _number(self, ranges: list[tuple[int, int]], used: int, news: np.ndarray) -> None:
        """Admit a batch that nothing stops: its rows and edges counted now, its parts
        numbered and linked at once with the next batch (or at ``flush``)."""
        ctl, buffers = self.ctl, self.buffers
        keeps = buffers.outs[:used, O_KEEP].copy()
        rows = int(ctl[COUNT]) + np.concatenate(([0], np.cumsum(news)))
        firsts = int(ctl[EDGES]) + np.concatenate(([0], np.cumsum(keeps)))
        self.deferred = _Numbering(buffers, ranges, used, rows, firsts, keeps)
        ctl[COUNT], ctl[EDGES] = int(rows[-1]), int(firsts[-1])
        ctl[TRANSITIONS] += int(keeps.sum())
        ctl[AT] = ranges[used - 1][1]
        ctl[STATUS] = codegen.DONE

    def close(self) -> None:
        self.flush()
        if self.pool is not None:
            self.pool.shutdown(wait=True)


@attrs.frozen
class _Numbering:
    """A batch counted but not yet numbered: its buffers, its parts' states, and per
    part its first new row, its first edge and its successors."""

    buffers: _Buffers
    ranges: list[tuple[int, int]]
    used: int
    rows: np.ndarray
    firsts: np.ndarray
    keeps: np.ndarray


def _settled_since(part: _Part, arrays: _Arrays, owners: list[int]) -> bool:
    """Whether ``part``'s problem is in evaluating a property that is now settled."""
    if part.out[O_STATUS] != codegen.INEXACT:
        return False
    owner = owners[int(part.out[O_DETAIL])]
    return owner >= 0 and arrays.found[owner] != -1


def _identity(model: Model, options: CheckOptions, kernel: codegen.Kernel) -> dict[str, Any]:
    """What a checkpoint must match to be resumed by this run."""
    from modelcheck._version import __version__

    return {
        "format": checkpoint.FORMAT,
        "engine": "compiled",
        "modelcheck": __version__,
        "kernel": cache.key_of(kernel.source),
        "spec": model.name,
        "parameters": json.dumps(dict(model.parameters), sort_keys=True, default=repr),
        "options": {
            "properties": list(kernel.properties),
            "max_states": options.max_states,
            "max_depth": options.max_depth,
            "stop_at_first": options.stop_at_first,
            # A reduced search stores orbit representatives: never resume across.
            "symmetry": options.symmetry,
        },
    }


class _Saver:
    """Writes checkpoints, when asked for, at most every ``checkpoint_every`` minutes."""

    def __init__(
        self, options: CheckOptions, identity: dict[str, Any], arrays: _Arrays, ctl: np.ndarray
    ) -> None:
        self.folder = options.checkpoint
        self.every = 60 * options.checkpoint_every
        self.identity, self.arrays, self.ctl = identity, arrays, ctl
        self.last = time.monotonic()
        if self.folder is not None:
            checkpoints.clean(self.folder)

    def between_levels(self, done: int, depth: int, starts: list[int], seconds: float) -> None:
        if self.folder is not None and time.monotonic() - self.last >= self.every:
            self.save(done, depth, starts, seconds)

    def save(self, done: int, depth: int, starts: list[int], seconds: float) -> None:
        if self.folder is None:
            return
        arrays, ctl = self.arrays, self.ctl
        count, edges = int(ctl[COUNT]), int(ctl[EDGES])
        manifest = dict(
            self.identity,
            done=done,
            depth=depth,
            starts=starts,
            count=count,
            transitions=int(ctl[TRANSITIONS]),
            edges=edges,
            truncated=int(ctl[TRUNCATED]),
            seconds=seconds,
        )
        saved = {
            "states": arrays.states[:count],
            "found": arrays.found,
            "found_succ": arrays.found_succ,
        }
        if arrays.record:
            saved |= {
                "offsets": arrays.offsets[:done],
                "targets": arrays.targets[:edges],
                "acts": arrays.acts[:edges],
            }
        checkpoint.save(self.folder, manifest, saved)
        self.last = time.monotonic()


def _restore(
    folder: str | None,
    identity: dict[str, Any],
    arrays: _Arrays,
    ctl: np.ndarray,
    kernel: codegen.Kernel,
    module: Any,
) -> tuple[int, int, list[int], float] | None:
    """Load the checkpoint in ``folder`` into the arrays: (depth, done, starts, seconds)."""
    if folder is None:
        return None
    manifest, data = checkpoint.load(folder)
    checkpoint.refuse_mismatch(manifest, identity, folder)
    count, edges = int(manifest["count"]), int(manifest["edges"])
    arrays.grow(ctl, count + kernel.buffer, edges + kernel.buffer)  # ctl is empty: from 0
    arrays.states[:count] = data["states"]
    arrays.found[:] = data["found"]
    arrays.found_succ[:] = data["found_succ"]
    if arrays.record:
        done = int(manifest["done"])
        arrays.offsets[:done] = data["offsets"]
        arrays.targets[:edges] = data["targets"]
        arrays.acts[:edges] = data["acts"]
    ctl[COUNT], ctl[EDGES] = count, edges
    ctl[TRANSITIONS], ctl[TRUNCATED] = int(manifest["transitions"]), int(manifest["truncated"])
    arrays.grow(ctl, kernel.buffer, kernel.buffer)
    module.rehash(arrays.states, count, arrays.table, ctl[TABLE_MASK])
    return (
        int(manifest["depth"]),
        int(manifest["done"]),
        list(manifest["starts"]),
        float(manifest["seconds"]),
    )


def _problem(
    model: Model, arrays: _Arrays, prepared: Prepared, at: int, status: int, detail: int
) -> str:
    """Why the compiled engine cannot give the Python engine's answer (a kernel's stop)."""
    if status == codegen.OUTSIDE_TYPES:
        return _outside(model, prepared.layout, arrays, at, detail)
    if status == codegen.RENAMED_OUTSIDE:
        state = prepared.layout.decode(arrays.states[at])
        return (
            f"symmetry: renaming the ids in a successor of the reachable state {state!r} gives "
            "an id-holding field a value outside its declared type (the Python engine does "
            "not hold values to the declared types)"
        )
    return _inexact(prepared.program, prepared.kernel.properties, detail)


def _run(
    module: Any, arrays: _Arrays, ctl: np.ndarray, done: int, level_end: int, buffer: int
) -> str | None:
    """Expand the next CHUNK states of a level on this thread (``run``, one call).

    Returns why the search stops (``"max_states"``, ``"first_violation"``,
    ``"problem"``) or None, with ``ctl[AT]`` the first state not expanded yet.
    """
    ctl[AT], ctl[END] = done, min(done + CHUNK, level_end)
    module.run(*arrays.shared(ctl))
    status = ctl[STATUS]
    if status == codegen.GROW:
        if arrays.grow(ctl, buffer, buffer):
            module.rehash(arrays.states, ctl[COUNT], arrays.table, ctl[TABLE_MASK])
        return None
    if status == codegen.MAX_STATES:
        return "max_states"
    if status == codegen.FIRST_VIOLATION:
        return "first_violation"
    if status in (codegen.OUTSIDE_TYPES, codegen.INEXACT, codegen.RENAMED_OUTSIDE):
        return "problem"
    return None


class _Decoded:
    """Stored rows as states, and the parent links traces are built from."""

    def __init__(
        self,
        model: Model,
        layout: Layout,
        arrays: _Arrays,
        module: Any,
        starts: list[int],
        symmetry: SymmetryDef | None = None,
    ) -> None:
        self.model, self.layout, self.arrays = model, layout, arrays
        self.module, self.starts = module, starts
        #: Under symmetry reduction the rows are orbit representatives (and the kernel's
        #: ``find`` compares representatives), so traces are made concrete runs.
        self.symmetry = symmetry

    def state(self, row: int) -> Any:
        return self.layout.decode(self.arrays.states[row])

    def parent(self, row: int) -> int:
        """The row that discovered ``row`` (-1 for an initial state).

        The BFS admits a new state from the first row of the previous level, in
        order, that has it as a successor, so the kernel in find mode, run over
        that level, stops at exactly the parent the search recorded.
        """
        level = bisect.bisect_right(self.starts, row) - 1
        if level == 0:
            return -1
        found = int(self.module.find(self.arrays.states, row, *self.starts[level - 1 : level + 1]))
        if found < 0:
            raise AssertionError(f"no state of BFS level {level - 1} leads to row {row}")
        return found

    def parents_of(self, row: int) -> dict[Any, Any]:
        """``state -> parent`` along the chain from an initial state to ``row``."""
        links: dict[Any, Any] = {}
        if row < 0:
            return links
        state = self.state(row)
        while True:
            parent_row = self.parent(row)
            parent = self.state(parent_row) if parent_row >= 0 else None
            links[state] = parent
            if parent is None:
                return links
            row, state = parent_row, parent


def _recoverability(
    model: Model,
    prepared: Prepared,
    arrays: _Arrays,
    count: int,
    p: int,
    prop: PropertyDef,
    search: _Decoded,
) -> Verdict:
    good = np.zeros(count, np.bool_)
    failed = prepared.module.good(arrays.states, count, p, good)
    if failed >= 0:
        raise NotCompilable(
            f"{model.name}.{prop.name} computes a value that does not fit the compiled "
            f"engine's integers in a reachable state"
        )
    allowed = np.array(
        [prop.using is None or a.family in prop.using for a in model.actions], np.bool_
    )
    edges = int(arrays.offsets[count])
    reached = recoverable_states(
        count,
        arrays.offsets[: count + 1],
        arrays.targets[:edges],
        arrays.acts[:edges],
        allowed,
        good,
    )
    bad = np.flatnonzero(~reached)
    if len(bad) == 0:
        return Verdict(prop.name, prop.kind, Status.HOLDS)
    first = int(bad[0])
    symmetry = search.symmetry
    trace = path_to(model, search.parents_of(first), search.state(first), symmetry)
    escape = None
    operators = excluded_operators(model, prop)
    taken = np.unique(arrays.acts[:edges]) if operators else ()
    if operators and any(model.actions[int(a)].family in operators for a in taken):
        everything = np.ones(len(model.actions), np.bool_)
        recovers = recoverable_states(
            count,
            arrays.offsets[: count + 1],
            arrays.targets[:edges],
            arrays.acts[:edges],
            everything,
            good,
        )
        stored = arrays.states[:count]

        def row_recovers(state: Any) -> bool:
            if symmetry is not None:  # stored as its orbit's representative
                state = symmetry.canonical(state)
            rows = np.flatnonzero((stored == prepared.layout.encode(state)).all(axis=1))
            return bool(len(rows)) and bool(recovers[int(rows[0])])

        stuck = int(count - np.count_nonzero(recovers))
        escape = operator_escape(model, search.state(first), row_recovers, stuck)
    return recoverability_verdict(prop, trace, len(bad), count, escape)


def _outside(model: Model, layout: Layout, arrays: _Arrays, at: int, leaf: int) -> str:
    slot = layout.slots[leaf]
    state = layout.decode(arrays.states[at])
    return (
        f"a successor of the reachable state {state!r} gives {slot.leaf.name} a value outside "
        f"its declared type ({_type_text(slot.leaf.ftype)}); the Python engine does not hold "
        "values to the declared types (declare a wider type to use the compiled engine)"
    )


def _type_text(ftype: Any) -> str:
    return f"{ftype.low}..{ftype.high}" if isinstance(ftype, IntType) else repr(ftype)


def _inexact(program: Any, names: tuple[str, ...], number: int) -> str:
    checks = list(program.inexact)
    for name in names:
        checks += program.property_inexact[name]
    check = checks[number]
    return (
        f"{check.what}: the operation {check.op} at {check.where} computes a value wider than "
        "its fixed-width encoding in a reachable state"
    )
