"""Replay: re-executing a saved or found trace against a spec, step by step.

Apart from :mod:`modelcheck.trace` because it runs a
:class:`~modelcheck.model.Model` and its properties, which themselves build
traces: the trace values stay below the model, replay sits above both.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from modelcheck.model import Model
from modelcheck.properties import evaluate_on_trace
from modelcheck.trace import Step, Trace, encode_state


@attrs.frozen
class ReplayResult:
    """What replaying a trace against a spec found."""

    legal: bool
    #: Number of steps that replayed as legal transitions.
    steps_replayed: int
    message: str
    #: The trace re-built from the spec's own states (up to the last legal step).
    trace: Trace | None = None
    #: For a legal trace with a property: whether the property fails where the trace says.
    property_fails: bool | None = None
    #: Why it fails or holds there (what ``evaluate_on_trace`` said).
    property_reason: str = ""


def replay(model: Model, trace: Trace) -> ReplayResult:
    """Re-execute ``trace`` against ``model`` and say where it stops being a legal run."""
    wanted = encode_state(trace.initial)
    current = next((s for s in model.initial_states if encode_state(s) == wanted), None)
    if current is None:
        return ReplayResult(
            False,
            0,
            "the trace's initial state is not an initial state of "
            f"{model.name}{_params_text(model)}: {_diff_text(model.initial_states[0], wanted)}. "
            + _initial_cause(model, trace, wanted),
        )
    rebuilt: list[Step] = []
    for n, step in enumerate(trace.steps, start=1):
        con = model.failed_constraint(current)
        if con is not None:
            return ReplayResult(
                False,
                n - 1,
                f"step {n}: the state before it fails the constraint {model.name}.{con.name}, "
                "and no run goes on from a state outside the constraint; the trace was made "
                "without that constraint (or with other parameters).",
            )
        act = model.find_action(step.action, dict(step.args))
        if act is None:
            families = ", ".join(model.families)
            members = [a.label for a in model.actions if a.family == step.action]
            if members:
                # The family exists: its arguments are outside the domain the
                # spec's parameters give (e.g. an Enactor id past `enactors`).
                return ReplayResult(
                    False,
                    n - 1,
                    f"step {n}: {step.label} is not one of {model.name}'s "
                    f"{step.action} actions ({', '.join(members[:6])}"
                    f"{', ...' if len(members) > 6 else ''}); were the same parameters used?",
                )
            return ReplayResult(
                False,
                n - 1,
                f"step {n}: {step.label} is not an action of {model.name} "
                f"(its families: {families}); the trace was made by another spec or version.",
            )
        successors = act.successors(current)
        if not successors:
            return ReplayResult(
                False,
                n - 1,
                f"step {n}: {step.label} is not enabled in the state before it."
                + _offered(model, act, current)
                + _changed_parameters(model, trace),
            )
        wanted = encode_state(step.state)
        nxt = next((s for s in successors if encode_state(s) == wanted), None)
        if nxt is None:
            cause = _changed_parameters(model, trace) or (
                " Likely cause: the spec changed since the trace was saved, or it is not "
                "deterministic (e.g. it iterates a set of strings, whose order changes with "
                "PYTHONHASHSEED, or reads a clock or random numbers)."
            )
            return ReplayResult(
                False,
                n - 1,
                f"step {n}: {step.label} is enabled but leads to a different state: "
                f"{_diff_text(successors[0], wanted)}.{cause}",
            )
        rebuilt.append(Step(step.action, act.args, nxt, act.actor))
        current = nxt
    rebuilt_trace = attrs.evolve(trace, initial=_initial_of(model, trace), steps=tuple(rebuilt))
    if trace.loop_start is not None:
        broken = _loop_broken(model, rebuilt_trace)
        if broken:
            return ReplayResult(False, len(rebuilt), broken, rebuilt_trace)
    if trace.violates is None:
        return ReplayResult(True, len(rebuilt), "the trace is a legal run", rebuilt_trace)
    fails, detail = evaluate_on_trace(model, trace.violates, rebuilt_trace)
    where = f"at step {len(rebuilt)}" if rebuilt else "in the initial state"
    if trace.loop_start is not None:
        where = f"on the infinite run it stands for (its loop from state {trace.loop_start} closes)"
    if model.property(trace.violates).kind == "reachable":
        # A witness: "fails" means it no longer reaches a state satisfying the property.
        if fails:
            message = (
                f"the trace is a legal run but its last state does not satisfy "
                f"{trace.violates} ({detail}), so it is no longer a witness"
            )
        else:
            message = f"the trace is a legal run and a witness: {detail} {where}"
        return ReplayResult(True, len(rebuilt), message, rebuilt_trace, fails, detail)
    if fails:
        message = f"the trace is a legal run and {trace.violates} fails {where}: {detail}"
    else:
        message = (
            f"the trace is a legal run but {trace.violates} does not fail {where} "
            f"({detail}); the spec may have been fixed since the trace was saved"
        )
    return ReplayResult(True, len(rebuilt), message, rebuilt_trace, fails, detail)


def _offered(model: Model, act: Any, state: Any) -> str:
    # A step whose values are chosen per state: say which values the state offered.
    base = model.actions[act.index]
    if base.labelled is None or act is base:
        return ""
    family = base.family
    offered = sorted({", ".join(f"{k}={v!r}" for k, v in args) for args, _ in base.moves(state)})
    if not offered:
        return f" In that state no {base.label} step is possible."
    shown = "; ".join(f"{family}({o})" for o in offered[:6])
    return f" In that state {base.label} can take: {shown}{'; ...' if len(offered) > 6 else ''}."


def _initial_of(model: Model, trace: Trace) -> Any:
    wanted = encode_state(trace.initial)
    return next(s for s in model.initial_states if encode_state(s) == wanted)


def _changed_parameters(model: Model, trace: Trace) -> str:
    """A sentence naming the parameters that differ from the trace's, or ``""``."""
    changed = [
        f"{k}={v!r} (the trace has {trace.parameters[k]!r})"
        for k, v in model.parameters.items()
        if k in trace.parameters and trace.parameters[k] != v
    ]
    if not changed:
        return ""
    return (
        f" Likely cause: the spec runs with {', '.join(changed)}; "
        "the trace was made with other parameters."
    )


