"""Symmetry reduction: renaming interchangeable process ids, and one state per orbit.

A spec declares a :class:`~modelcheck.spec.Symmetry`: ids ``0..n-1`` (an
``int`` parameter), the state fields indexed by id (``per_id``: they
permute together) and the fields whose value is an id (``holds_id``: they
are renamed).  A permutation ``p`` of the ids (``p[i]`` is the new name of
process ``i``) maps a state ``s`` to ``p(s)``: entry ``i`` of every per-id
field moves to position ``p[i]``, and every id ``i`` held in a field becomes
``p[i]``.  The *orbit* of ``s`` is the set of all its images.

The canonical representative of an orbit is its least member in one fixed
total order: first the per-id rows (process 0's values of the per-id
fields, then process 1's, ...), then the renamed fields.  The least rows are
simply the rows sorted, so the canonical form costs one sort of ``n`` rows;
only when rows tie (processes with equal per-id values) and ``holds_id``
fields exist are the permutations of the tied processes tried, at most
``n!`` of them.  Two members of one orbit always get the same
representative, because the order is total on the orbit and compares only
what permutations change.

Values are compared through :func:`order_key` (the containers' total
order), so that no comparison can depend on hash seeds.  The compiled
engine picks the very same representative over packed states
(:mod:`modelcheck.engines.compiled.canonical`), so both engines number the
states alike.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs

from modelcheck.containers import canonical_key
from modelcheck.errors import SpecError
from modelcheck.spec import Symmetry
from modelcheck.state import State

Permutation = tuple[int, ...]

#: At most this many per-process rows have their order keys remembered.
ROW_KEY_CACHE = 1 << 16


def order_key(value: Any) -> Any:
    """A key giving a total, seed-independent order over state field values.

    :func:`modelcheck.containers.canonical_key`, with a shortcut for the
    ints, strings and tuples of them that per-id fields usually hold.
    """
    kind = type(value)
    if kind is int:
        return (1, value)
    if kind is str:
        return (2, value)
    if kind is tuple:
        return (4, tuple(map(order_key, value)))
    return canonical_key(value)


@attrs.frozen
class SymmetryDef:
    """A spec's symmetry declaration, validated and compiled for the engines."""

    declared: Symmetry
    #: Number of interchangeable ids (``0..size-1``).
    size: int
    #: Field name -> position in the state tuple (State records) for ``per_id``.
    per_id: tuple[str, ...]
    holds_id: tuple[str, ...]
    _positions: dict[str, int] = attrs.field(repr=False, eq=False)
    _row_keys: dict[tuple[Any, ...], Any] = attrs.field(repr=False, eq=False, factory=dict)

    @property
    def description(self) -> str:
        """What is interchangeable, in one line for reports."""
        return self.declared.describe()

    def _row_key(self, row: tuple[Any, ...]) -> Any:
        # Rows repeat (a process's per-id values range over a small set), so
        # their keys are remembered, up to a bound on the memory it takes.
        key = self._row_keys.get(row)
        if key is None:
            key = order_key(row)
            if len(self._row_keys) < ROW_KEY_CACHE:
                self._row_keys[row] = key
        return key

    def permutations(self) -> Iterator[Permutation]:
        """Every permutation of the ids (``n!`` of them), the identity first."""
        return itertools.permutations(range(self.size))

    def rename(self, value: Any, perm: Permutation) -> Any:
        """``value`` (an id, a tuple or frozenset of ids, or no id) with ids renamed."""
        if type(value) is int:
            return perm[value] if 0 <= value < self.size else value
        if isinstance(value, tuple):
            return tuple(self.rename(v, perm) for v in value)
        if isinstance(value, frozenset):
            return frozenset(self.rename(v, perm) for v in value)
        return value

    def apply(self, state: Any, perm: Permutation) -> Any:
        """The image of ``state`` under ``perm`` (``perm[i]``: the new id of process ``i``)."""
        order = [0] * self.size  # order[new] = old
        for old, new in enumerate(perm):
            order[new] = old
        changes = {}
        for name in self.per_id:
            column = getattr(state, name)
            changes[name] = tuple(column[old] for old in order)
        for name in self.holds_id:
            changes[name] = self.rename(getattr(state, name), perm)
        return _with(state, changes, self._positions)

    def canonical(self, state: Any) -> Any:
        """The representative of ``state``'s orbit (see the module docstring)."""
        n = self.size
        columns = [getattr(state, name) for name in self.per_id]
        keys = list(map(self._row_key, zip(*columns, strict=True)))
        order = sorted(range(n), key=keys.__getitem__)  # order[new] = old
        if not self.holds_id:
            if order == list(range(n)):
                return state
            changes = {
                name: tuple(column[old] for old in order)
                for name, column in zip(self.per_id, columns, strict=True)
            }
            return _with(state, changes, self._positions)
        # Processes with equal rows may be put in either order: the renamed
        # fields decide, so try every order of each group of equal rows.
        groups: list[list[int]] = []
        for position, old in enumerate(order):
            if position and keys[old] == keys[order[position - 1]]:
                groups[-1].append(old)
            else:
                groups.append([old])
        best = None
        best_key = None
        for choice in itertools.product(*(itertools.permutations(g) for g in groups)):
            candidate = [old for group in choice for old in group]
            perm = [0] * n
            for new, old in enumerate(candidate):
                perm[old] = new
            image = self.apply(state, tuple(perm))
            key = order_key(tuple(getattr(image, name) for name in self.holds_id))
            if best_key is None or key < best_key:
                best, best_key = image, key
        return best

    def orbit(self, state: Any) -> set[Any]:
        """Every image of ``state`` (brute force: one per permutation; for tests)."""
        return {self.apply(state, perm) for perm in self.permutations()}


