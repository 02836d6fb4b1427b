"""What bmc and prove share in answering: traces, verdicts, and z3's own answers.

A counterexample is decoded into real states and re-executed by the spec's
concrete code, so every trace the engine returns replays in the explicit
engine, and a disagreement between the two semantics is reported (as an
:class:`~modelcheck.errors.InternalError`) instead of being hidden; so is a
"holds" that a bounded breadth-first search refutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import z3

from modelcheck.engines.bfs import CheckOptions, peak_memory_bytes
from modelcheck.engines.bfs import check as breadth_first
from modelcheck.engines.z3.encoding import Encoding
from modelcheck.errors import InternalError, SpecError, SpecRuntimeError
from modelcheck.model import Model, PropertyDef
from modelcheck.properties import explain
from modelcheck.result import CheckResult, Statistics, Status, Verdict
from modelcheck.trace import Step, Trace
from modelcheck.wording import n_steps

#: How many states the breadth-first search that cross-checks a "holds" or
#: "proved" may explore (a deterministic budget: the same on every machine).
CROSS_CHECK_STATES = 20_000

#: Called with a line of progress text.
Progress = Callable[[str], None]


def _trace(
    enc: Encoding,
    solution: Any,
    states: list[dict[str, list[Any]]],
    acts: list[Any],
    prop: PropertyDef | None,
    reason: str,
    replay_initial: bool,
) -> Trace:
    """Decode a path and re-run it with the spec's concrete code."""
    model = enc.model
    current = enc.decode(solution, states[0])
    if replay_initial and current not in model.initial_states:
        raise SpecError(
            f"{model.name}: the symbolic initial state {current!r} is not an initial state of "
            "the explicit model; the two semantics disagree (please report this)"
        )
    initial = current
    steps = []
    for j, act_var in enumerate(acts):
        if not model.within(current):
            raise SpecError(
                f"{model.name}: z3 extends {current!r} after {j} steps, but the spec's own "
                "code says it fails a constraint, and no state outside a constraint is "
                "extended. The concrete and symbolic runs of the constraint disagree: a "
                "construct in it behaves differently on z3 terms."
            )
        index = solution.eval(act_var, model_completion=True).as_long()
        act = model.actions[index]
        wanted = enc.decode(solution, states[j + 1])
        successors = act.successors(current)
        if wanted in successors:
            # A state-dependent choice or Choice outcome: the step's own arguments.
            act = model.step_action(act, current, wanted)
        else:
            raise SpecError(
                f"{model.name}: z3 says step {j + 1}, {act.label}, leads from {current!r} to "
                f"{wanted!r}, but the spec's code gives {successors!r}. The concrete and "
                "symbolic runs of the action disagree: a construct in it behaves differently "
                "on z3 terms (e.g. an overflow past the declared ranges)."
            )
        steps.append(Step(act.family, act.args, wanted, act.actor))
        current = wanted
    trace = Trace(
        initial,
        tuple(steps),
        spec=model.name,
        parameters=dict(model.parameters),
        violates=None if prop is None else prop.name,
        kind=None if prop is None else prop.kind,
        reason=reason,
    )
    if prop is not None:
        _confirm(
            model,
            prop,
            trace,
            "a counterexample" if replay_initial else "a counterexample to induction",
        )
    return trace


def _confirm(model: Model, prop: PropertyDef, trace: Trace, what: str) -> None:
    """Re-run ``prop`` with the spec's own code where z3 says it fails; disagreeing is a bug."""
    states = trace.states
    final = states[-1]
    try:
        if prop.kind == "action":
            result = prop.check(states[-2], final) if len(states) > 1 else False
        elif prop.kind == "terminal":
            result = bool(model.successors(final)) or not model.within(final) or prop.check(final)
        else:
            result = prop.check(final)
    except Exception as exc:
        raise SpecRuntimeError(
            f"{prop.source or prop.name} raised {type(exc).__name__}: {exc} on the last state "
            f"of {what} the symbolic engine found",
            trace,
        ) from exc
    if result is False:
        return
    from modelcheck.render.text import render_trace

    raise InternalError(
        f"internal error: the symbolic engine gives {what} to {model.name}.{prop.name} "
        f"(verdict: violated after {n_steps(len(trace))}), but the spec's own code, run on the "
        f"same states, returns {result!r} (verdict: holds). The symbolic and concrete "
        "semantics of a construct disagree; this is a bug in modelcheck, not in the spec: "
        "please report it with the spec. No verdict is reported.\n" + render_trace(trace)
    )