def _params_text(model: Model) -> str:
    inner = ", ".join(f"{k}={v!r}" for k, v in model.parameters.items())
    return f"({inner})"


def _initial_cause(model: Model, trace: Trace, wanted: dict[str, Any]) -> str:
    """Why an initial state does not match: another spec, other fields, or other parameters."""
    if trace.spec and trace.spec != model.name:
        return (
            f"The trace was made by {trace.spec}, not {model.name}: replay it against the "
            f"spec that made it (PATH:{trace.spec})."
        )
    ours = set(encode_state(model.initial_states[0]))
    if set(wanted) != ours:
        missing = ", ".join(sorted(ours - set(wanted))) or "none"
        extra = ", ".join(sorted(set(wanted) - ours)) or "none"
        return (
            f"Its state has other fields (missing: {missing}; not in {model.name}: {extra}), "
            "so it was made by another spec or another version of this one."
        )
    return "Were the same parameters used?" + _changed_parameters(model, trace)


def _loop_broken(model: Model, trace: Trace) -> str:
    """Why a lasso's loop does not close (``""`` when it does)."""
    start = trace.loop_start
    assert start is not None
    if start == len(trace.steps):
        enabled = [act.label for act, _ in model.successors(trace.final)]
        if enabled:
            return (
                f"the trace ends stuttering forever in its last state (loop_start={start}), "
                f"but {enabled[0]} is enabled there, so a run does not stop in it; the trace "
                "was made by another version of the spec or edited"
            )
        return ""
    if encode_state(trace.final) != encode_state(trace.states[start]):
        return (
            f"the loop does not close: the last state should be the state at loop_start={start} "
            f"again, but {_diff_text(trace.final, encode_state(trace.states[start]))}"
        )
    return ""


def _diff_text(actual: Any, wanted: dict[str, Any]) -> str:
    got = encode_state(actual)
    diffs = [
        f"{k}: trace has {json.dumps(wanted.get(k))}, spec gives {json.dumps(got.get(k))}"
        for k in dict.fromkeys([*got, *wanted])
        if got.get(k) != wanted.get(k)
    ]
    return "; ".join(diffs[:4]) or "no field differs"
