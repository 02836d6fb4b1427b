"""A field type's scalar leaves, as every engine over the subset lays them out.

The z3 engine gives each leaf a variable; the compiled engine packs each
into bits of a word, in the same order (path extraction names the leaves
for it).  Both must agree on the order, on which OneOfs are plain ints,
and on the value a map key without one keeps, so those live here once.
"""

from __future__ import annotations

from typing import Any

from modelcheck.containers import Bag, FrozenMap
from modelcheck.symbolic import (
    BagType,
    BitsType,
    BoolType,
    FieldType,
    IntType,
    MapType,
    TupleType,
)


def field_leaves(name: str, ftype: FieldType) -> list[tuple[str, FieldType]]:
    """``(leaf name, leaf type)`` of every scalar of a field, in order.

    A tuple has one leaf per position; a map per declared key, a "has a
    value" bool (unless the map is total) and then the value's leaves; a bag
    one count per declared element.
    """
    if isinstance(ftype, TupleType):
        out = []
        for i in range(ftype.length):
            out.extend(field_leaves(f"{name}[{i}]", ftype.element))
        return out
    if isinstance(ftype, MapType):
        out = []
        for key in ftype.keys:
            if not ftype.total:
                out.append((f"{name}[{key!r}]?", BoolType()))
            out.extend(field_leaves(f"{name}[{key!r}]", ftype.value))
        return out
    if isinstance(ftype, BagType):
        return [(f"{name}[{e!r}]#", IntType(0, ftype.copies)) for e in ftype.elements]
    return [(name, ftype)]


def absent_value(ftype: FieldType) -> Any:
    """The value kept in the leaves of a map key that has none (so equal maps encode alike)."""
    if isinstance(ftype, TupleType):
        return tuple(absent_value(ftype.element) for _ in range(ftype.length))
    if isinstance(ftype, MapType):
        return FrozenMap({k: absent_value(ftype.value) for k in ftype.keys} if ftype.total else {})
    if isinstance(ftype, BagType):
        return Bag()
    if isinstance(ftype, BoolType):
        return False
    if isinstance(ftype, IntType):
        return ftype.low
    if isinstance(ftype, BitsType):
        return 0
    return ftype.values[0]


def numeric_values(values: tuple[Any, ...]) -> bool:
    """Whether a OneOf's values are plain ints (encoded as the ints themselves)."""
    return bool(values) and all(type(v) is int for v in values)