def _with(state: Any, changes: dict[str, Any], positions: dict[str, int]) -> Any:
    if isinstance(state, State):
        values = list(state)
        for name, value in changes.items():
            values[positions[name]] = value
        return tuple.__new__(type(state), values)
    return attrs.evolve(state, **changes)


def compile_symmetry(spec: Any, example_state: Any) -> SymmetryDef | None:
    """Validate ``type(spec).symmetry`` against the spec's parameters and a state."""
    cls = type(spec)
    declared = getattr(cls, "symmetry", None)
    if declared is None:
        return None
    where = f"{cls.__name__}.symmetry"
    if not isinstance(declared, Symmetry):
        raise SpecError(
            f"{where} must be a modelcheck.Symmetry, e.g. Symmetry('enactors', "
            f"per_id=('pc', 'plan')); got {type(declared).__name__}."
        )
    params = spec.parameters
    if declared.ids not in params or type(params[declared.ids]) is not int:
        ints = [k for k, v in params.items() if type(v) is int]
        raise SpecError(
            f"{where}: ids={declared.ids!r} must name an int parameter of {cls.__name__} "
            f"(the ids are 0..value-1); its int parameters: {', '.join(ints) or '(none)'}."
        )
    size = params[declared.ids]
    fields = _field_names(example_state)
    if not declared.per_id and not declared.holds_id:
        raise SpecError(f"{where} names no field: give per_id=(...) and/or holds_id=(...).")
    both = set(declared.per_id) & set(declared.holds_id)
    if both:
        raise SpecError(f"{where}: {', '.join(sorted(both))} cannot be both per_id and holds_id.")
    for name in (*declared.per_id, *declared.holds_id):
        if name not in fields:
            raise SpecError(
                f"{where} names {name!r}, which is not a field of "
                f"{type(example_state).__name__}; its fields: {', '.join(fields)}."
            )
    for name in declared.per_id:
        value = getattr(example_state, name)
        if not isinstance(value, tuple) or len(value) != size:
            raise SpecError(
                f"{where}: per_id field {name!r} must be a tuple with one entry per id "
                f"({declared.ids}={size}), but the initial state has {value!r}; list it in "
                "holds_id if it holds ids instead."
            )
    positions = {name: i for i, name in enumerate(fields, start=1)}
    return SymmetryDef(declared, size, declared.per_id, declared.holds_id, positions)


def _field_names(state: Any) -> tuple[str, ...]:
    if isinstance(state, State):
        return state._fields
    if attrs.has(type(state)):
        return tuple(a.name for a in attrs.fields(type(state)))
    return ()


def asymmetry(
    symmetry: SymmetryDef,
    initial: Sequence[Any],
    successors: Callable[[Any], list[Any]],
    state_properties: Sequence[tuple[str, Callable[[Any], Any]]],
    step_properties: Sequence[tuple[str, Callable[[Any, Any], Any]]],
    limit: int = 200,
) -> str | None:
    """Why the declared symmetry is not one of the spec, seen near the start, or None.

    A spot check, not a proof, on the first ``limit`` states of an
    unreduced breadth-first search: for each swap of two neighbouring ids,
    the initial states must map to initial states, a state's image must
    have the images of its successors as successors (up to orbit), and each
    property must give the same answer on a state (or step) and its image.
    It catches the usual mistake, a field left out of the declaration.
    """
    swaps = []
    for i in range(symmetry.size - 1):
        perm = list(range(symmetry.size))
        perm[i], perm[i + 1] = i + 1, i
        swaps.append((i, tuple(perm)))
    inits = set(initial)
    for state in initial:
        for i, perm in swaps:
            if symmetry.apply(state, perm) not in inits:
                return (
                    f"swapping ids {i} and {i + 1} in the initial state {state!r} does not "
                    "give an initial state"
                )
    seen = dict.fromkeys(initial)
    queue = list(initial)
    done = 0
    while done < min(len(queue), limit):
        state = queue[done]
        done += 1
        nexts = successors(state)
        mine = {symmetry.canonical(t) for t in nexts}
        for i, perm in swaps:
            image = symmetry.apply(state, perm)
            theirs = {symmetry.canonical(t) for t in successors(image)}
            if theirs != mine:
                return (
                    f"swapping ids {i} and {i + 1} in {state!r} changes which states are "
                    "reachable in one step"
                )
            for name, check in state_properties:
                if bool(check(state)) != bool(check(image)):
                    return f"{name} differs between {state!r} and its renaming {image!r}"
            for name, step_check in step_properties:
                for t in nexts:
                    if bool(step_check(state, t)) != bool(
                        step_check(image, symmetry.apply(t, perm))
                    ):
                        return f"{name} differs between a step from {state!r} and its renaming"
        for t in nexts:
            if t not in seen:
                seen[t] = None
                queue.append(t)
    return None
