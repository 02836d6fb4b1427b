"""k-induction: proving properties for every reachable state."""

from __future__ import annotations

import time
from typing import Any

import attrs
import z3

from modelcheck.engines.z3.bounded import bmc
from modelcheck.engines.z3.encoding import (
    Encoding,
    _at,
    _fits,
    _holds_at,
    _inexact,
    _unroll,
    _which,
    _wraps_at,
    encode,
)
from modelcheck.engines.z3.results import (
    CROSS_CHECK_STATES,
    Progress,
    _cross_check,
    _reason,
    _result,
    _sat,
    _selected,
    _trace,
    _Undecided,
    _undecided,
)
from modelcheck.model import Model, PropertyDef
from modelcheck.result import CheckResult, Status, Verdict
from modelcheck.trace import Trace


def prove(
    model: Model,
    k: int = 1,
    properties: tuple[str, ...] | None = None,
    progress: Progress | None = None,
    cross_check: int = CROSS_CHECK_STATES,
) -> CheckResult:
    """Prove invariant, action and terminal properties for every reachable state.

    Base case: :func:`bmc` to depth ``k`` (a violation there is a real,
    shortest counterexample).  Step: every property still standing, lemmas
    included, is assumed on ``k`` consecutive states of any path (reachable
    or not, loop-free) and checked on the next; a property whose step fails
    is dropped from the assumptions and the others are re-checked, until
    what remains is inductive together.  A property left unproved carries a
    counterexample to induction: a trace from a state satisfying every
    assumed invariant to one that breaks it.

    Two implicit invariants take part in every step: the declared field
    types, and "every operation the actions run computes Python's value"
    (no ``W``-bit wrap-around).  Like the properties they are assumed on the
    first ``k`` states and proved on the next, never assumed there; while
    either is unproved, nothing is (the encoding might not describe the
    spec), and every property is unknown with the reason.  Evaluating a
    property must not wrap either: that is part of the property's own step.

    As with :func:`bmc`, counterexamples are re-run concretely and a proof
    is only reported after a breadth-first search of up to ``cross_check``
    states finds no violation of it.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    started = time.perf_counter() - model.compile_seconds  # initial states included
    props = _selected(model, properties)
    lemmas = [p for p in model.lemmas if p not in props]
    base = bmc(model, k, tuple(p.name for p in [*props, *lemmas]), progress, cross_check=0)
    violated = {v.property: v for v in base.violated}
    if base.stopped_by in ("interrupted", "solver_unknown"):
        # Without the base case nothing can be proved.
        return attrs.evolve(
            base, engine="prove", verdicts=tuple(base.verdict(p.name) for p in props)
        )
    if base.complete and not violated:
        verdicts = [
            attrs.evolve(base.verdict(p.name), reason="every reachable state checked")
            for p in props
        ]
        return _cross_check(
            model, _result(model, "prove", verdicts, k, started, True, None), cross_check
        )
    try:
        result = _induction(model, k, props, lemmas, violated, progress, started)
        return _cross_check(model, result, cross_check)
    except _Undecided as undecided:
        return _undecided(model, "prove", props, violated, started, undecided, k)


def _induction(
    model: Model,
    k: int,
    props: list[PropertyDef],
    lemmas: list[PropertyDef],
    violated: dict[str, Verdict],
    progress: Progress | None,
    started: float,
) -> CheckResult:
    standing = [p for p in [*props, *lemmas] if p.name not in violated]
    enc = encode(model, tuple(p.name for p in standing))
    solver = z3.Solver()
    states = [enc.at_step(0)]
    acts: list[Any] = []
    for _ in range(k):
        _unroll(enc, solver, states, acts)
    implicit = z3.And(enc.wf, *(z3.Not(w.when) for w in enc.wraps))
    for j in range(k):
        solver.add(enc.substitute(implicit, states[j]))
    if k > 1:  # loop-free paths only: makes the step stronger at no cost to soundness
        solver.add(z3.Distinct([_state_key(enc, s) for s in states]))
    failed: dict[str, Trace] = {}
    changed = True
    while changed:
        changed = False
        solver.push()
        for prop in standing:
            for d in range(k):
                if prop.kind != "action" or d > 0:
                    solver.add(_obligation_at(enc, prop, states, d))
        last = enc.substitute(implicit, states[k])
        if _sat(solver, z3.Not(last)):  # the encoding may stop describing the spec
            solution = solver.model()
            trace = _trace(enc, solution, states, acts, None, "", False)
            reason = _inexact_reason(enc, solution, trace, states, standing)
            for prop in standing:
                failed[prop.name] = attrs.evolve(
                    trace, violates=prop.name, kind=prop.kind, reason=reason
                )
            standing = []
        solver.add(last)  # proved from what is assumed (or nothing is left to prove)
        for prop in list(standing):
            if _sat(solver, z3.Not(_obligation_at(enc, prop, states, k))):
                solution = solver.model()
                trace = _trace(enc, solution, states, acts, prop, "", False)
                wrap = _which(solution, _wraps_at(enc, [prop], states, k, actions=False))
                if wrap is None:
                    reason = _cti_reason(model, prop, trace, standing, k)
                else:
                    reason = (
                        f"{_cti_start(prop, standing, k)}evaluating it is not exact "
                        f"{_inexact(enc, wrap)}. {_WRAP_FIX}"
                    )
                failed[prop.name] = attrs.evolve(trace, reason=reason)
                standing.remove(prop)
                changed = True
        solver.pop()
        if progress is not None:
            progress(
                f"prove: induction pass, {len(standing)} standing, "
                f"{time.perf_counter() - started:.1f} s"
            )
    proved = {p.name for p in standing}
    verdicts = []
    for p in props:
        if p.name in violated:
            verdicts.append(violated[p.name])
        elif p.name in proved:
            verdicts.append(
                Verdict(p.name, p.kind, Status.HOLDS, reason=f"proved by {k}-induction")
            )
        else:
            trace = failed[p.name]
            verdicts.append(Verdict(p.name, p.kind, Status.UNKNOWN, trace, trace.reason))
    complete = all(v.status is not Status.UNKNOWN for v in verdicts)
    return _result(
        model, "prove", verdicts, k, started, complete, None if complete else "induction"
    )


def _state_key(enc: Encoding, variables: dict[str, list[Any]]) -> Any:
    leaves = [
        z3.If(v, z3.BitVecVal(1, 1), z3.BitVecVal(0, 1)) if z3.is_bool(v) else v
        for v in enc.flat(variables)
    ]
    return z3.Concat(*leaves) if len(leaves) > 1 else leaves[0]


_CTI_FIX = (
    "State a lemma (@invariant(lemma=True)) that rules the first state out, or try a larger --k."
)
_WRAP_FIX = (
    "The width of ints follows the declared bounds: widen a Range/Bits declaration, or "
    "state a lemma (@invariant(lemma=True)) that rules the first state out."
)


def _cti_start(prop: PropertyDef | None, standing: list[PropertyDef], k: int) -> str:
    others = ", ".join(p.name for p in standing if p is not prop)
    if prop is not None:
        assumed = f"{prop.name} and {others or 'no other invariant'}"
    else:
        assumed = others or "the declared types"
    return (
        f"not proved: a counterexample to induction. From a state satisfying {assumed} "
        f"(possibly unreachable), {'1 step reaches' if k == 1 else f'{k} steps reach'} a state "
        "where "
    )


def _cti_reason(
    model: Model, prop: PropertyDef, trace: Trace, standing: list[PropertyDef], k: int
) -> str:
    return f"{_cti_start(prop, standing, k)}{_reason(model, prop, trace)}. {_CTI_FIX}"


def _obligation_at(enc: Encoding, prop: PropertyDef, states: list[Any], d: int) -> Any:
    """The property holds at depth ``d`` and evaluating it there does not wrap."""
    wraps = enc.property_wraps[prop.name]
    if not wraps:
        return _holds_at(enc, prop, states, d)
    return z3.And(
        _holds_at(enc, prop, states, d), *(z3.Not(_at(enc, prop, w.when, states, d)) for w in wraps)
    )


def _inexact_reason(
    enc: Encoding, solution: Any, trace: Trace, states: list[Any], standing: list[PropertyDef]
) -> str:
    # Why nothing is proved: a step from the assumptions leaves the declared types, or
    # reaches a state where an operation of an action is not exact.
    k = len(states) - 1
    start = _cti_start(None, standing, k)
    bad = [
        f"{n}={v!r}" for n, v in trace.final.to_dict().items() if not _fits(enc.types[n], v, enc)
    ]
    if bad:
        return (
            f"{start}a field leaves its declared type ({', '.join(bad)}); until the declared "
            "types are inductive, no property is proved. Widen the Range/Bits/OneOf "
            f"declarations of {enc.state_class.__name__}, or state a lemma "
            "(@invariant(lemma=True)) that rules the first state out."
        )
    wrap = _which(solution, _wraps_at(enc, [], states, k))
    assert wrap is not None
    return (
        f"{start}the symbolic encoding is not exact {_inexact(enc, wrap)}; until it is, no "
        f"property is proved. {_WRAP_FIX}"
    )
