"""Symbolic FrozenMaps and Bags for the z3 engine (:mod:`modelcheck.engines.z3`).

A map field declared ``MapOf(keys, values)`` is encoded as, per declared
key, a "has a value" bool and the value's own variables; a bag declared
``BagOf(elements, copies)`` as one count in ``0..copies`` per declared
element.  While the engine runs an action, the field holds a
:class:`SymbolicMap` or :class:`SymbolicBag` with the same methods as the
concrete types.  Methods decide symbolic conditions with a Python ``if``,
so a run splits into paths exactly as a spec's own ``if`` would; equality
is one term.  A key or element outside the declared ones never has a
value, and adding one is outside the subset (it would leave the declared
type).  Operations that raise in Python (``m[k]`` for a missing key,
``bag.remove(x)`` without a copy) raise on the paths where they would,
which the engine reports as an error; test ``k in m`` first, or use
``m.get(k)``.

This module does not import z3: it builds terms through the engine's
symbolic values and the helpers of :mod:`modelcheck.symbolic`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from modelcheck.containers import Bag, FrozenMap
from modelcheck.engines.z3.terms import Sym, _outside
from modelcheck.symbolic import Symbolic, all_of, any_of, implies, ite


def _symbolic(value: Any) -> bool:
    if isinstance(value, Symbolic):
        return True
    if isinstance(value, tuple):
        return any(_symbolic(v) for v in value)
    return False


def _matches(value: Any, constant: Any) -> Any:
    """``value == constant`` for a value that may be (or hold) symbolic parts: a bool or a term."""
    if isinstance(value, tuple) and not isinstance(value, Symbolic):
        if not isinstance(constant, tuple) or len(constant) != len(value):
            return False
        return all_of(*(_matches(v, c) for v, c in zip(value, constant, strict=True)))
    return value == constant


def _negation(cond: Any) -> Any:
    return ite(cond, False, True)


def _same(a: Any, b: Any) -> Any:
    """``a == b`` as a term where either side may be symbolic (tuples element-wise)."""
    if isinstance(a, tuple) and isinstance(b, tuple) and not isinstance(a, Symbolic):
        if len(a) != len(b):
            return False
        return all_of(*(_same(x, y) for x, y in zip(a, b, strict=True)))
    return a == b


class SymbolicMap(Symbolic):
    """A FrozenMap field of a state while the z3 engine runs the spec's code."""

    __slots__ = ("_default", "_keys", "_present", "_total", "_values")

    def __init__(
        self,
        keys: tuple[Any, ...],
        present: dict[Any, Any],
        values: dict[Any, Any],
        default: Any,
        total: bool,
    ) -> None:
        self._keys = keys
        self._present = present  # key -> bool or symbolic bool
        self._values = values  # key -> value (meaningful where present)
        self._default = default  # the value kept for a key without one
        self._total = total

    # --- which declared keys a key can be ----------------------------------------------

    def _candidates(self, key: Any) -> list[tuple[Any, Any]]:
        if _symbolic(key):
            pairs = [(k, _matches(key, k)) for k in self._keys]
            return [(k, c) for k, c in pairs if c is not False]
        try:
            return [(key, True)] if key in self._present else []
        except TypeError:
            raise _outside(f"the map key {key!r} is not hashable") from None

    def _with(self, present: dict[Any, Any], values: dict[Any, Any]) -> SymbolicMap:
        return SymbolicMap(self._keys, present, values, self._default, self._total)

    # --- reading -----------------------------------------------------------------------

    def __getitem__(self, key: Any) -> Any:
        for k, cond in self._candidates(key):
            if cond and self._present[k]:
                return self._values[k]
        raise KeyError(key)

    def get(self, key: Any, default: Any = None) -> Any:
        """The value of ``key``, or ``default`` (splits on whether it has one)."""
        for k, cond in self._candidates(key):
            if cond and self._present[k]:
                return self._values[k]
        return default

    def __contains__(self, key: Any) -> Any:
        found: Any = False
        for k, cond in self._candidates(key):
            found = ite(all_of(cond, self._present[k]), True, found)
        return found

    def _held(self) -> list[Any]:
        return [k for k in self._keys if self._present[k]]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._held())

    def __len__(self) -> int:
        return len(self._held())

    def __bool__(self) -> bool:
        # One decision, not one per key.
        return bool(any_of(*(self._present[k] for k in self._keys)))

    def keys(self) -> tuple[Any, ...]:
        """The keys that have a value, in canonical order (splits per key)."""
        return tuple(self._held())

    def values(self) -> tuple[Any, ...]:
        """The values, in the canonical order of their keys (splits per key)."""
        return tuple(self._values[k] for k in self._held())

    def items(self) -> tuple[tuple[Any, Any], ...]:
        """``(key, value)`` pairs (splits per key)."""
        return tuple((k, self._values[k]) for k in self._held())

    # --- new maps ----------------------------------------------------------------------

    def set(self, key: Any, value: Any) -> SymbolicMap:
        """A copy with ``key`` mapped to ``value``."""
        candidates = self._candidates(key)
        if not candidates:
            raise _outside(
                f"the key {key!r} is not one of the declared keys of the map "
                f"({', '.join(map(repr, self._keys))})"
            )
        if _symbolic(key) and not any_of(*(c for _, c in candidates)):
            # Python would add a key outside the declared ones on this path.
            raise _outside(f"a key outside the declared keys of the map ({self._keys!r})")
        present, values = dict(self._present), dict(self._values)
        for k, cond in candidates:
            present[k] = ite(cond, True, present[k])
            values[k] = ite(cond, value, values[k]) if cond is not True else value
        return self._with(present, values)

    def remove(self, key: Any) -> SymbolicMap:
        """A copy without ``key`` (KeyError where it has no value)."""
        if key not in self:
            raise KeyError(key)
        return self.discard(key)

    def discard(self, key: Any) -> SymbolicMap:
        """A copy without ``key``."""
        if self._total:
            raise _outside("removing a key from a map declared MapOf(..., total=True)")
        present, values = dict(self._present), dict(self._values)
        for k, cond in self._candidates(key):
            present[k] = ite(cond, False, present[k])
            values[k] = ite(cond, self._default, values[k]) if cond is not True else self._default
        return self._with(present, values)

    def update(self, items: Any = (), /, **named: Any) -> SymbolicMap:
        """A copy with every given key set."""
        pairs = items.items() if hasattr(items, "items") else items
        result = self
        for key, value in [*pairs, *named.items()]:
            result = result.set(key, value)
        return result

    # --- value semantics ---------------------------------------------------------------

    def _parts(self) -> dict[Any, tuple[Any, Any]]:
        return {k: (self._present[k], self._values[k]) for k in self._keys}

    def __eq__(self, other: object) -> Any:  # type: ignore[override]
        if isinstance(other, FrozenMap):
            if any(k not in self._present for k in other):
                return False
            theirs = {k: (k in other, other.get(k)) for k in self._keys}
        elif isinstance(other, SymbolicMap) and other._keys == self._keys:
            theirs = other._parts()
        else:
            return False
        conditions = []
        for k, (mine, value) in self._parts().items():
            has, their_value = theirs[k]
            same_presence = ite(mine, has, _negation(has))
            conditions.append(all_of(same_presence, implies(mine, _same(value, their_value))))
        return all_of(*conditions)

    def __ne__(self, other: object) -> Any:  # type: ignore[override]
        return _negation(self == other)

    def __hash__(self) -> int:
        raise _outside("a symbolic map is used as a set element or dict key (it has no hash)")

    def __repr__(self) -> str:
        return f"SymbolicMap(keys={self._keys!r})"

    # what Python evaluates without asking the value (see modelcheck.symbolic.guard)
    def identical(self, other: Any) -> Any:
        raise _outside("`is` with a symbolic map; compare maps with ==")

    def python_isinstance(self, classes: Any) -> Any:
        return issubclass(FrozenMap, classes)

    def python_type(self) -> type:
        return FrozenMap


