"""The Python engine's breadth-first search with the fingerprint store (``--store fingerprints``).

The exact store (:mod:`modelcheck.engines.bfs`) keeps every state as an
object, in a list that is the BFS queue and a dict of parent links: about
300 bytes a state on dns-race.  This search keeps, per state, only

* its 64-bit fingerprint, in a compact open-addressing table
  (:class:`~modelcheck.engines.fingerprints.FingerprintTable`);
* its parent's number and its place among the parent's steps, in two
  arrays (:class:`~modelcheck.engines.fingerprints.Parents`);

and holds states as objects only for the level being expanded and the one
being found, the latter packed into compressed blocks.  Expanded levels are
dropped.  A trace is rebuilt by walking the parent numbers back to an
initial state, then re-running the spec forwards, taking at each state the
step at the recorded place; the state it ends in must be the one the search
found, or the spec is not deterministic and that is reported.

The loop is the generated one (:mod:`modelcheck.engines.expand`, with
``LoopShape.fingerprints``), run level by level in chunks of
``progress_every`` states, so states are numbered, properties evaluated and
limits applied exactly as in the exact search: with no fingerprint
collision the counts, verdicts and traces are the exact search's.  With a
collision a state is lost unnoticed, so the result is marked as not exact
and carries :func:`~modelcheck.engines.fingerprints.collision_probability`.

It keeps no state graph, so recoverability, liveness and ``--coverage`` are
refused, as are checkpoints (not written for this store yet).
"""

from __future__ import annotations

import gc
import itertools
import time
from typing import Any

from modelcheck.engines import bfs
from modelcheck.engines.bfs import (
    OUT_OF_MEMORY,
    CheckOptions,
    Progress,
    ProgressCallback,
    between_chunks,
    peak_memory_bytes,
    stop_reason,
)
from modelcheck.engines.diagnose import diagnose, property_error
from modelcheck.engines.expand import ChunkAborted, ChunkFunction, LoopShape, StopSearch, generate
from modelcheck.engines.fingerprints import (
    FingerprintTable,
    PackedLevel,
    Parents,
    UnfingerprintableState,
    collision_probability,
    fingerprint_function,
)
from modelcheck.engines.iteration_order import probe_iteration_order
from modelcheck.engines.parents import path_to
from modelcheck.errors import ModelcheckError, SpecError
from modelcheck.model import Model, PropertyDef
from modelcheck.result import CheckResult, Statistics, Status, Verdict

#: Bits of fingerprint kept: 64, except in tests that shorten them to make
#: collisions happen (the estimate follows).
FINGERPRINT_BITS = 64

#: Where a state was found: its number, or, for a state outside the
#: constraint (not numbered), ``(parent number, place)``.
Reference = int | tuple[int, int]


def refusal(model: Model, options: CheckOptions) -> str | None:
    """Why this check cannot run on the fingerprint store (None: it can)."""
    props = bfs.selected_properties(model, options.properties)
    graph = [p.name for p in props if p.kind == "recoverable" or p.liveness]
    if graph:
        names = ", ".join(graph)
        return (
            f"--store fingerprints keeps no state graph, and recoverability and liveness "
            f"properties ({names}) need the whole graph: check them with the exact store "
            "(drop --store), or leave them out by naming the other properties with --property."
        )
    return None


