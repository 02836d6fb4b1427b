"""Evaluating properties outside the search: on traces, and explaining failures.

The search engines evaluate properties in their hot loops; this module is
for everything around that: saying *why* a property fails (which fields it
read, with their values) and checking a property against a replayed trace.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from modelcheck.state import format_value, shown_value, state_fields

if TYPE_CHECKING:
    from modelcheck.model import Model, PropertyDef
    from modelcheck.trace import Trace


class _Recorder:
    """Stands in for a state and records which fields a property reads."""

    __slots__ = ("_reads", "_state")

    def __init__(self, state: Any, reads: dict[str, Any]) -> None:
        object.__setattr__(self, "_state", state)
        object.__setattr__(self, "_reads", reads)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._state, name)
        if not name.startswith("_") and not callable(value):
            self._reads.setdefault(name, shown_value(type(self._state), name, value))
        return value


def fields_read(prop: PropertyDef, *states: Any) -> list[dict[str, Any]] | None:
    """For each state, the fields ``prop`` reads (in order), or ``None`` if unknowable.

    The property is re-run on stand-ins that record attribute reads; a
    property that needs the real object (``isinstance``, unpacking) makes
    this return ``None`` and the caller falls back to showing whole states.
    """
    reads: list[dict[str, Any]] = [{} for _ in states]
    proxies = [_Recorder(s, r) for s, r in zip(states, reads, strict=True)]
    try:
        prop.check(*proxies)
    except Exception:
        return None
    return reads


def explain(prop: PropertyDef, *states: Any) -> str:
    """A one-line reason naming the fields behind a failure of ``prop``."""
    reads = fields_read(prop, *states)
    if reads is None:
        return f"{prop.name} is false"
    if len(states) == 1:
        shown = ", ".join(f"{k}={format_value(v)}" for k, v in reads[0].items())
        return f"{prop.name} is false where {shown}" if shown else f"{prop.name} is false"
    before, after = reads
    changed = [k for k in after if k in before and before[k] != after[k]]
    keys = changed or list(dict.fromkeys([*before, *after]))
    shown = ", ".join(
        f"{k}: {format_value(before.get(k))} → {format_value(after.get(k))}" for k in keys
    )
    return f"{prop.name} is false on this step: {shown}"


def satisfied(prop: PropertyDef, state: Any) -> str:
    """A one-line reason naming the fields that make a ``@reachable`` predicate true."""
    reads = fields_read(prop, state)
    shown = (
        "" if reads is None else ", ".join(f"{k}={format_value(v)}" for k, v in reads[0].items())
    )
    return f"{prop.name} is true where {shown}" if shown else f"{prop.name} is true"


def evaluate_on_trace(model: Model, name: str, trace: Trace) -> tuple[bool, str]:
    """Whether property ``name`` fails at the end of ``trace`` (real states), and why."""
    prop = model.property(name)
    final = trace.final
    if prop.kind == "reachable":
        # A witness "fails" when its last state no longer satisfies the predicate.
        if prop.holds(final):
            return False, satisfied(prop, final)
        return True, explain(prop, final)
    if prop.kind == "invariant":
        if prop.holds(final):
            return False, f"{name} holds in the last state"
        return True, explain(prop, final)
    if prop.kind == "action":
        if not trace.steps:
            return False, "the trace has no step"
        before = trace.states[-2]
        if prop.holds(before, final):
            return False, f"{name} holds on the last step"
        return True, explain(prop, before, final)
    if prop.kind == "terminal":
        if model.successors(final):
            return False, "the last state has enabled actions, so it is not a deadlock"
        if prop.holds(final):
            return False, f"the last state is terminal and {name} accepts it"
        return True, f"no action is enabled and {explain(prop, final)}"
    # recoverable: search forward from the last state.
    found, explored = _reaches(model, prop, final)
    if found:
        return False, f"a state satisfying {name} is reachable from the last state"
    return True, (
        f"none of the {explored} states reachable from the last state "
        f"(using {_using_text(prop)}) satisfies {name}"
    )


def _using_text(prop: PropertyDef) -> str:
    return "all actions" if prop.using is None else "only " + ", ".join(sorted(prop.using))


def _reaches(
    model: Model, prop: PropertyDef, start: Any, limit: int = 2_000_000
) -> tuple[bool, int]:
    actions = [a for a in model.actions if prop.using is None or a.family in prop.using]
    seen = {start}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        if prop.holds(state):
            return True, len(seen)
        for act in actions:
            for nxt in act.successors(state):
                if nxt not in seen and len(seen) < limit:
                    seen.add(nxt)
                    queue.append(nxt)
    return False, len(seen)


def describe_state(state: Any) -> str:
    """``field=value`` pairs of a state, for messages."""
    fields = state_fields(state) if not isinstance(state, dict) else state
    if fields is None:
        return repr(state)
    return " ".join(f"{k}={format_value(v)}" for k, v in fields.items())