class SymbolicBag(Symbolic):
    """A Bag field of a state while the z3 engine runs the spec's code."""

    __slots__ = ("_copies", "_counts", "_elements")

    def __init__(self, elements: tuple[Any, ...], counts: dict[Any, Any], copies: int) -> None:
        self._elements = elements
        self._counts = counts  # element -> int or symbolic int
        self._copies = copies

    def _candidates(self, element: Any) -> list[tuple[Any, Any]]:
        if _symbolic(element):
            pairs = [(e, _matches(element, e)) for e in self._elements]
            return [(e, c) for e, c in pairs if c is not False]
        try:
            return [(element, True)] if element in self._counts else []
        except TypeError:
            raise _outside(f"the bag element {element!r} is not hashable") from None

    # --- reading -----------------------------------------------------------------------

    def count(self, element: Any) -> Any:
        """How many copies of ``element`` the bag holds (a term)."""
        total: Any = 0
        for e, cond in self._candidates(element):
            total = self._counts[e] if cond is True else ite(cond, self._counts[e], 0) + total
        return total

    def __contains__(self, element: Any) -> Any:
        return self.count(element) > 0

    def _held(self) -> list[Any]:
        return [e for e in self._elements if self._counts[e] > 0]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._held())

    def __len__(self) -> int:
        return len(self._held())

    def __bool__(self) -> bool:
        # One decision, not one per element.
        return bool(any_of(*(self._counts[e] > 0 for e in self._elements)))

    def total(self) -> Any:
        """The number of copies of all elements together (a term)."""
        return sum(self._counts.values())

    def items(self) -> tuple[tuple[Any, Any], ...]:
        """``(element, count)`` for the elements held (splits per element)."""
        return tuple((e, self._counts[e]) for e in self._held())

    def elements(self) -> tuple[Any, ...]:
        """Outside the subset: how many copies to list is a symbolic number."""
        raise _outside("Bag.elements() of a symbolic bag; iterate it and use count()")

    # --- new bags ----------------------------------------------------------------------

    def add(self, element: Any, n: Any = 1) -> SymbolicBag:
        """A copy with ``n`` more copies of ``element``."""
        candidates = self._candidates(element)
        if not candidates:
            raise _outside(
                f"the element {element!r} is not one of the declared elements of the bag"
            )
        if _symbolic(element) and not any_of(*(c for _, c in candidates)):
            raise _outside("an element outside the declared elements of the bag")
        counts = dict(self._counts)
        for e, cond in candidates:
            counts[e] = counts[e] + (n if cond is True else ite(cond, n, 0))
        return SymbolicBag(self._elements, counts, self._copies)

    def remove(self, element: Any, n: Any = 1) -> SymbolicBag:
        """A copy with ``n`` fewer copies (ValueError where there are fewer)."""
        if not self.count(element) >= n:
            raise ValueError(f"Bag.remove: the bag holds fewer than {n} copies")
        counts = dict(self._counts)
        for e, cond in self._candidates(element):
            counts[e] = counts[e] - (n if cond is True else ite(cond, n, 0))
        return SymbolicBag(self._elements, counts, self._copies)

    def __add__(self, other: Any) -> SymbolicBag:
        if isinstance(other, Bag):
            result = self
            for e, n in other.items():
                result = result.add(e, n)
            return result
        if isinstance(other, SymbolicBag) and other._elements == self._elements:
            counts = {e: self._counts[e] + other._counts[e] for e in self._elements}
            return SymbolicBag(self._elements, counts, self._copies)
        return NotImplemented

    __radd__ = __add__

    # --- value semantics ---------------------------------------------------------------

    def __eq__(self, other: object) -> Any:  # type: ignore[override]
        if isinstance(other, Bag):
            if any(e not in self._counts for e in other):
                return False
            theirs = {e: other.count(e) for e in self._elements}
        elif isinstance(other, SymbolicBag) and other._elements == self._elements:
            theirs = other._counts
        else:
            return False
        return all_of(*(self._counts[e] == theirs[e] for e in self._elements))

    def __ne__(self, other: object) -> Any:  # type: ignore[override]
        return _negation(self == other)

    def __hash__(self) -> int:
        raise _outside("a symbolic bag is used as a set element or dict key (it has no hash)")

    def __repr__(self) -> str:
        return f"SymbolicBag(elements={self._elements!r})"

    def identical(self, other: Any) -> Any:
        raise _outside("`is` with a symbolic bag; compare bags with ==")

    def python_isinstance(self, classes: Any) -> Any:
        return issubclass(Bag, classes)

    def python_type(self) -> type:
        return Bag


__all__ = ["Sym", "SymbolicBag", "SymbolicMap"]
