"""Bounded model checking: a violation within ``depth`` steps, shortest and first in BFS order."""

from __future__ import annotations

import time
from typing import Any

import attrs
import z3

from modelcheck.engines.z3.encoding import (
    Encoding,
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
from modelcheck.symbolic import SubsetError
from modelcheck.wording import n_steps


def bmc(
    model: Model,
    depth: int,
    properties: tuple[str, ...] | None = None,
    progress: Progress | None = None,
    cross_check: int = CROSS_CHECK_STATES,
) -> CheckResult:
    """Search for a violation of each invariant, action and terminal property within ``depth``.

    Depths are tried in increasing order, so every counterexample is a
    shortest one.  A property with no violation within ``depth`` steps is
    ``unknown`` (bounded, not proved) unless no run is longer than the
    depth searched, in which case the search was complete and it holds.

    Every counterexample is re-run by the spec's own code, property
    included, and every "holds" is cross-checked by a breadth-first search
    of up to ``cross_check`` states; a disagreement raises
    :class:`~modelcheck.errors.InternalError` instead of giving a verdict.
    """
    started = time.perf_counter() - model.compile_seconds  # initial states included
    props = _selected(model, properties)
    found: dict[str, Verdict] = {}
    searched = [0]  # deepest depth fully searched, kept if z3 stops early
    try:
        result = _bmc(model, depth, props, progress, started, found, searched)
        return _cross_check(model, result, cross_check)
    except _Undecided as undecided:
        return _undecided(model, "bmc", props, found, started, undecided, searched[0])


def _bmc(
    model: Model,
    depth: int,
    props: list[PropertyDef],
    progress: Progress | None,
    started: float,
    found: dict[str, Verdict],
    searched: list[int],
) -> CheckResult:
    enc = encode(model, tuple(p.name for p in props))
    solver = z3.Solver()
    states = [enc.at_step(0)]
    acts: list[Any] = []
    solver.add(enc.substitute(enc.init, states[0]))
    complete = False
    reached = 0
    for d in range(depth + 1):
        reached = d
        if d > 0:
            _unroll(enc, solver, states, acts)
            if not _sat(solver):
                complete = True  # no run has d steps: every reachable state was checked
                reached = d - 1
                break
        _check_declared_types(enc, solver, states, acts, d)
        _check_wraps(enc, solver, states, acts, d, [p for p in props if p.name not in found])
        for prop in props:
            if prop.name in found or (prop.kind == "action" and d == 0):
                continue
            violation = z3.Not(_holds_at(enc, prop, states, d))
            if _sat(solver, violation):
                trace = _trace(
                    enc,
                    _first_in_bfs_order(enc, solver, states, acts, violation),
                    states,
                    acts,
                    prop,
                    "",
                    True,
                )
                trace = attrs.evolve(trace, reason=_reason(model, prop, trace))
                found[prop.name] = Verdict(
                    prop.name, prop.kind, Status.VIOLATED, trace, trace.reason
                )
        searched[0] = d
        if progress is not None:
            progress(f"bmc: depth {d} searched, {time.perf_counter() - started:.1f} s")
        if props and len(found) == len(props):
            break  # with no property left, only the declared types would be checked
    verdicts = [
        found.get(p.name)
        or Verdict(
            p.name,
            p.kind,
            Status.HOLDS if complete else Status.UNKNOWN,
            reason="" if complete else f"no violation within {n_steps(reached)} (bounded search)",
        )
        for p in props
    ]
    all_found = bool(props) and len(found) == len(props)
    return _result(
        model,
        "bmc",
        verdicts,
        reached,
        started,
        complete or all_found,
        None if complete or all_found else "max_depth",
    )


def _first_in_bfs_order(
    enc: Encoding, solver: Any, states: list[Any], acts: list[Any], goal: Any
) -> Any:
    """A model of ``goal`` whose run is the one breadth-first search would report.

    BFS numbers states in discovery order, which is the lexicographic order
    of their first shortest runs (initial states in order, then actions in
    the order the search tries them); at the shortest violating depth every
    run to a violation is a shortest run, so the run BFS reports is the
    lexicographically least one.  Fixing the initial state and then each
    step to the least choice that still reaches ``goal`` finds it.
    """
    model = enc.model
    order = [a.index for a in model.actions if not a.nondeterministic]
    order += [a.index for a in model.actions if a.nondeterministic]
    fixed = [goal]
    if len(enc.initials) > 1:
        inits = [enc.substitute(c, states[0]) for c in enc.initials]
        fixed.append(_least(solver, fixed, inits))
    for act in acts:
        fixed.append(_least(solver, fixed, [act == i for i in order]))
    if not _sat(solver, *fixed):  # pragma: no cover - each choice kept it satisfiable
        raise AssertionError("the least run to a violation vanished")
    return solver.model()


def _least(solver: Any, fixed: list[Any], choices: list[Any]) -> Any:
    # Binary search for the first choice that keeps ``fixed`` satisfiable.
    low, high = 0, len(choices) - 1
    while low < high:
        mid = (low + high) // 2
        if _sat(solver, *fixed, z3.Or(choices[: mid + 1])):
            high = mid
        else:
            low = mid + 1
    return choices[low]


def _check_declared_types(
    enc: Encoding, solver: Any, states: list[Any], acts: list[Any], d: int
) -> None:
    wf = enc.substitute(enc.wf, states[d])
    if _sat(solver, z3.Not(wf)):
        solution = solver.model()
        trace = _trace(enc, solution, states, acts, None, "", True)
        state = trace.final
        bad = [f"{k}={v!r}" for k, v in state.to_dict().items() if not _fits(enc.types[k], v, enc)]
        outside = (
            " (a state just past a @constraint is reached too, and its invariants are "
            "checked, so its values must fit the declarations)"
            if enc.model.constraints
            else ""
        )
        raise SubsetError(
            f"{enc.model.name}: a reachable state leaves the declared field types after "
            f"{n_steps(d)} ({', '.join(bad)}); widen the Range/Bits/OneOf declarations of "
            f"{enc.state_class.__name__}{outside}. Run: " + " → ".join(s.label for s in trace.steps)
        )
    solver.add(wf)


def _check_wraps(
    enc: Encoding,
    solver: Any,
    states: list[Any],
    acts: list[Any],
    d: int,
    props: list[PropertyDef],
) -> None:
    # Every operation the actions run in a state reached in d steps, and the properties
    # evaluated there, must compute Python's value: else the encoding no longer describes
    # the spec, from here on.  Only operations that can wrap in a state of the declared
    # types were recorded, so for most specs there is nothing to check.
    wraps = _wraps_at(enc, props, states, d)
    if not wraps or not _sat(solver, z3.Or([when for _, when in wraps])):
        return
    solution = solver.model()
    wrap = _which(solution, wraps)
    assert wrap is not None
    trace = _trace(enc, solution, states, acts, None, "", True)
    run = " → ".join(s.label for s in trace.steps) or "(the initial state)"
    raise SubsetError(
        f"{enc.model.name}: in a state reached after {n_steps(d)} ({trace.final!r}), the "
        f"symbolic encoding is not exact {_inexact(enc, wrap)}. The width follows the "
        f"declared bounds: widen a Range/Bits declaration of {enc.state_class.__name__}, or "
        f"keep intermediate values near the declared ranges. Run: {run}"
    )
