"""Immutable maps and bags (multisets) for state fields: :class:`FrozenMap` and :class:`Bag`.

A state field must be hashable and immutable, and everything an engine
derives from a state (the order of successors, the trace it prints) must
not depend on ``PYTHONHASHSEED``.  Python's ``dict`` is neither hashable
nor immutable, and iterating a ``frozenset`` of strings visits them in an
order that changes with the hash seed.  These two types are what a spec
uses instead::

    votes = FrozenMap({"r1": "yes"})
    votes = votes.set("r2", "no")           # a new map; votes[r2] is "no"
    network = Bag().add(("prepare", "r1"))  # one copy of the message
    network = network.remove(("prepare", "r1"))

Both keep their contents in a *canonical order* (:func:`canonical_key`:
numbers by value, then strings, then tuples element by element, ...), so
two equal values iterate, print and encode identically in every run.
Equality and hashing are those of the contents; hashes of strings still
vary with the seed, but only where a value lands in a hash table, never
an order an engine or a trace can see.

A :class:`Bag` follows :class:`collections.Counter`: iterating it gives each
distinct element once, ``len`` is the number of distinct elements,
:meth:`Bag.total` the number of copies, :meth:`Bag.count` the copies of one.

This module imports nothing of modelcheck (it is part of the ground floor,
with :mod:`modelcheck.state`).
"""

from __future__ import annotations

import enum
import numbers
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar, overload

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")

_MISSING: Any = object()


def canonical_key(value: Any) -> tuple[Any, ...]:
    """A sort key giving a total order on state values that no hash seed can change.

    Equal values get equal keys (``1``, ``1.0`` and ``True`` are one key, as
    they are one dict key).  Order: ``None``, numbers, strings, bytes,
    tuples, frozensets, enum members (by class, then definition order),
    state records and attrs instances (by class name, then fields), maps,
    bags.  Any other type raises :class:`TypeError`: its order would be a
    guess.
    """
    if value is None:
        return (0,)
    if isinstance(value, bool | int):
        return (1, int(value))
    if isinstance(value, str):
        # Before enums, so a str-valued enum member sorts as the string it equals.
        return (2, str(value))
    if isinstance(value, enum.Enum):
        members = list(type(value))
        return (6, type(value).__qualname__, members.index(value))
    if isinstance(value, numbers.Real):
        return (1, value)
    if isinstance(value, bytes):
        return (3, value)
    if isinstance(value, FrozenMap):
        return (8, tuple((canonical_key(k), canonical_key(v)) for k, v in value.items()))
    if isinstance(value, Bag):
        return (9, tuple((canonical_key(k), n) for k, n in value.items()))
    fields = getattr(value, "_fields", None)
    if isinstance(value, tuple) and isinstance(fields, tuple) and hasattr(value, "replace"):
        # A modelcheck State record (item 0 is its class tag).
        return (7, type(value).__qualname__, tuple(canonical_key(v) for v in value[1:]))
    if isinstance(value, tuple):
        return (4, tuple(canonical_key(v) for v in value))
    if isinstance(value, frozenset | set):
        return (5, tuple(sorted(canonical_key(v) for v in value)))
    attributes = getattr(type(value), "__attrs_attrs__", None)
    if attributes is not None:
        return (
            7,
            type(value).__qualname__,
            tuple(canonical_key(getattr(value, a.name)) for a in attributes),
        )
    raise TypeError(
        f"{value!r} ({type(value).__name__}) has no canonical order; keys and elements of a "
        "FrozenMap or Bag must be None, numbers, strings, bytes, tuples, frozensets, enum "
        "members, state records or frozen attrs instances."
    )


def _sorted_dict(pairs: Iterable[tuple[Any, Any]]) -> dict[Any, Any]:
    merged = dict(pairs)
    try:
        return dict(sorted(merged.items(), key=lambda kv: canonical_key(kv[0])))
    except TypeError as exc:
        raise TypeError(str(exc)) from None


