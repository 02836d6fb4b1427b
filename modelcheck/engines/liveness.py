"""Liveness verdicts: fair-cycle search on the explored graph, lasso counterexamples.

Runs after a complete search, beside it (as recoverability does), on the
graph the search recorded.  Each liveness property is a question about
infinite runs, answered on the graph (:mod:`modelcheck.engines.fair_cycles`):

* ``eventually(P)`` (``<>P``) fails when a fair run stays in ``not P``
  from its initial state on;
* ``always_eventually(P)`` (``[]<>P``) when a fair run reaches ``not P``
  and stays there;
* ``leads_to(P, Q)`` (``P ~> Q``) when a fair run reaches a state with
  ``P`` and ``not Q`` and from there stays in ``not Q``;
* ``eventually_always(P)`` (``<>[]P``) when a fair run passes a
  ``not P`` state again and again.

Each is "a run that reaches a *region* (after a *trigger*) and stays in it
along a fair cycle (that passes an *accepting* state)", so one search
answers them all.  Runs are infinite: a state with no enabled action
stutters forever, and a spec that wants runs that may stop anywhere says
so with an action that does nothing.  A counterexample is a lasso: a
shortest run to the cycle, then the cycle, found nearest-goal-first.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import attrs

from modelcheck.engines.diagnose import property_error
from modelcheck.engines.fair_cycles import (
    Fairness,
    Graph,
    fair_components,
    fair_loop,
    shortest_prefix,
)
from modelcheck.engines.parents import path_to
from modelcheck.model import Model, PropertyDef
from modelcheck.properties import lasso_fairness
from modelcheck.result import Status, Verdict
from modelcheck.wording import n_steps


def _values(
    model: Model, prop: PropertyDef, states: Sequence[Any], index: Any, trigger: bool = False
) -> list[bool]:
    out = []
    for state in states:
        try:
            out.append(prop.triggered(state) if trigger else prop.holds(state))
        except Exception as exc:
            raise property_error(model, prop, exc, path_to(model, index, state), state) from exc
    return out


def fairness_conditions(model: Model) -> list[Fairness]:
    """The model's fairness declarations as the graph search's conditions."""
    return [(f.kind, f.actions) for f in model.fairness]


def liveness_verdict(
    model: Model,
    prop: PropertyDef,
    states: Sequence[Any],
    graph: Graph,
    initial: Sequence[int],
    index: Any,
) -> tuple[Verdict, list[str]]:
    """The verdict on one liveness property, and any warning about it (vacuity)."""
    count = len(states)
    value = _values(model, prop, states, index)
    warnings: list[str] = []
    trigger: list[bool] | None
    accepting: list[bool] | None = None
    if prop.kind == "eventually":
        region, trigger = [not v for v in value], None
    elif prop.kind == "always_eventually":
        region = [not v for v in value]
        trigger = region
    elif prop.kind == "eventually_always":
        region, trigger = [True] * count, [True] * count
        accepting = [not v for v in value]
    else:  # leads_to
        region = [not v for v in value]
        trigger = _values(model, prop, states, index, trigger=True)
        if not any(trigger):
            warnings.append(
                f"{prop.name} holds vacuously: no reachable state (of {count}) satisfies its "
                "trigger, so nothing is ever required; check the trigger's condition"
            )
    fairness = fairness_conditions(model)
    found = fair_components(graph, region, fairness)
    if accepting is not None:
        found = [c for c in found if any(accepting[n] for n in c)]
    goal = [False] * count
    owner: dict[int, list[int]] = {}
    for component in found:
        for n in component:
            goal[n] = True
            owner[n] = component
    prefix = shortest_prefix(graph, initial, region, trigger, goal) if found else None
    if prefix is None:
        reason = "vacuously: its trigger is never reached" if warnings else ""
        return Verdict(prop.name, prop.kind, Status.HOLDS, reason=reason), warnings
    entry = prefix[-1][0]
    loop = fair_loop(graph, owner[entry], entry, fairness, accepting)
    steps = [(model.actions[a], states[s]) for s, a in prefix[1:] if a is not None]
    steps += [(model.actions[a], states[s]) for a, s in loop]
    trace = model.run_trace(states[prefix[0][0]], steps)
    trace = attrs.evolve(trace, loop_start=len(prefix) - 1)
    notes = tuple(lasso_fairness(model, trace)[1])
    reason = _reason(prop, trace)
    if notes:
        reason += "; the loop is fair: " + "; ".join(notes)
    elif not model.fairness:
        reason += " (no action is declared fair, so any loop counts)"
    if model.operators:
        looped = [s for _, s in loop] or [entry]
        reason += _by_automation(model, prop, graph, region, trigger, accepting, looped, initial)
    trace = attrs.evolve(trace, violates=prop.name, kind=prop.kind, reason=reason, fairness=notes)
    return Verdict(prop.name, prop.kind, Status.VIOLATED, trace, reason), warnings


def _by_automation(
    model: Model,
    prop: PropertyDef,
    graph: Graph,
    region: list[bool],
    trigger: list[bool] | None,
    accepting: list[bool] | None,
    looped: list[int],
    initial: Sequence[int],
) -> str:
    """What the automation alone does about a violated liveness property, and the operator
    actions that end it: a sentence to add to the violation's reason.

    The automation is every action but the operators'.  A state is *trapped* when a fair
    run of the automation alone from it violates the property (a state where only
    operators can act stutters: without them nothing happens).  An operator action
    *ends* the violation when, from a state of the counterexample's loop, it leads to a
    state that is not trapped.
    """
    operators = {i for i, a in enumerate(model.actions) if a.family in model.operators}
    offsets, targets, actions = [0], [], []
    for n in range(graph.count):
        for p in graph.edges(n):
            if graph.actions[p] not in operators:
                targets.append(graph.targets[p])
                actions.append(graph.actions[p])
        offsets.append(len(targets))
    automation = Graph(graph.count, offsets, targets, actions)
    fairness = [(k, a - operators) for k, a in fairness_conditions(model) if a - operators]
    goal = [False] * graph.count
    for component in fair_components(automation, region, fairness):
        if accepting is None or any(accepting[n] for n in component):
            for n in component:
                goal[n] = True
    # Backwards over the automation's steps: the states that reach the bad cycles inside
    # the region (a run through a state outside it satisfies the property there) ...
    trapped = _reaching(automation, goal, region)
    if prop.kind == "leads_to" and trigger is not None:
        # ... entered at a trigger, from anywhere before it;
        start = [t and r for t, r in zip(trigger, trapped, strict=True)]
        trapped = _reaching(automation, start, None)
    elif prop.kind != "eventually":
        # ... from anywhere before them ([]<> and <>[] may be violated later on).
        trapped = _reaching(automation, goal, None)
    count = sum(trapped)
    if not any(trapped[n] for n in initial):
        return (
            "; the automation alone satisfies it: every violating run takes an operator "
            f"action ({', '.join(sorted(model.operators))})"
        )
    text = (
        f"; by automation alone it is trapped: from {count} of {graph.count} reachable "
        f"states a fair run of the automation violates {prop.name}"
    )
    way_out = _shortest_way_out(graph, looped, trapped)
    if way_out is None:
        return text + "; not even operators lead out of the trap from the loop"
    labels = [model.actions[a].label for a in way_out]
    return text + (
        f"; an operator can end it: {' then '.join(labels)} from a state of the loop leads to "
        "a state from which every fair run of the automation satisfies it"
    )


def _shortest_way_out(graph: Graph, looped: list[int], trapped: list[bool]) -> list[int] | None:
    """The actions of a shortest path from a state of ``looped`` to one not ``trapped`` (it
    takes an operator action: the automation alone never leaves the trapped states)."""
    came: dict[int, tuple[int, int] | None] = dict.fromkeys(looped)
    work = deque(looped)
    while work:
        n = work.popleft()
        if not trapped[n]:
            path = []
            while came[n] is not None:
                n, act = came[n]  # type: ignore[misc]
                path.append(act)
            return path[::-1]
        for p in graph.edges(n):
            m = graph.targets[p]
            if m not in came:
                came[m] = (n, graph.actions[p])
                work.append(m)
    return None


def _reaching(graph: Graph, goal: list[bool], within: list[bool] | None) -> list[bool]:
    """The states with a path to a ``goal`` state (through ``within`` states only)."""
    back: list[list[int]] = [[] for _ in range(graph.count)]
    for n in range(graph.count):
        for p in graph.edges(n):
            back[graph.targets[p]].append(n)
    reached = list(goal)
    work = [n for n in range(graph.count) if goal[n]]
    while work:
        n = work.pop()
        for m in back[n]:
            if not reached[m] and (within is None or within[m]):
                reached[m] = True
                work.append(m)
    return reached


def _reason(prop: PropertyDef, trace: Any) -> str:
    start = trace.loop_start
    loop = len(trace) - start
    where = (
        f"after {n_steps(start)} the run stutters forever in a state where no action is enabled"
        if loop == 0
        else f"after {n_steps(start)} the run repeats a loop of {n_steps(loop)} forever"
    )
    if prop.kind == "eventually":
        return f"{prop.name} is never true: {where}, and no state of it satisfies {prop.name}"
    if prop.kind == "always_eventually":
        return f"{prop.name} is not true again and again: {where}, and {prop.name} is false on it"
    if prop.kind == "eventually_always":
        return f"{prop.name} does not stay true: {where}, passing a state where it is false"
    return (
        f"the trigger of {prop.name} holds but {prop.name} never follows: {where}, "
        f"and {prop.name} is false from the trigger on"
    )


def never_enabled_fairness(model: Model, graph: Graph) -> list[str]:
    """Warnings for fairness declared on actions that no reachable state enables."""
    used = set(graph.actions)
    return [
        f"{f.label} is declared (@action(fair=...) on {f.family}) but its action is never "
        f"enabled in the {graph.count} reachable states, so it constrains nothing; is its "
        "guard impossible, or the declaration on the wrong action?"
        for f in model.fairness
        if not f.actions & used
    ]
