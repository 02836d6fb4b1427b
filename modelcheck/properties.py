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
    if prop.liveness:
        return evaluate_lasso(model, prop, trace)
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


# --- lassos: liveness on infinite runs ------------------------------------------------


def _loop(trace: Trace) -> tuple[list[Any], list[int]]:
    """The states a lasso visits forever, and the positions (in ``trace.states``) of them.

    The loop is the steps after ``loop_start``; their last state is the
    state at ``loop_start`` again.  A lasso whose loop has no step stutters
    forever in its last state.
    """
    start = trace.loop_start
    assert start is not None
    states = trace.states
    positions = list(range(start, len(states) - 1)) if start < len(trace.steps) else [start]
    return [states[i] for i in positions], positions


def _state_name(position: int) -> str:
    return "the initial state" if position == 0 else f"the state after step {position}"


def lasso_fairness(model: Model, trace: Trace) -> tuple[list[str], list[str]]:
    """``(violated, satisfied)``: how the loop of a lasso meets each fairness condition.

    Weak fairness of an action holds on the loop when it is taken on it or
    disabled in one of its states; strong fairness when it is taken or
    disabled in all of them.  Each entry is a sentence naming the condition
    (``WF(apply(e=0)): taken at step 7``).
    """
    states, positions = _loop(trace)
    start = trace.loop_start
    assert start is not None
    taken: dict[int, int] = {}  # action index -> first step of the loop taking it
    for number, step in enumerate(trace.steps[start:], start=start + 1):
        act = model.find_action(step.action, dict(step.args))
        if act is not None:
            taken.setdefault(act.index, number)
    violated: list[str] = []
    satisfied: list[str] = []
    stutters = start == len(trace.steps)
    for cond in model.fairness:
        steps_taking = [taken[k] for k in cond.actions if k in taken]
        if steps_taking:
            satisfied.append(f"{cond.label}: taken at step {min(steps_taking)}")
            continue
        enabled = [p for s, p in zip(states, positions, strict=True) if cond.enabled(model, s)]
        if cond.kind == "weak":
            if len(enabled) < len(positions):
                off = next(p for p in positions if p not in enabled)
                how = (
                    "disabled (the run stutters in a state where no action is enabled)"
                    if stutters
                    else f"disabled in {_state_name(off)}"
                )
                satisfied.append(f"{cond.label}: {how}")
            else:
                violated.append(f"{cond.label}: enabled in every state of the loop, never taken")
        elif enabled:
            violated.append(
                f"{cond.label}: enabled in {_state_name(enabled[0])} on the loop, never taken"
            )
        else:
            satisfied.append(f"{cond.label}: never enabled on the loop")
    return violated, satisfied


def evaluate_lasso(model: Model, prop: PropertyDef, trace: Trace) -> tuple[bool, str]:
    """Whether the infinite run ``trace`` stands for (a lasso) violates liveness ``prop``.

    The run must be a lasso (``trace.loop_start``) whose loop is fair for
    every condition the spec declares; a trace without a loop cannot
    violate a property of infinite runs.
    """
    if trace.loop_start is None:
        return False, (
            f"{prop.name} is a {prop.kind} property, about infinite runs; the trace has no loop "
            "(loop_start), so it cannot violate it"
        )
    unfair, fair = lasso_fairness(model, trace)
    if unfair:
        return False, "the loop is not fair: " + "; ".join(unfair)
    states = trace.states
    _, forever = _loop(trace)
    value = [prop.holds(s) for s in states]
    fairness = f"; the loop is fair: {'; '.join(fair)}" if fair else ""
    if prop.kind == "eventually":
        hits = [i for i, v in enumerate(value) if v]
        if hits:
            return False, f"{prop.name} is true in {_state_name(hits[0])}"
        return (
            True,
            f"no state of the run satisfies {prop.name} (its loop repeats forever){fairness}",
        )
    if prop.kind == "always_eventually":
        hits = [i for i in forever if value[i]]
        if hits:
            return False, f"{prop.name} is true on the loop, in {_state_name(hits[0])}"
        return True, f"{prop.name} is false in every state of the loop{fairness}"
    if prop.kind == "eventually_always":
        misses = [i for i in forever if not value[i]]
        if not misses:
            return False, f"{prop.name} is true in every state of the loop"
        return True, f"{prop.name} is false on the loop, in {_state_name(misses[0])}{fairness}"
    # leads_to: a trigger after which Q is false in every state the run visits.
    for i, state in enumerate(states):
        if not prop.triggered(state):
            continue
        later = set(range(i, len(states))) | set(forever)
        if not any(value[j] for j in later):
            return True, (
                f"the trigger of {prop.name} holds in {_state_name(i)} and {prop.name} is false "
                f"from there on, forever{fairness}"
            )
    if not any(prop.triggered(s) for s in states):
        return False, f"the trigger of {prop.name} holds in no state of the run"
    return False, f"{prop.name} follows every state of the run where its trigger holds"


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