def _insert(items: dict[Any, Any], key: Any, value: Any) -> dict[Any, Any]:
    """A copy of canonically ordered ``items`` with ``key`` set (placed in order if new)."""
    if key in items:
        copy = dict(items)
        copy[key] = value  # an existing key keeps its place
        return copy
    pairs = list(items.items())
    where = bisect_left(pairs, canonical_key(key), key=lambda kv: canonical_key(kv[0]))
    pairs.insert(where, (key, value))
    return dict(pairs)


class FrozenMap(Generic[K, V]):
    """An immutable, hashable mapping whose keys are kept in canonical order.

    Read it like a dict (``m[k]``, ``m.get(k)``, ``k in m``, ``len``,
    iteration over keys, ``keys()``, ``values()``, ``items()``); "change" it
    with :meth:`set`, :meth:`remove` and :meth:`update`, which return new
    maps.  It never equals a ``dict`` (a state field is either one or the
    other).
    """

    __slots__ = ("_hash", "_items")

    _items: dict[K, V]
    _hash: int | None

    def __init__(self, items: Mapping[K, V] | Iterable[tuple[K, V]] = (), /, **named: V) -> None:
        pairs = items.items() if isinstance(items, Mapping | FrozenMap) else items
        merged = _sorted_dict([*pairs, *named.items()])  # type: ignore[list-item]
        for key in merged:
            hash(key)
        object.__setattr__(self, "_items", merged)
        object.__setattr__(self, "_hash", None)

    @classmethod
    def _trusted(cls, items: dict[K, V]) -> FrozenMap[K, V]:
        # ``items`` is already in canonical order (or in a trace file's order).
        made = object.__new__(cls)
        object.__setattr__(made, "_items", items)
        object.__setattr__(made, "_hash", None)
        return made

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("FrozenMap is immutable; use m.set(key, value) for a new map")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("FrozenMap is immutable")

    # --- reading ----------------------------------------------------------------------

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    @overload
    def get(self, key: K) -> V | None: ...
    @overload
    def get(self, key: K, default: T) -> V | T: ...
    def get(self, key: K, default: Any = None) -> Any:
        """The value of ``key``, or ``default`` when it has none."""
        return self._items.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def keys(self) -> tuple[K, ...]:
        """The keys, in canonical order."""
        return tuple(self._items)

    def values(self) -> tuple[V, ...]:
        """The values, in the canonical order of their keys."""
        return tuple(self._items.values())

    def items(self) -> tuple[tuple[K, V], ...]:
        """``(key, value)`` pairs, in canonical order of the keys."""
        return tuple(self._items.items())

    # --- new maps ---------------------------------------------------------------------

    def set(self, key: K, value: V) -> FrozenMap[K, V]:
        """A copy with ``key`` mapped to ``value``."""
        hash(key)
        if key in self._items and self._items[key] is value:
            return self
        return FrozenMap._trusted(_insert(self._items, key, value))

    def remove(self, key: K) -> FrozenMap[K, V]:
        """A copy without ``key`` (:class:`KeyError` if it has no value)."""
        if key not in self._items:
            raise KeyError(key)
        copy = dict(self._items)
        del copy[key]
        return FrozenMap._trusted(copy)

    def discard(self, key: K) -> FrozenMap[K, V]:
        """A copy without ``key`` (this map itself when it has no value)."""
        return self.remove(key) if key in self._items else self

    def update(
        self, items: Mapping[K, V] | Iterable[tuple[K, V]] = (), /, **named: V
    ) -> FrozenMap[K, V]:
        """A copy with every given key set (like ``dict.update``, but returning the new map)."""
        pairs = items.items() if isinstance(items, Mapping | FrozenMap) else items
        return FrozenMap([*self._items.items(), *pairs, *named.items()])  # type: ignore[list-item]

    # --- value semantics --------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if type(other) is not FrozenMap:
            return NotImplemented
        # Equal maps have their keys in the same (canonical) order.
        return self._items == other._items  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        if self._hash is None:
            object.__setattr__(self, "_hash", hash(("FrozenMap", tuple(self._items.items()))))
        return self._hash  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return (FrozenMap, (tuple(self._items.items()),))