def _cross_check(model: Model, result: CheckResult, budget: int) -> CheckResult:
    """Refuse to report "holds" where a bounded breadth-first search finds a violation."""
    names = tuple(v.property for v in result.verdicts if v.status is Status.HOLDS)
    if not names or budget <= 0:
        return result
    explicit = breadth_first(model, CheckOptions(properties=names, max_states=budget))
    for verdict in explicit.violated:
        from modelcheck.render.text import render_trace

        trace = verdict.counterexample
        within = "" if trace is None else f" in {n_steps(len(trace))}"
        raise InternalError(
            f"internal error: {result.engine} says {model.name}.{verdict.property} holds "
            f"(verdict: {'proved' if result.engine == 'prove' else 'holds'}), but a "
            f"breadth-first search finds a violation{within} (verdict: violated). This is a "
            "bug in modelcheck's symbolic engine, not in the spec: please report it with "
            "the spec. No verdict is reported."
            + ("" if trace is None else "\n" + render_trace(trace))
        )
    return result


def _reason(model: Model, prop: PropertyDef, trace: Trace) -> str:
    states = trace.states
    if prop.kind == "action":
        return explain(prop, states[-2], states[-1])
    if prop.kind == "terminal":
        return f"no action is enabled and {explain(prop, states[-1])}"
    return explain(prop, states[-1])


def _selected(model: Model, names: tuple[str, ...] | None) -> list[PropertyDef]:
    if names is None:
        return [p for p in model.properties if p.kind in ("invariant", "action", "terminal")]
    lemmas = {p.name: p for p in model.lemmas}
    props = [lemmas[n] if n in lemmas else model.property(n) for n in names]
    for p in props:
        if p.kind in ("recoverable", "reachable") or p.liveness:
            raise SpecError(
                f"{model.name}.{p.name} is a {p.kind} property, which the symbolic engine "
                "does not check; use modelcheck check (explicit search) for it."
            )
    return props


def _result(
    model: Model,
    engine: str,
    verdicts: list[Verdict],
    depth: int,
    started: float,
    complete: bool,
    stopped_by: str | None,
) -> CheckResult:
    stats = Statistics(0, 0, depth, time.perf_counter() - started, peak_memory_bytes())
    return CheckResult(
        spec=model.name,
        parameters=dict(model.parameters),
        verdicts=tuple(verdicts),
        statistics=stats,
        complete=complete,
        stopped_by=stopped_by,
        engine=engine,
    )


class _Undecided(Exception):
    """z3 answered "unknown": interrupted (Ctrl-C), out of resources, or incomplete."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _sat(solver: Any, *assumptions: Any) -> bool:
    """Whether the assertions (and ``assumptions``) are satisfiable.

    z3 may also answer "unknown" (it turns Ctrl-C into exactly that, reason
    "canceled").  Comparing with ``== z3.sat`` would read "unknown" as
    "unsatisfiable" - a property proved, a violation missed - so every
    decision goes through here and an undecided query stops the engine.
    """
    answer = solver.check(*assumptions)
    if answer == z3.sat:
        return True
    if answer == z3.unsat:
        return False
    raise _Undecided(solver.reason_unknown())


def _undecided(
    model: Model,
    engine: str,
    props: list[PropertyDef],
    decided: dict[str, Verdict],
    started: float,
    undecided: _Undecided,
    depth: int,
) -> CheckResult:
    """The result of a run cut short by an undecided query: what was found, the rest unknown."""
    # z3 reports both Ctrl-C and its own timeout as "canceled".
    interrupted = undecided.reason == "canceled"
    why = (
        "stopped before z3 decided (interrupted, or a z3 timeout)"
        if interrupted
        else f"z3 could not decide a query ({undecided.reason})"
    )
    verdicts = [
        decided.get(p.name) or Verdict(p.name, p.kind, Status.UNKNOWN, reason=why) for p in props
    ]
    stopped_by = "interrupted" if interrupted else "solver_unknown"
    return _result(model, engine, verdicts, depth, started, False, stopped_by)
