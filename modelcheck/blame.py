"""Which steps of a counterexample made its property fail.

For the violated property, :func:`blame` finds the fields the property
reads (by re-running it on stand-ins that record reads, see
:func:`modelcheck.properties.fields_read`), the value of each field (each
position of a tuple field) that the property saw, and the step at which the
field took that value.  A step is a **culprit** when putting back the value
the field had just before that step, leaving everything else as it is,
makes the property hold: for dns-race, Enactor 0's stale write of plan 2 to
endpoint 0 and Enactor 1's clean-up that deleted plan 2.

This is a counterfactual on one field at a time, so it names the steps
that each alone would have prevented the failure; a failure that needs two
fields changed together to disappear has no single culprit, and the table
still shows where every value came from.  For recoverability (a question
about every future, not about one state) only the table is given.  For the
witness of a ``@reachable`` property it is the other way round: a culprit
step is one without which the last state would not satisfy the property.
"""

from __future__ import annotations

from typing import Any

import attrs

from modelcheck.errors import ModelcheckError
from modelcheck.model import Model
from modelcheck.properties import evaluate_on_trace, fields_read
from modelcheck.state import format_value, shown_value, state_fields
from modelcheck.trace import Trace
from modelcheck.trace_replay import replay


@attrs.frozen
class Cause:
    """One value the property read, and the step that wrote it."""

    #: ``store`` or ``dns[0]``.
    field: str
    value: str
    #: The step that gave the field this value (0: it had it from the initial state).
    step: int
    action: str
    actor: str | None
    #: The value just before that step (None for the initial state).
    previous: str | None
    #: Whether restoring ``previous`` alone makes the property hold (None: not decidable).
    culprit: bool | None


@attrs.frozen
class Blame:
    """The explanation of one violated property on one trace."""

    property: str
    kind: str
    reason: str
    steps: int
    #: The fields the property reads, in the order it reads them.
    reads: tuple[str, ...]
    causes: tuple[Cause, ...]

    @property
    def culprits(self) -> tuple[Cause, ...]:
        """The causes whose step alone made the property fail, in step order."""
        return tuple(sorted((c for c in self.causes if c.culprit), key=lambda c: c.step))


def _checked(model: Model, trace: Trace) -> tuple[Trace, bool, str]:
    """The trace over the spec's own states, whether its property fails, and why.

    A trace read from a file is replayed, which checks the property once; an
    in-memory trace is checked here.
    """
    if not isinstance(trace.initial, dict):
        return (trace, *evaluate_on_trace(model, str(trace.violates), trace))
    outcome = replay(model, trace)
    if not outcome.legal or outcome.trace is None:
        raise ModelcheckError(
            f"the trace is not a legal run of {model.name}: {outcome.message.rstrip('.')}. "
            "Explain needs "
            "the spec (and parameters) that made the trace."
        )
    return outcome.trace, bool(outcome.property_fails), outcome.property_reason


def _cell(state: Any, field: str, index: int | None) -> Any:
    value = getattr(state, field)
    return value if index is None else value[index]


def _show(state: Any, field: str, index: int | None, value: Any) -> str:
    # Whole fields as people see them (a BitSet's int mask as a set).
    return format_value(value if index is not None else shown_value(type(state), field, value))


def _with_cell(state: Any, field: str, index: int | None, value: Any) -> Any | None:
    if index is not None:
        whole = list(getattr(state, field))
        whole[index] = value
        value = tuple(whole)
    if hasattr(state, "replace") and state_fields(state) is not None:
        try:
            return state.replace(**{field: value})
        except TypeError:
            pass
    if getattr(type(state), "__attrs_attrs__", None) is not None:
        return attrs.evolve(state, **{field: value})
    return None


def blame(model: Model, trace: Trace) -> Blame:
    """Explain why ``trace.violates`` fails at the end of ``trace`` (see the module docs)."""
    if trace.violates is None:
        raise ModelcheckError(
            "the trace records no violated property, so there is nothing "
            "to explain; explain reads counterexamples from check --trace-dir."
        )
    prop = model.property(trace.violates)
    if prop.liveness:
        raise ModelcheckError(
            f"{prop.name} is a {prop.kind} property, and its counterexample is a lasso (an "
            "infinite run): no single step is to blame for what the loop never does. Read the "
            "lasso with modelcheck show, and replay it with modelcheck replay."
        )
    # The file says the property failed when it was saved; the spec decides now.
    # For a witness of a @reachable predicate, "fails" means it is no longer one.
    trace, fails, reason = _checked(model, trace)
    if prop.kind == "reachable" and fails:
        raise ModelcheckError(
            f"nothing to explain: {reason} at the end of this {len(trace)}-step trace, so "
            f"it is no longer a witness for {prop.name} (the spec or its parameters changed "
            "since the trace was saved, or the trace was cut short)."
        )
    if prop.kind != "reachable" and not fails:
        raise ModelcheckError(
            f"nothing to explain: {reason} of this {len(trace)}-step trace, so it is no "
            f"longer a counterexample to {prop.name} (the spec or its parameters changed "
            "since the trace was saved, or the trace was cut short). Check the spec again "
            "for a current counterexample."
        )
    states = trace.states
    if prop.kind == "action":
        if not trace.steps:
            raise ModelcheckError(f"{prop.name} is an action property but the trace has no step")
        inputs = [len(states) - 2, len(states) - 1]
    else:
        inputs = [len(states) - 1]
    reads = fields_read(prop, *(states[i] for i in inputs))
    if reads is None:  # the property needs the real object: assume it reads everything
        names = list(state_fields(states[-1]) or {})
    else:
        names = list(dict.fromkeys(k for r in reads for k in r))

    def holds(replaced: dict[int, Any]) -> bool:
        # "holds" is what undoing a culprit gives: the property for a
        # counterexample, its negation for a witness.
        value = bool(prop.check(*(replaced.get(i, states[i]) for i in inputs)))
        return not value if prop.kind == "reachable" else value

    rows: dict[tuple[str, int | None, int], Cause] = {}
    for name in names:
        for si in inputs:
            value = getattr(states[si], name)
            positions = (
                range(len(value))
                if isinstance(value, tuple) and not hasattr(value, "_fields")
                else [None]
            )
            for index in positions:
                cell = _cell(states[si], name, index)
                origin = si
                while origin > 0 and _cell(states[origin - 1], name, index) == cell:
                    origin -= 1
                key = (name, index, origin)
                if key in rows:
                    continue
                label = name if index is None else f"{name}[{index}]"
                if origin == 0:
                    shown = _show(states[0], name, index, cell)
                    rows[key] = Cause(label, shown, 0, "(initial)", None, None, None)
                    continue
                before = _cell(states[origin - 1], name, index)
                culprit: bool | None = None
                if prop.kind != "recoverable":
                    replaced = {}
                    for sj in inputs:
                        if sj >= origin and _cell(states[sj], name, index) == cell:
                            changed = _with_cell(states[sj], name, index, before)
                            if changed is None:
                                break
                            replaced[sj] = changed
                    else:
                        try:
                            culprit = holds(replaced)
                        except Exception:
                            culprit = None
                step = trace.steps[origin - 1]
                rows[key] = Cause(
                    label,
                    _show(states[si], name, index, cell),
                    origin,
                    step.label,
                    step.actor,
                    _show(states[si], name, index, before),
                    culprit,
                )
    return Blame(prop.name, prop.kind, reason, len(trace), tuple(names), tuple(rows.values()))