class Bag(Generic[T]):
    """An immutable, hashable multiset (a bag of messages, say), in canonical order.

    ``Bag(iterable)`` counts the elements given; ``Bag.from_counts({x: 2})``
    gives the counts directly.  :meth:`add` and :meth:`remove` return new
    bags; ``x in bag``, :meth:`count`, :meth:`total`, iteration over the
    distinct elements and :meth:`items` read it.  As :class:`Counter`,
    ``len`` is the number of distinct elements.
    """

    __slots__ = ("_counts", "_hash")

    _counts: dict[T, int]
    _hash: int | None

    def __init__(self, elements: Iterable[T] = (), /) -> None:
        counts: dict[T, int] = {}
        for element in elements:
            counts[element] = counts.get(element, 0) + 1
        object.__setattr__(self, "_counts", _sorted_dict(counts.items()))
        object.__setattr__(self, "_hash", None)

    @classmethod
    def from_counts(cls, counts: Mapping[T, int] | Iterable[tuple[T, int]]) -> Bag[T]:
        """The bag holding ``n`` copies of each ``element: n`` (counts of 0 are left out)."""
        pairs = counts.items() if isinstance(counts, Mapping | FrozenMap) else counts
        checked: list[tuple[T, int]] = []
        for element, n in pairs:  # type: ignore[misc]
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise ValueError(f"the count of {element!r} must be a natural number, not {n!r}")
            if n:
                checked.append((element, n))
        return cls._trusted(_sorted_dict(checked))

    @classmethod
    def _trusted(cls, counts: dict[T, int]) -> Bag[T]:
        made = object.__new__(cls)
        object.__setattr__(made, "_counts", counts)
        object.__setattr__(made, "_hash", None)
        return made

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Bag is immutable; use bag.add(x) or bag.remove(x) for a new bag")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Bag is immutable")

    # --- reading ----------------------------------------------------------------------

    def count(self, element: T) -> int:
        """How many copies of ``element`` the bag holds (0 if none)."""
        return self._counts.get(element, 0)

    def __contains__(self, element: object) -> bool:
        return element in self._counts

    def __len__(self) -> int:
        return len(self._counts)

    def total(self) -> int:
        """The number of copies of all elements together."""
        return sum(self._counts.values())

    def __iter__(self) -> Iterator[T]:
        return iter(self._counts)

    def items(self) -> tuple[tuple[T, int], ...]:
        """``(element, count)`` pairs in canonical order."""
        return tuple(self._counts.items())

    def elements(self) -> tuple[T, ...]:
        """Every copy, in canonical order (an element with count 2 appears twice)."""
        return tuple(e for e, n in self._counts.items() for _ in range(n))

    # --- new bags ---------------------------------------------------------------------

    def add(self, element: T, n: int = 1) -> Bag[T]:
        """A copy with ``n`` more copies of ``element``."""
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"Bag.add: n must be a natural number, not {n!r}")
        if n == 0:
            return self
        hash(element)
        return Bag._trusted(_insert(self._counts, element, self._counts.get(element, 0) + n))

    def remove(self, element: T, n: int = 1) -> Bag[T]:
        """A copy with ``n`` fewer copies of ``element`` (:class:`ValueError` if it has fewer)."""
        have = self._counts.get(element, 0)
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"Bag.remove: n must be a natural number, not {n!r}")
        if have < n:
            raise ValueError(
                f"Bag.remove({element!r}): the bag holds {have} "
                f"cop{'y' if have == 1 else 'ies'}, not {n}"
            )
        if n == 0:
            return self
        copy = dict(self._counts)
        if have == n:
            del copy[element]
        else:
            copy[element] = have - n
        return Bag._trusted(copy)

    def __add__(self, other: Bag[T]) -> Bag[T]:
        if not isinstance(other, Bag):
            return NotImplemented
        result = self
        for element, n in other._counts.items():
            result = result.add(element, n)
        return result

    # --- value semantics --------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if type(other) is not Bag:
            return NotImplemented
        return self._counts == other._counts  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        if self._hash is None:
            object.__setattr__(self, "_hash", hash(("Bag", tuple(self._counts.items()))))
        return self._hash  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"Bag({list(self.elements())!r})"

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return (Bag.from_counts, (tuple(self._counts.items()),))


__all__ = ["Bag", "FrozenMap", "canonical_key"]
