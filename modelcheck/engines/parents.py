"""Traces from parent links: how a search turns a found state into a run.

Under symmetry reduction the parent links join orbit representatives: the
stored successor of ``s`` is the representative of a real successor, not
necessarily a real successor itself.  :func:`path_to` then turns the chain
of representatives back into a concrete run of the unreduced spec, which
``replay`` accepts: from the initial state in the first orbit, each step
takes the first action (in declaration order) whose successor lies in the
orbit of the next representative.  Such a step always exists when the
declared symmetry is one of the spec (successors of a renamed state are the
renamed successors); when none does, the declaration is wrong and that is
reported.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from modelcheck.errors import SpecError
from modelcheck.model import ActionInstance, Model
from modelcheck.symmetry import SymmetryDef
from modelcheck.trace import Trace


def path_to(
    model: Model, index: Mapping[Any, Any], state: Any, symmetry: SymmetryDef | None = None
) -> Trace:
    """The trace from an initial state to ``state``, following parent links.

    With ``symmetry``, the links join orbit representatives and the trace is
    a concrete run ending in a state of ``state``'s orbit (see above).
    """
    chain = [state]
    parent = index[state]
    while parent is not None:
        chain.append(parent)
        parent = index[parent]
    chain.reverse()
    if symmetry is not None:
        return concrete_run(model, symmetry, chain)
    steps = [
        (model.action_between(before, after), after) for before, after in itertools.pairwise(chain)
    ]
    return model.run_trace(chain[0], steps)


def concrete_run(model: Model, symmetry: SymmetryDef, chain: list[Any]) -> Trace:
    """A run of the unreduced spec through the orbits of ``chain``, in order."""
    canonical = symmetry.canonical
    start = next((s for s in model.initial_states if canonical(s) == chain[0]), None)
    if start is None:
        raise _not_a_symmetry(
            model, symmetry, f"no initial state lies in the orbit of {chain[0]!r}"
        )
    steps: list[tuple[ActionInstance, Any]] = []
    here = start
    for wanted in chain[1:]:
        step = next(((a, t) for a, t in model.successors(here) if canonical(t) == wanted), None)
        if step is None:
            raise _not_a_symmetry(
                model, symmetry, f"no step from {here!r} reaches the orbit of {wanted!r}"
            )
        steps.append(step)
        here = step[1]
    return model.run_trace(start, steps)


def _not_a_symmetry(model: Model, symmetry: SymmetryDef, what: str) -> SpecError:
    return SpecError(
        f"{model.name}.symmetry ({symmetry.description}) is not a symmetry of the spec: {what}. "
        "Renaming the ids must map initial states to initial states and steps to steps; "
        "declare every field that is indexed by or holds an id, or drop the declaration."
    )
