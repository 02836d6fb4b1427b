"""From a counterexample someone found to the shortest one: shrinking and bounded BFS.

Random walks and Hypothesis find violations quickly, but the runs they find
are long, and even after shrinking they are usually not the shortest (on
dns-race, Hypothesis' shrunk traces have 12-27 steps where 10 exist) and
often tell a different story.  Once a violation is known at depth ``d``, a
breadth-first search for the same property bounded to depth ``d`` is often
cheap, and its first counterexample is a proven shortest one.  When that
search does not fit the budget given, the found trace is kept and reported
as "only shrunk".

Nothing here imports Hypothesis: the simulation engine and the Hypothesis
bridge both use it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import attrs

from modelcheck.engines.bfs import CheckOptions, check
from modelcheck.model import ActionInstance, Model, PropertyDef
from modelcheck.properties import explain
from modelcheck.result import Status
from modelcheck.trace import Trace


@attrs.frozen
class Counterexample:
    """A counterexample together with what is known about its length."""

    trace: Trace
    #: True when a breadth-first search proved no shorter run violates the property.
    proven_shortest: bool
    #: Length of the run as it was found (before the bounded search).
    found_steps: int
    #: One sentence saying how the trace was obtained, for reports.
    how: str

    @property
    def status_text(self) -> str:
        """``"proven shortest"`` or ``"only shrunk"``."""
        return "proven shortest" if self.proven_shortest else "only shrunk"


def violation_at_end(
    model: Model, prop: PropertyDef, before: Any, after: Any, terminal: bool
) -> str | None:
    """Why ``prop`` fails on reaching ``after`` (from ``before``, None at the start), or None.

    ``terminal`` says whether ``after`` has no enabled action (only the
    terminal kind needs it).
    """
    if prop.kind == "invariant":
        return None if prop.holds(after) else explain(prop, after)
    if prop.kind == "action":
        if before is None or prop.holds(before, after):
            return None
        return explain(prop, before, after)
    if prop.kind == "terminal":
        if not terminal or prop.holds(after):
            return None
        return f"no action is enabled and {explain(prop, after)}"
    return None  # recoverability is a whole-graph property, not a property of one run


def _first_violation(
    model: Model, prop: PropertyDef, initial: Any, steps: Sequence[tuple[ActionInstance, Any]]
) -> tuple[int, str] | None:
    """``(prefix length, reason)`` of the first prefix of a run that violates ``prop``.

    A run does not go on from a state outside the spec's constraints (the
    engines never extend one), so neither does the search for a prefix.
    """
    before = None
    for n, after in enumerate([initial, *(state for _act, state in steps)]):
        within = model.within(after)
        terminal = prop.kind == "terminal" and within and not model.successors(after)
        reason = violation_at_end(model, prop, before, after, terminal)
        if reason is not None:
            return n, reason
        if not within:
            return None
        before = after
    return None


def _rerun(
    initial: Any, steps: Sequence[tuple[ActionInstance, Any]]
) -> list[tuple[ActionInstance, Any]] | None:
    """Re-execute the actions of ``steps`` from ``initial``; None if one is disabled."""
    out: list[tuple[ActionInstance, Any]] = []
    state = initial
    for act, wanted in steps:
        successors = act.successors(state)
        if not successors:
            return None
        # Keep the recorded outcome of a nondeterministic action when it is still possible.
        state = wanted if wanted in successors else successors[0]
        out.append((act, state))
    return out


def _instances(model: Model, trace: Trace) -> list[tuple[ActionInstance, Any]]:
    steps = []
    for step in trace.steps:
        act = model.find_action(step.action, dict(step.args))
        if act is None:
            raise ValueError(f"{step.label} is not an action of {model.name}")
        steps.append((act, step.state))
    return steps


def shrink(model: Model, trace: Trace, time_limit: float = 5.0) -> Trace:
    """Greedily delete steps of a counterexample while it stays legal and violating.

    Deterministic (it tries positions from the end to the start, in passes,
    until no single deletion works or the time is up).  The result is
    usually much shorter than a random walk, but not necessarily shortest.
    """
    if trace.violates is None:
        raise ValueError("shrink needs a trace that violates a property")
    prop = model.property(trace.violates)
    deadline = time.monotonic() + time_limit
    steps = _instances(model, trace)
    found = _first_violation(model, prop, trace.initial, steps)
    if found is None:
        raise ValueError(f"the trace does not violate {prop.name}")
    steps, reason = steps[: found[0]], found[1]
    changed = True
    while changed and time.monotonic() < deadline:
        changed = False
        i = len(steps) - 1
        while i >= 0 and time.monotonic() < deadline:
            candidate = _rerun(trace.initial, steps[:i] + steps[i + 1 :])
            if candidate is not None:
                hit = _first_violation(model, prop, trace.initial, candidate)
                if hit is not None:
                    steps, reason = candidate[: hit[0]], hit[1]
                    changed = True
                    i = min(i, len(steps))
            i -= 1
    return model.run_trace(trace.initial, steps, prop.name, prop.kind, reason)


def shortest_counterexample(
    model: Model,
    trace: Trace,
    *,
    max_states: int | None = 2_000_000,
    time_limit: float | None = 30.0,
) -> Counterexample:
    """Try to replace ``trace`` by a proven shortest counterexample to the same property.

    Runs a breadth-first search for ``trace.violates`` only, to the depth of
    ``trace``, within ``max_states`` and ``time_limit``.  BFS meets states in
    order of depth, so the first violation it finds is a shortest one.  When
    the budget runs out first, ``trace`` is returned, marked as not proven.
    """
    if trace.violates is None:
        raise ValueError("shortest_counterexample needs a trace that violates a property")
    prop = model.property(trace.violates)
    found = len(trace)
    if found == 0:
        return Counterexample(trace, True, 0, "proven shortest: the initial state violates it")
    if prop.kind == "recoverable":
        return Counterexample(
            trace, False, found, "only shrunk: recoverability needs the whole state graph"
        )
    if prop.liveness:
        return Counterexample(
            trace, False, found, "not shrunk: a lasso needs the whole state graph"
        )
    result = check(
        model,
        CheckOptions(
            properties=(prop.name,),
            max_depth=found,
            max_states=max_states,
            time_limit=time_limit,
            stop_at_first=True,
        ),
    )
    verdict = result.verdict(prop.name)
    st = result.statistics
    searched = f"{st.states:,} states, {st.seconds:.2f} s"
    if verdict.status is Status.VIOLATED and verdict.counterexample is not None:
        shortest = verdict.counterexample
        return Counterexample(
            shortest,
            True,
            found,
            f"proven shortest: breadth-first search to depth {found} found {len(shortest)} "
            f"steps ({searched})",
        )
    if result.stopped_by in ("max_states", "time_limit", "interrupted"):
        why = {
            "max_states": f"the {max_states:,}-state budget",
            "time_limit": f"the {time_limit} s budget",
            "interrupted": "an interruption",
        }[result.stopped_by]
        return Counterexample(
            trace,
            False,
            found,
            f"only shrunk: breadth-first search to depth {found} stopped at {why} "
            f"({searched}) before proving a shorter run impossible",
        )
    return Counterexample(
        trace,
        False,
        found,
        f"only shrunk: breadth-first search to depth {found} did not reproduce the "
        f"violation ({searched}); is the spec deterministic?",
    )
