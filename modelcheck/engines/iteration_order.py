"""Finding actions whose result depends on the order in which a set is iterated.

Iterating a ``frozenset`` of strings (or enum members, or tuples of them)
visits its elements in an order that changes with ``PYTHONHASHSEED``.  An
action that builds its next state from that order (``tuple(s.names)``,
``next(iter(s.msgs))``, a ``for`` loop that stops early, a
nondeterministic action yielding one successor per element) gives different
states or a different successor order in every run, so counts, traces and
even verdicts would change from run to run.  No engine can repair that
after the fact, so the check finds such actions before the search starts
and names them (a :class:`~modelcheck.errors.SpecError`, exit 2).

How: a small breadth-first search (at most :data:`PROBE_STATES` states)
re-runs each action on a copy of each state in which one field's sets
iterate in the *reverse* of their real order.  Equal sets, so a correct
action gives the same successors in the same order; one that depends on
the order does not.  A nondeterministic action that returns its next
states as a ``set`` is named too (the engines would take them in the
set's order).  Known limits: an order dependence that first shows in
a state deeper than the probe, one on a set the action builds itself or
takes from the spec's parameters, and one in ``initial_states`` are not
found.  Specs with no set in their initial states are not probed at all
(they cost nothing); :class:`~modelcheck.containers.FrozenMap` and
:class:`~modelcheck.containers.Bag` iterate in a canonical order and need
no probe.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from modelcheck.containers import Bag, FrozenMap
from modelcheck.errors import SpecError
from modelcheck.model import ActionInstance, Model
from modelcheck.state import State, format_value

#: How many states the probe explores (breadth-first) at most.
PROBE_STATES = 1000
#: How many extra action calls (on reordered states) the probe makes at most, so
#: that a spec with slow actions is not slowed much.  A count, not a time, so
#: that what the probe finds is the same on every machine.
PROBE_CALLS = 20_000


class _Reversed(frozenset):  # type: ignore[type-arg]
    """An equal frozenset that iterates in the reverse of its real order."""

    __slots__ = ()

    def __iter__(self) -> Any:
        return iter(tuple(frozenset.__iter__(self))[::-1])


def _stable_hash(value: Any) -> bool:
    # Whether hash(value), hence a set's layout, is the same in every run.
    if value is None or (
        isinstance(value, bool | int | float) and not isinstance(value, enum.Enum)
    ):
        return True
    if isinstance(value, State):
        return all(_stable_hash(v) for v in value[1:])
    if isinstance(value, tuple | frozenset):
        return all(_stable_hash(v) for v in value)
    return False


def _holds_set(value: Any) -> bool:
    if isinstance(value, frozenset | set):
        return True
    if isinstance(value, State):
        return any(_holds_set(v) for v in value[1:])
    if isinstance(value, tuple):
        return any(_holds_set(v) for v in value)
    if isinstance(value, FrozenMap):
        return any(_holds_set(v) for v in value.values())
    if isinstance(value, Bag):
        return any(_holds_set(v) for v in value)
    fields = getattr(type(value), "__attrs_attrs__", None)
    return fields is not None and any(_holds_set(getattr(value, a.name)) for a in fields)


def _reversed(value: Any) -> tuple[Any, bool]:
    """``value`` with every seed-ordered set in it iterating backwards, and whether any was."""
    if isinstance(value, frozenset):
        if len(value) > 1 and not all(_stable_hash(v) for v in value):
            return _Reversed(value), True
        return value, False
    if isinstance(value, State):
        changed = {f: _reversed(v) for f, v in value.items()}
        if not any(hit for _, hit in changed.values()):
            return value, False
        return value.replace(**{f: v for f, (v, _) in changed.items()}), True
    if isinstance(value, tuple):
        parts = [_reversed(v) for v in value]
        if not any(hit for _, hit in parts):
            return value, False
        return tuple(v for v, _ in parts), True
    if isinstance(value, FrozenMap):
        pairs = {k: _reversed(v) for k, v in value.items()}
        if not any(hit for _, hit in pairs.values()):
            return value, False
        return FrozenMap._trusted({k: v for k, (v, _) in pairs.items()}), True
    fields = getattr(type(value), "__attrs_attrs__", None)
    if fields is not None:
        changed = {a.name: _reversed(getattr(value, a.name)) for a in fields}
        if not any(hit for _, hit in changed.values()):
            return value, False
        return attrs.evolve(value, **{f: v for f, (v, _) in changed.items()}), True
    return value, False


def _fields(state: Any) -> list[str]:
    if isinstance(state, State):
        return list(state._fields)
    return [a.name for a in getattr(type(state), "__attrs_attrs__", ())]


def _with(state: Any, field: str, value: Any) -> Any:
    if isinstance(state, State):
        return state.replace(**{field: value})
    return attrs.evolve(state, **{field: value})


def _successors(act: ActionInstance, state: Any) -> list[Any] | None:
    try:
        return act.successors(state)
    except Exception:
        # The search itself reports a failing action, with the run that reaches it.
        return None


def probe_iteration_order(model: Model, limit: int | None = None) -> None:
    """Raise :class:`SpecError` naming an action whose result depends on set iteration order.

    ``limit`` caps the states explored below :data:`PROBE_STATES` (the
    search's own ``max_states``, say).
    """
    if not any(_holds_set(s) for s in model.initial_states):
        return
    limit = PROBE_STATES if limit is None else min(limit, PROBE_STATES)
    calls = 0
    seen: dict[Any, None] = dict.fromkeys(model.initial_states)
    queue = list(seen)
    position = 0
    while position < len(queue):
        state = queue[position]
        position += 1
        probes = []
        for field in _fields(state):
            turned, hit = _reversed(getattr(state, field))
            if hit:
                probes.append((field, _with(state, field, turned)))
        for act in model.actions:
            successors = _successors(act, state)
            if successors is None:
                continue
            if act.nondeterministic and len(successors) > 1:
                _check_not_a_set(model, act, state)
            for field, probe in probes:
                calls += 1
                if calls > PROBE_CALLS:
                    return
                other = _successors(act, probe)
                if other is not None and other != successors:
                    raise SpecError(_message(model, act, field, state, successors, other))
            for nxt in successors:
                if nxt not in seen and len(seen) < limit:
                    seen[nxt] = None
                    queue.append(nxt)


def _check_not_a_set(model: Model, act: ActionInstance, state: Any) -> None:
    # A nondeterministic action returning a set of next states: the engines take
    # them in the set's order, which for states holding strings is the hash seed's.
    try:
        result = act.call(state)
    except Exception:
        return
    if isinstance(result, frozenset | set) and not all(_stable_hash(t) for t in result):
        raise SpecError(
            f"{model.name}.{act.family}: {act.label} returns its next states as a "
            f"{type(result).__name__}, whose order changes with PYTHONHASHSEED, so the order "
            "of the search and its traces would change from run to run. Return a list or a "
            "tuple (or yield them) in an order of your choosing."
        )


def _message(
    model: Model, act: ActionInstance, field: str, state: Any, ours: list[Any], theirs: list[Any]
) -> str:
    same_states = set(ours) == set(theirs)
    effect = (
        "gives its successors in an order"
        if same_states
        else "builds a next state (or picks one) in a way"
    )
    return (
        f"{model.name}.{act.family}: {act.label} {effect} that depends on the order in which "
        f"the set in the field {field!r} is iterated (in the state where {field}="
        f"{format_value(getattr(state, field))}). That order changes with PYTHONHASHSEED for "
        "strings, enum members and tuples of them, so counts and traces would change from "
        f"run to run. Iterate sorted({field}) instead, or keep the field as a modelcheck.Bag "
        "or modelcheck.FrozenMap, which iterate in a fixed order."
    )
