"""Actors and components: who performs each step, and what it writes to.

Diagrams of a trace need two things the state alone does not say:

- the **actor** of each step (the Planner, Enactor 0, ...), from
  ``@action(actor=...)``; a step whose action declares none is done by
  ``"System"``;
- the **component** each state field belongs to (the plan store, DNS
  endpoint 0, the active-plan record), from the spec's ``components``
  class attribute, e.g.::

      components = {"store": "Plan store", "dns": "DNS {}", "applied": "Active plan",
                    "latest": "Planner", "pc": "Enactor {}"}

  ``{}`` splits a tuple field per position (``dns[1]`` belongs to "DNS 1").
  A component named like an actor is that actor's own state: writing it is a
  note to itself, not a message to a shared component.

Defaults for undeclared fields, guessed from the trace being drawn: a tuple
field whose every change at position ``i`` is made by a step with an
integer argument equal to ``i`` (``pc[e]`` changed by ``pickup(e=...)``) is
per-process state and position ``i`` belongs to that step's actor; any
other field is a component of its own, named after the field.  The guess
can be wrong on a short trace (if only Enactor 0 ever wrote ``dns[0]``,
``dns`` looks per-process), so specs that are read as diagrams should
declare their components.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from modelcheck.model import Model, component_name, splits_per_position
from modelcheck.state import state_fields

if TYPE_CHECKING:
    from modelcheck.result import CheckResult
    from modelcheck.trace import Step, Trace

#: The actor of a step whose action declares none.
DEFAULT_ACTOR = "System"


def _fields(state: Any) -> dict[str, Any]:
    if isinstance(state, Mapping):
        return dict(state)
    fields = state_fields(state)
    return fields if fields is not None else {"state": state}


def element_changes(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[tuple[str, int | None, Any, Any]]:
    """``(field, position or None, old, new)`` for each change; tuples compare per position."""
    out: list[tuple[str, int | None, Any, Any]] = []
    for name in dict.fromkeys([*before, *after]):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if isinstance(old, tuple) and isinstance(new, tuple) and len(old) == len(new):
            out.extend(
                (name, i, o, n) for i, (o, n) in enumerate(zip(old, new, strict=True)) if o != n
            )
        else:
            out.append((name, None, old, new))
    return out


def actor_of(step: Step) -> str:
    """Who performed ``step`` (:data:`DEFAULT_ACTOR` when the action declares nobody)."""
    return step.actor or DEFAULT_ACTOR


class Ownership:
    """Which component each field (or position of a tuple field) of a trace belongs to."""

    def __init__(self, trace: Trace) -> None:
        self.declared = dict(trace.components)
        self.actors = list(dict.fromkeys(actor_of(s) for s in trace.steps))
        # Undeclared tuple fields: position -> actor, or None once disproved.
        guess: dict[str, dict[int, str] | None] = {}
        before = _fields(trace.initial)
        for step in trace.steps:
            after = _fields(step.state)
            ints = {v for _, v in step.args if isinstance(v, int) and not isinstance(v, bool)}
            for name, index, _, _ in element_changes(before, after):
                if name in self.declared or guess.get(name, {}) is None:
                    continue
                if index is None or index not in ints:
                    guess[name] = None
                    continue
                owners = guess.setdefault(name, {})
                assert owners is not None
                if owners.setdefault(index, actor_of(step)) != actor_of(step):
                    guess[name] = None
            before = after
        self.per_actor = {k: v for k, v in guess.items() if v is not None}

    def component(self, field: str, index: int | None) -> str:
        """The component that ``field`` (at ``index`` for a tuple position) belongs to."""
        name = self.declared.get(field)
        if name is not None:
            return (
                component_name(name, index)
                if index is not None and splits_per_position(name)
                else name
            )
        owners = self.per_actor.get(field)
        if owners is not None and index is not None and index in owners:
            return owners[index]
        return field

    def is_actor(self, component: str) -> bool:
        """Whether ``component`` is an actor's own state rather than a shared component."""
        return component in self.actors


def annotate_trace(trace: Trace, model: Model) -> Trace:
    """``trace`` with each step's actor and the model's components filled in."""
    steps = []
    for step in trace.steps:
        if step.actor is None:
            act = model.find_action(step.action, dict(step.args))
            if act is not None and act.actor is not None:
                step = attrs.evolve(step, actor=act.actor)
        steps.append(step)
    components = trace.components or dict(model.components)
    return attrs.evolve(trace, steps=tuple(steps), components=components)


def annotate_result(result: CheckResult, model: Model) -> CheckResult:
    """``result`` with every counterexample passed through :func:`annotate_trace`."""
    verdicts = tuple(
        v
        if v.counterexample is None
        else attrs.evolve(v, counterexample=annotate_trace(v.counterexample, model))
        for v in result.verdicts
    )
    return attrs.evolve(result, verdicts=verdicts)
