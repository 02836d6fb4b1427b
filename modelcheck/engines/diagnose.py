"""Explaining a failure inside a search: which action or property raised, and where.

The search loop runs spec code without per-call bookkeeping; when anything
raises, it hands the state it was expanding to :func:`diagnose`, which
re-runs the actions and properties one by one on that state to find the
culprit, and returns a spec error carrying the trace that reached it.
"""

from __future__ import annotations

from typing import Any

from modelcheck.engines.parents import path_to
from modelcheck.errors import SpecError, SpecRuntimeError
from modelcheck.model import ActionInstance, Model, PropertyDef, check_state
from modelcheck.properties import describe_state
from modelcheck.symmetry import SymmetryDef
from modelcheck.trace import Trace
from modelcheck.wording import n_steps


def diagnose(
    model: Model,
    index: dict[Any, Any],
    s: Any,
    exc: Exception,
    symmetry: SymmetryDef | None = None,
) -> SpecError:
    """Turn an exception from inside the loop into a spec error with a trace.

    ``symmetry``: the search was reduced, so ``index`` links orbit representatives.
    """
    if isinstance(exc, SpecError):
        return exc
    where = "the state being expanded"
    try:
        check_state(s, f"a step of {model.name}")
    except SpecError as bad_state:
        # A previous step returned something that is not a state; find which.
        parent = index.get(s) if _hashable(s) else None
        if parent is not None:
            culprit = _producer(model, parent, s)
            if culprit is not None:
                return SpecError(
                    f"{model.name}.{culprit.family} with {culprit.label} returned {s!r} "
                    f"({type(s).__name__}) instead of a state or None. Return the next state, "
                    "None when the action is disabled, or declare "
                    "@action(nondeterministic=True) to return several states."
                )
        return bad_state
    trace = path_to(model, index, s, symmetry) if _hashable(s) and s in index else None
    for act in model.actions:
        try:
            for t in act.successors(s):
                check_state(t, f"{model.name}.{act.family} ({act.label})")
        except SpecError as bad:
            text = str(bad)
            if not text.startswith(model.name):
                text = f"{model.name}.{text}"
            return SpecRuntimeError(text, trace)
        except Exception as inner:
            return SpecRuntimeError(
                f"{model.name}.{act.family} raised {type(inner).__name__}: {inner} "
                f"at {_raised_at(inner)} when run as {act.label} in {where} (reached in "
                f"{n_steps(len(trace) if trace else 0)}; the trace is attached). "
                f"State: {_state_text(s)}",
                trace,
            )
    for con in model.constraints:
        for act, t in model.successors(s):
            try:
                con.check(t)
            except Exception as inner:
                return SpecRuntimeError(
                    f"constraint {model.name}.{con.name} raised {type(inner).__name__}: {inner} "
                    f"at {_raised_at(inner)} on the state {act.label} leads to from {where} "
                    f"(reached in {n_steps(len(trace) if trace else 0)}; the trace is attached). "
                    f"State: {_state_text(t)}",
                    trace,
                )
    for prop in model.properties:
        try:
            if prop.kind in ("invariant", "terminal", "recoverable", "reachable") or prop.liveness:
                prop.holds(s)
                if prop.trigger is not None:
                    prop.triggered(s)
            elif prop.kind == "action":
                for t in model.successors(s):
                    prop.holds(s, t[1])
        except Exception as inner:
            return property_error(model, prop, inner, trace, s)
    return SpecRuntimeError(
        f"{model.name}: the search failed with {type(exc).__name__}: {exc}", trace
    )


def property_error(
    model: Model,
    prop: PropertyDef,
    exc: Exception,
    trace: Trace | None,
    state: Any,
    where: str = "a state",
) -> SpecRuntimeError:
    """A property that raised ``exc`` on ``state`` (reached by ``trace``), as a spec error.

    A :class:`SpecError` is the property's own fault already named (a result
    that is not a bool); anything else is an exception from its code, named
    with the line that raised it.
    """
    steps = n_steps(len(trace) if trace else 0)
    if isinstance(exc, SpecError):
        head = f"{exc}, in {where} reached in {steps}"
    else:
        head = (
            f"property {model.name}.{prop.name} raised {type(exc).__name__}: {exc} at "
            f"{_raised_at(exc)} in {where} reached in {steps}"
        )
    return SpecRuntimeError(f"{head} (the trace is attached). State: {_state_text(state)}", trace)


def _raised_at(exc: BaseException) -> str:
    """``file:line`` where ``exc`` was raised (the innermost frame), for messages."""
    tb = exc.__traceback__
    if tb is None:
        return "an unknown line"
    while tb.tb_next is not None:
        tb = tb.tb_next
    return f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"


def _producer(model: Model, before: Any, after: Any) -> ActionInstance | None:
    for act in model.actions:
        try:
            result = act.call(before)
        except Exception:
            continue
        if act.nondeterministic:
            continue
        if result is after or result == after:
            return act
    return None


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _state_text(s: Any) -> str:
    return describe_state(s) if s is not None else "(none)"