def check(
    model: Model, options: CheckOptions, progress: ProgressCallback | None = None
) -> CheckResult:
    """Explore ``model`` breadth-first, storing fingerprints (see the module docstring)."""
    reason = refusal(model, options)
    if reason is not None:
        raise ModelcheckError(reason)
    props = bfs.selected_properties(model, options.properties)
    symmetry = bfs.reduction(model, options)
    canonical = None if symmetry is None else symmetry.canonical
    probe_iteration_order(model, options.max_states)
    invariants = [p for p in props if p.kind == "invariant"]
    action_props = [p for p in props if p.kind == "action"]
    terminals = [p for p in props if p.kind == "terminal"]
    reachables = [p for p in props if p.kind == "reachable"]
    constraints = [c.check for c in model.constraints]
    bits = FINGERPRINT_BITS
    fingerprint = fingerprint_function(bits)
    every = options.progress_every

    table = FingerprintTable()
    outside_table = FingerprintTable() if constraints else None
    initial = model.initial_states
    if canonical is not None:
        initial = tuple(dict.fromkeys(map(canonical, initial)))
    parents = Parents(wide=len(initial) > 0xFFFF)
    current = PackedLevel(every)
    # States outside the constraint found since the last check: (state, parent, place).
    outside: list[tuple[Any, int, int]] = []
    for place, init in enumerate(initial):
        x = fingerprint(init)
        if model.within(init):
            if table.add(x):
                current.append(init)
                parents.parents.append(Parents.ROOT)
                parents.places.append(place)
        elif outside_table is not None and outside_table.add(x):
            outside.append((init, Parents.ROOT, place))

    def successor(state: Any, place: int) -> Any:
        # The step at ``place`` (1 for the first) among the state's steps, as stored.
        steps = model.successors(state)
        if not 1 <= place <= len(steps):
            raise _not_deterministic(model, state, place, len(steps))
        t = steps[place - 1][1]
        return t if canonical is None else canonical(t)

    def chain(reference: Reference) -> list[Any]:
        # The stored states from an initial state to the one ``reference`` names.
        if isinstance(reference, tuple):
            parent, place = reference
            links = [(Parents.ROOT, place)] if parent == Parents.ROOT else parents.chain(parent)
            if parent != Parents.ROOT:
                links.append((parent, place))
        else:
            links = parents.chain(reference)
        states = [initial[links[0][1]]]
        for _parent, place in links[1:]:
            states.append(successor(states[-1], place))
        return states

    def parent_links(state: Any, reference: Reference) -> dict[Any, Any]:
        # state -> parent along the rebuilt run, as the exact search's index holds them.
        run = chain(reference)
        if run[-1] != state:
            raise _not_deterministic(model, state)
        links: dict[Any, Any] = {run[0]: None}
        for before, after in itertools.pairwise(run):
            links[after] = before
        return links

    found: dict[str, tuple[tuple[Any, Reference], Any]] = {}
    witnessed: dict[str, tuple[Any, Reference]] = {}
    constrained = 0

    def check_outside() -> None:
        # As the exact search: invariants and @reachable predicates on the states
        # outside the constraint found during the level just expanded.
        nonlocal constrained
        settled = len(found)
        for t, parent, place in outside:
            for prop in (*invariants, *reachables):
                if prop.name in found or prop.name in witnessed:
                    continue
                try:
                    value = prop.holds(t)
                except Exception as exc:
                    trace = path_to(model, parent_links(t, (parent, place)), t, symmetry)
                    where = "a state outside the constraint"
                    raise property_error(model, prop, exc, trace, t, where) from exc
                if prop.kind == "reachable" and value:
                    witnessed.setdefault(prop.name, (t, (parent, place)))
                elif prop.kind == "invariant" and not value:
                    found.setdefault(prop.name, ((t, (parent, place)), None))
        constrained += len(outside)
        outside.clear()
        if options.stop_at_first and len(found) != settled:
            raise StopSearch("first_violation")

    # The level being found: the loop appends to it, and it is handed over whole
    # once the level before is expanded (so the loop need not be generated again).
    next_level = PackedLevel(every)

    def loop(frontier: bool) -> ChunkFunction:
        def live(group: list[PropertyDef]) -> list[tuple[str, Any]]:
            return [(p.name, p.check) for p in group if p.name not in found]

        store: dict[str, Any] = {
            "_fp": fingerprint,
            "_add": table.add,
            "_has": table.contains,
            "_next_append": next_level.append,
            "_parents": parents.parents,
            "_parents_append": parents.parents.append,
            "_places_append": parents.places.append,
        }
        if outside_table is not None:
            store.update(
                _outside_has=outside_table.contains,
                _outside_add=outside_table.add,
            )
        shape = LoopShape(
            frontier=frontier,
            max_states=options.max_states,
            stop_at_first=options.stop_at_first,
            fingerprints=True,
        )
        return generate(
            model.actions,
            live(invariants),
            live(action_props),
            live(terminals),
            shape,
            states=[],
            index={},
            found=found,  # type: ignore[arg-type]  # ((s, p), t) here
            witnesses=[(p.name, p.check) for p in reachables if p.name not in witnessed],
            witnessed=witnessed,
            constraints=constraints,
            outside=({}, outside),  # type: ignore[arg-type]  # (state, parent, place) here
            canonical=canonical,
            store=store,
        )

    max_depth = options.max_depth if options.max_depth is not None else float("inf")
    deadline = None if options.time_limit is None else time.monotonic() + options.time_limit
    transitions = depth = done = 0
    level_start = 0  # the number of the current level's first state
    truncated_depth = False
    stopped_by: str | None = None
    loops: dict[bool, ChunkFunction] = {}
    known = (0, 0)
    block: list[Any] = []
    started = time.perf_counter() - model.compile_seconds
    collecting = gc.isenabled()
    gc.disable()  # as in the exact search: the cyclic collector only in small steps
    try:
        check_outside()
        while current.size:
            frontier = depth >= max_depth
            for block in current.blocks():
                if known != (len(found), len(witnessed)) or frontier not in loops:
                    # A property settled by its first violation or witness is not
                    # checked again.
                    known = (len(found), len(witnessed))
                    loops.clear()
                    loops[frontier] = loop(frontier)
                n, truncated = loops[frontier](block, done - 1)
                chunk_end = done + len(block)
                transitions += n
                truncated_depth = truncated_depth or truncated
                ticked = done // every != chunk_end // every
                done = chunk_end
                if not ticked:
                    continue
                between_chunks(deadline, options.memory_limit)
                if progress is not None:
                    queued = level_start + current.size - done + next_level.size
                    seconds = time.perf_counter() - started
                    progress(
                        Progress(
                            len(parents), transitions, depth, queued, seconds, peak_memory_bytes()
                        )
                    )
            block = []
            check_outside()
            level_start += current.size
            current = next_level.handover()
            if current.size:
                depth += 1
    except ChunkAborted as aborted:
        transitions += aborted.transitions
        cause = aborted.cause
        stopped_by = stop_reason(cause)
        if stopped_by is None:  # the spec's own error, or a state this store cannot keep
            if isinstance(cause, OverflowError) and len(parents) != len(parents.places):
                raise ModelcheckError(
                    "--store fingerprints numbers a state's steps in 16 bits, and a state of "
                    f"{model.name} has more than 65,535 successors; use the exact store."
                ) from cause
            if isinstance(cause, UnfingerprintableState):
                raise cause from None  # about a value of the state, not an action that failed
            if isinstance(cause, Exception):
                number = done + next(i for i, s in enumerate(block) if s == aborted.state)
                links = parent_links(aborted.state, number)
                raise diagnose(model, links, aborted.state, cause, symmetry) from cause
            raise cause from None
    except StopSearch as stop:
        stopped_by = stop.reason
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
    states = len(parents)
    block = []  # the states of a level cut short are not needed for the verdicts

    def verdict(prop: PropertyDef) -> Verdict:
        if prop.name in found:
            (state, reference), succ = found[prop.name]
            links = parent_links(state, reference)
            return bfs.violation_verdict(model, prop, links, state, succ, symmetry)
        if prop.kind == "reachable":
            if prop.name in witnessed:
                state, reference = witnessed[prop.name]
                links = parent_links(state, reference)
                return bfs.possibility_verdict(model, prop, links, state, complete, symmetry)
            return bfs.possibility_verdict(model, prop, {}, None, complete, symmetry)
        return Verdict(prop.name, prop.kind, Status.HOLDS if complete else Status.UNKNOWN)

    try:
        verdicts = [verdict(prop) for prop in props]
    except KeyboardInterrupt:
        # Rebuilding traces re-runs the spec: Ctrl-C there keeps the verdicts without them.
        stopped_by, complete = "interrupted", False
        verdicts = [
            Verdict(p.name, p.kind, Status.VIOLATED if p.name in found else Status.UNKNOWN)
            for p in props
        ]
    stats = Statistics(
        states,
        transitions,
        depth,
        seconds,
        peak_memory_bytes(),
        constrained=constrained,
        collision_probability=collision_probability(states + constrained, bits),
    )
    return CheckResult(
        spec=model.name,
        parameters=dict(model.parameters),
        verdicts=tuple(verdicts),
        statistics=stats,
        complete=complete,
        stopped_by=stopped_by,
        engine="python",
        symmetry="" if symmetry is None else symmetry.description,
        store="fingerprints",
    )


def _not_deterministic(model: Model, state: Any, place: int = 0, steps: int = 0) -> SpecError:
    what = (
        f"re-running {model.name} from an initial state along the recorded steps reaches "
        f"{state!r}, which has {steps} steps where the search took step {place}"
        if place
        else f"re-running {model.name} along the recorded steps does not reach {state!r}"
    )
    return SpecError(
        f"--store fingerprints could not rebuild a trace: {what}. The spec is probably not "
        "deterministic (e.g. an action iterates a set of non-integers, or reads something "
        "outside the state); the exact store (drop --store) keeps the states themselves."
    )
