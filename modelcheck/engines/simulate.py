"""Random simulation: many random walks over a model, for sizes no enumeration reaches.

Each run starts in an initial state and fires uniformly chosen enabled
transitions (an action instance with one of its next states) until it
reaches a terminal state, a state outside the spec's constraints (which no
engine extends) or the depth limit.  Invariants are checked in every state,
action properties on every step, the terminal check where a run gets stuck;
a ``@reachable`` predicate holds once a run reaches a state satisfying it
(the witness is then cut to a shortest one by a bounded BFS, budget
permitting).  Recoverability needs the whole state graph and is not checked.

Determinism: run ``k`` of seed ``s`` draws from its own
``random.Random(f"{s}:{k}")`` (string seeds are hashed with SHA-512, not
``hash()``), so the same seed gives the same runs, counts and
counterexamples on every machine, and one run can be reproduced alone.
Simulation never proves a property: "not violated" only means no run found
a violation.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import attrs

from modelcheck.engines.bfs import CheckOptions, check
from modelcheck.engines.expand import StopSearch
from modelcheck.engines.shortest import (
    Counterexample,
    shortest_counterexample,
    shrink,
    violation_at_end,
)
from modelcheck.errors import ModelcheckError, SpecRuntimeError
from modelcheck.model import ActionInstance, Model, PropertyDef, check_state
from modelcheck.properties import satisfied
from modelcheck.result import ExitCode, Status, Verdict
from modelcheck.trace import Trace
from modelcheck.wording import n_steps, plural


@attrs.frozen
class SimulateOptions:
    """How to simulate.  ``None`` means no limit."""

    runs: int = 100
    #: Maximum number of steps per run.
    depth: int = 100
    seed: int = 0
    #: Names of the properties to check (``None``: all the spec declares).
    properties: tuple[str, ...] | None = None
    #: Seconds for the whole simulation (the runs, not the search for a shortest trace).
    time_limit: float | None = None
    #: Stop after the first run that violates a property.
    stop_at_first: bool = False
    #: Count distinct states (costs memory proportional to runs x depth).
    track_states: bool = True
    #: Stop counting (and remembering) distinct states past this many, so a
    #: long simulation uses bounded memory; the count is then a lower bound.
    max_tracked_states: int | None = 1_000_000
    #: Delete steps of each counterexample while it still violates (greedy, cheap).
    shrink: bool = True
    #: Then try a bounded BFS to prove a shortest counterexample.
    shortest: bool = True
    shortest_max_states: int | None = 1_000_000
    shortest_time_limit: float | None = 20.0

    def __attrs_post_init__(self) -> None:
        for name in ("runs", "depth", "shortest_max_states", "max_tracked_states"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        for name in ("time_limit", "shortest_time_limit"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")


@attrs.frozen
class SimulationResult:
    """What a simulation found.  ``exit_code``: 1 violated, 3 stopped early, else 0."""

    spec: str
    parameters: dict[str, Any]
    options: SimulateOptions
    runs: int
    steps: int
    #: Distinct states visited (None when not tracked).
    distinct_states: int | None
    #: ``(family, times fired)`` in declaration order.
    fired: tuple[tuple[str, int], ...]
    #: Runs that ended in a state with no enabled action.
    terminal_runs: int
    verdicts: tuple[Verdict, ...]
    #: One per violated property, in property order, with how short it is known to be.
    counterexamples: tuple[Counterexample, ...]
    seconds: float
    #: "time_limit", "interrupted", "first_violation", or None when every run was made.
    stopped_by: str | None = None
    engine: str = "simulate"
    #: Counting stopped at ``options.max_tracked_states``: ``distinct_states`` is a lower bound.
    distinct_states_capped: bool = False

    @property
    def violated(self) -> tuple[Verdict, ...]:
        """The verdicts that found a violation."""
        return tuple(v for v in self.verdicts if v.status is Status.VIOLATED)

    @property
    def exit_code(self) -> ExitCode:
        """1 when a property fails, 3 when stopped before all runs, else 0."""
        if self.violated:
            return ExitCode.VIOLATED
        if self.stopped_by is not None:
            return ExitCode.INCOMPLETE
        return ExitCode.OK


ProgressCallback = Callable[[int, int, int | None, float], None]


def simulate(
    model: Model, options: SimulateOptions | None = None, progress: ProgressCallback | None = None
) -> SimulationResult:
    """Make ``options.runs`` random walks over ``model`` and check its properties.

    ``progress(runs_done, steps, distinct_states, seconds)`` is called after
    every run that takes the total past another 10,000 steps.
    """
    options = options or SimulateOptions()
    props = (
        list(model.properties)
        if options.properties is None
        else [model.property(n) for n in options.properties]
    )
    checked = [p for p in props if p.kind != "recoverable" and not p.liveness]
    needs_terminal = any(p.kind == "terminal" for p in checked)
    table = [(a, *a.fast) for a in model.actions]
    fired = dict.fromkeys(model.families, 0)
    seen: set[Any] | None = set(model.initial_states) if options.track_states else None
    cap = options.max_tracked_states
    found: dict[str, Trace] = {}
    witnessed: dict[str, Trace] = {}
    deadline = None if options.time_limit is None else time.monotonic() + options.time_limit
    started = time.perf_counter() - model.compile_seconds  # initial states included
    runs = steps = terminal_runs = 0
    next_report = 10_000
    stopped_by: str | None = None
    try:
        for run in range(options.runs):
            if deadline is not None and time.monotonic() > deadline:
                raise StopSearch("time_limit")
            rng = random.Random(f"{options.seed}:{run}")
            walked, terminal, hit = _walk(
                model,
                table,
                checked,
                needs_terminal,
                rng,
                options.depth,
                seen if seen is None or cap is None or len(seen) < cap else None,
                fired,
                found,
                run,
                options.seed,
                witnessed,
            )
            runs += 1
            steps += walked
            terminal_runs += terminal
            if progress is not None and steps >= next_report:
                next_report = steps + 10_000
                progress(
                    runs, steps, None if seen is None else len(seen), time.perf_counter() - started
                )
            if hit and options.stop_at_first:
                raise StopSearch("first_violation")
    except StopSearch as stop:
        stopped_by = stop.reason
    except KeyboardInterrupt:
        stopped_by = "interrupted"
    seconds = time.perf_counter() - started

    counterexamples = []
    verdicts = []
    # After Ctrl-C, report the runs as found: shrinking and the search for a
    # shortest trace take seconds per property, and the user asked to stop.
    improve = options
    if stopped_by == "interrupted":
        improve = attrs.evolve(options, shrink=False, shortest=False)
    for prop in props:
        if prop.name in found:
            try:
                ce = _improve(model, found[prop.name], improve)
            except KeyboardInterrupt:
                # Shrinking takes seconds: after Ctrl-C keep the runs as found.
                stopped_by = "interrupted"
                improve = attrs.evolve(options, shrink=False, shortest=False)
                ce = _improve(model, found[prop.name], improve)
            counterexamples.append(ce)
            verdicts.append(
                Verdict(prop.name, prop.kind, Status.VIOLATED, ce.trace, ce.trace.reason)
            )
        elif prop.name in witnessed:
            witness, how = _shortest_witness(model, witnessed[prop.name], options)
            verdicts.append(
                Verdict(
                    prop.name,
                    prop.kind,
                    Status.HOLDS,
                    reason=f"reached: a witness of {len(witness)} steps ({how})",
                    witness=witness,
                )
            )
        elif prop.kind == "reachable":
            verdicts.append(
                Verdict(
                    prop.name,
                    prop.kind,
                    Status.UNKNOWN,
                    reason=f"not reached in {runs} runs of up to {options.depth} steps",
                )
            )
        elif prop.kind == "recoverable":
            verdicts.append(
                Verdict(
                    prop.name,
                    prop.kind,
                    Status.UNKNOWN,
                    reason="not checked: recoverability needs exhaustive search",
                )
            )
        elif prop.liveness:
            verdicts.append(
                Verdict(
                    prop.name,
                    prop.kind,
                    Status.UNKNOWN,
                    reason=(
                        "not checked: a liveness property is about infinite runs and needs the "
                        "whole state graph (use modelcheck check)"
                    ),
                )
            )
        else:
            verdicts.append(
                Verdict(
                    prop.name,
                    prop.kind,
                    Status.UNKNOWN,
                    reason=(
                        f"not violated in {plural(runs, 'run')} of up to {n_steps(options.depth)}"
                    ),
                )
            )
    return SimulationResult(
        spec=model.name,
        parameters=dict(model.parameters),
        options=options,
        runs=runs,
        steps=steps,
        distinct_states=None if seen is None else len(seen),
        distinct_states_capped=seen is not None and cap is not None and len(seen) >= cap,
        fired=tuple(fired.items()),
        terminal_runs=terminal_runs,
        verdicts=tuple(verdicts),
        counterexamples=tuple(counterexamples),
        seconds=seconds,
        stopped_by=stopped_by,
    )


def _walk(
    model: Model,
    table: list[tuple[ActionInstance, Any, Any]],
    props: list[PropertyDef],
    needs_terminal: bool,
    rng: random.Random,
    depth: int,
    seen: set[Any] | None,
    fired: dict[str, int],
    found: dict[str, Trace],
    run: int,
    seed: int,
    witnessed: dict[str, Trace] | None = None,
) -> tuple[int, int, bool]:
    """One random run; returns (steps taken, 1 if it ended stuck else 0, violated?)."""
    initial = state = model.initial_states[rng.randrange(len(model.initial_states))]
    path: list[tuple[ActionInstance, Any]] = []
    witnessed = {} if witnessed is None else witnessed
    hit = _record(model, props, initial, None, state, False, path, found, witnessed=witnessed)
    before: Any = None
    within = model.within if model.constraints else None
    try:
        for _ in range(depth + 1):
            if within is not None and not within(state):
                # Outside a constraint: no engine extends this state.
                return len(path), 0, hit
            options: list[tuple[ActionInstance, Any]] = []
            for act, f, arg in table:
                if act.nondeterministic:
                    options.extend((act, t) for t in act.successors(state))
                else:
                    t = f(state, arg)
                    if t is not None:
                        options.append((act, t))
            if not options:
                if needs_terminal:
                    hit |= _record(
                        model, props, initial, before, state, True, path, found, only="terminal"
                    )
                return len(path), 1, hit
            if len(path) == depth:
                break
            act, nxt = options[rng.randrange(len(options))]
            if seen is not None and nxt not in seen:
                check_state(nxt, f"{model.name}.{act.family} ({act.label})")
                seen.add(nxt)
            fired[act.family] += 1
            path.append((act, nxt))
            before, state = state, nxt
            hit |= _record(
                model, props, initial, before, state, False, path, found, witnessed=witnessed
            )
    except ModelcheckError:
        raise
    except Exception as exc:
        raise SpecRuntimeError(
            f"{model.name} raised {type(exc).__name__}: {exc} during simulation run {run} "
            f"(seed {seed}) after {n_steps(len(path))}; the run so far is attached.",
            model.run_trace(initial, path),
        ) from exc
    return len(path), 0, hit


def _record(
    model: Model,
    props: list[PropertyDef],
    initial: Any,
    before: Any,
    after: Any,
    terminal: bool,
    path: list[tuple[ActionInstance, Any]],
    found: dict[str, Trace],
    only: str | None = None,
    witnessed: dict[str, Trace] | None = None,
) -> bool:
    """Check ``props`` on reaching ``after``; keep the shortest violation per property.

    A ``@reachable`` predicate true in ``after`` keeps the shortest run to
    it in ``witnessed``.
    """
    hit = False
    for prop in props:
        if (only is not None and prop.kind != only) or (prop.kind == "terminal" and not terminal):
            continue
        if prop.kind == "reachable":
            if witnessed is None or not prop.holds(after):
                continue
            old = witnessed.get(prop.name)
            if old is None or len(path) < len(old):
                witnessed[prop.name] = attrs.evolve(
                    model.run_trace(initial, path),
                    violates=prop.name,
                    kind=prop.kind,
                    reason=satisfied(prop, after),
                )
            continue
        reason = violation_at_end(model, prop, before, after, terminal)
        if reason is None:
            continue
        hit = True
        old = found.get(prop.name)
        if old is None or len(path) < len(old):
            found[prop.name] = attrs.evolve(
                model.run_trace(initial, path), violates=prop.name, kind=prop.kind, reason=reason
            )
    return hit


def _shortest_witness(model: Model, trace: Trace, options: SimulateOptions) -> tuple[Trace, str]:
    """The witness a run found, or a shortest one when a bounded BFS finds it in budget."""
    if not options.shortest or not trace.steps:
        return trace, "proven shortest" if not trace.steps else "as found by a random walk"
    try:
        result = check(
            model,
            CheckOptions(
                properties=(str(trace.violates),),
                max_depth=len(trace),
                max_states=options.shortest_max_states,
                time_limit=options.shortest_time_limit,
            ),
        )
    except KeyboardInterrupt:
        return trace, "as found by a random walk"
    shortest = result.verdicts[0].witness
    if shortest is None:
        return trace, "as found by a random walk; a bounded search did not finish"
    return shortest, "proven shortest by a breadth-first search"


def _improve(model: Model, trace: Trace, options: SimulateOptions) -> Counterexample:
    found = len(trace)
    if options.shrink:
        trace = shrink(model, trace)
    if options.shortest:
        ce = shortest_counterexample(
            model,
            trace,
            max_states=options.shortest_max_states,
            time_limit=options.shortest_time_limit,
        )
        return attrs.evolve(ce, found_steps=found)
    how = "only shrunk: greedy step deletion" if options.shrink else "as found by a random walk"
    return Counterexample(trace, False, found, how)
