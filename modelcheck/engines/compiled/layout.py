"""Packing states into 64-bit words, from the declared field types.

Every leaf of the state (see :mod:`modelcheck.symbolic.program`) gets the
fewest bits that hold its declared values: a ``Range(lo, hi)`` stores
``v - lo``, a ``Bits(lo, hi)`` mask stores ``v >> lo``, a ``OneOf`` the
position of its value among the declared ones, a bool one bit.  Leaves are
laid out in field order, 63 bits to a word (the words are int64, and a
leaf never straddles two), so a state of the declared types has exactly one
packing and two states are equal exactly when their words are.

:meth:`Layout.encode` is strict about Python types as the symbolic engine
is (``1`` in a bool field is not ``True``): a state it cannot encode
exactly raises :class:`ValueError` with the reason, and the caller falls
back to the Python engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from modelcheck.containers import Bag, FrozenMap
from modelcheck.symbolic import (
    BagType,
    BitsType,
    BoolType,
    EnumType,
    FieldType,
    IntType,
    MapType,
    TupleType,
)
from modelcheck.symbolic.leaves import absent_value
from modelcheck.symbolic.program import Leaf

#: Bits used per word: the words are signed 64-bit ints, kept non-negative.
WORD_BITS = 63


@attrs.frozen
class Slot:
    """Where one leaf lives: word, bit offset, bit count, and what the stored number means."""

    leaf: Leaf
    word: int
    offset: int
    bits: int

    @property
    def mask(self) -> int:
        return (1 << self.bits) - 1


def leaf_bits(ftype: Any) -> int:
    """Bits needed to store every declared value of a leaf type."""
    if isinstance(ftype, BoolType):
        return 1
    if isinstance(ftype, IntType):
        return (ftype.high - ftype.low).bit_length()
    if isinstance(ftype, BitsType):
        return ftype.high - ftype.low + 1
    if isinstance(ftype, EnumType):
        return (len(ftype.values) - 1).bit_length()
    raise TypeError(f"not a leaf type: {ftype!r}")  # pragma: no cover


class Layout:
    """The packing of one state class at one set of parameters."""

    def __init__(self, state_class: type, types: dict[str, FieldType], leaves: tuple[Leaf, ...]):
        self.state_class = state_class
        self.types = types
        slots, word, offset = [], 0, 0
        for leaf in leaves:
            bits = leaf_bits(leaf.ftype)
            if bits > WORD_BITS:
                raise ValueError(
                    f"field leaf {leaf.name} needs {bits} bits, more than one {WORD_BITS}-bit word"
                )
            if offset + bits > WORD_BITS:
                word, offset = word + 1, 0
            slots.append(Slot(leaf, word, offset, bits))
            offset += bits
        self.slots: tuple[Slot, ...] = tuple(slots)
        self.words = word + 1

    @property
    def bits(self) -> int:
        """Bits of the state in all (without the padding at the end of each word)."""
        return sum(s.bits for s in self.slots)

    def describe(self) -> str:
        """One line per leaf: where it is stored (part of the cache key of the kernels)."""
        return "\n".join(
            f"{s.leaf.name}: word {s.word} bits {s.offset}+{s.bits} {s.leaf.ftype!r}"
            for s in self.slots
        )

    # -- Python values <-> stored numbers -------------------------------------------------

    def encode(self, state: Any) -> tuple[int, ...]:
        """The words of ``state`` (a :class:`ValueError` if it is not of the declared types)."""
        if type(state) is not self.state_class:
            raise ValueError(f"{state!r} is not a {self.state_class.__name__}")
        values = []
        for name, ftype in self.types.items():
            values.extend(_flatten(ftype, getattr(state, name), name))
        words = [0] * self.words
        for slot, value in zip(self.slots, values, strict=True):
            words[slot.word] |= _stored(slot.leaf, value) << slot.offset
        packed = tuple(words)
        if self.decode(packed) != state:  # pragma: no cover - a layout bug
            raise ValueError(f"{state!r} does not survive packing")
        return packed

    def decode(self, words: Any) -> Any:
        """The state stored in ``words``."""
        values = iter(
            _value(slot.leaf, int(words[slot.word]) >> slot.offset & slot.mask)
            for slot in self.slots
        )
        fields = {name: _rebuild(ftype, values) for name, ftype in self.types.items()}
        return self.state_class(**fields)


def _flatten(ftype: FieldType, value: Any, where: str) -> Iterator[Any]:
    if isinstance(ftype, TupleType):
        if type(value) is not tuple or len(value) != ftype.length:
            raise ValueError(f"{where} is {value!r}, not a tuple of {ftype.length}")
        for i, item in enumerate(value):
            yield from _flatten(ftype.element, item, f"{where}[{i}]")
    elif isinstance(ftype, MapType):
        if type(value) is not FrozenMap or any(k not in ftype.keys for k in value):
            raise ValueError(f"{where} is {value!r}, not a FrozenMap with declared keys")
        for key in ftype.keys:
            present = key in value
            if not ftype.total:
                yield present
            elif not present:
                raise ValueError(f"{where} has no value for {key!r} but is declared total")
            yield from _flatten(
                ftype.value, value[key] if present else absent_value(ftype.value), where
            )
    elif isinstance(ftype, BagType):
        if type(value) is not Bag or any(e not in ftype.elements for e in value):
            raise ValueError(f"{where} is {value!r}, not a Bag of declared elements")
        for element in ftype.elements:
            yield value.count(element)
    else:
        yield value


def _stored(leaf: Leaf, value: Any) -> int:
    t = leaf.ftype
    if isinstance(t, BoolType):
        if type(value) is not bool:
            raise ValueError(f"{leaf.name} is {value!r}, not a bool")
        return int(value)
    if isinstance(t, EnumType):
        for i, v in enumerate(t.values):
            if type(v) is type(value) and v == value:
                return i
        raise ValueError(f"{leaf.name} is {value!r}, not one of {t.values!r}")
    if type(value) is not int:
        raise ValueError(f"{leaf.name} is {value!r}, not an int")
    if isinstance(t, IntType):
        if not t.low <= value <= t.high:
            raise ValueError(f"{leaf.name} is {value}, outside {t.low}..{t.high}")
        return value - t.low
    declared = ((1 << (t.high + 1)) - 1) & ~((1 << t.low) - 1)
    if value < 0 or value & ~declared:
        raise ValueError(f"{leaf.name} is {value:#x}, with members outside {t.low}..{t.high}")
    return value >> t.low


def _value(leaf: Leaf, stored: int) -> Any:
    t = leaf.ftype
    if isinstance(t, BoolType):
        return bool(stored)
    if isinstance(t, EnumType):
        return t.values[stored]
    if isinstance(t, IntType):
        return stored + t.low
    return stored << t.low


def _rebuild(ftype: FieldType, values: Iterator[Any]) -> Any:
    if isinstance(ftype, TupleType):
        return tuple(_rebuild(ftype.element, values) for _ in range(ftype.length))
    if isinstance(ftype, MapType):
        out = {}
        for key in ftype.keys:
            present = True if ftype.total else next(values)
            value = _rebuild(ftype.value, values)
            if present:
                out[key] = value
        return FrozenMap(out)
    if isinstance(ftype, BagType):
        counts = [next(values) for _ in ftype.elements]
        return Bag(e for e, n in zip(ftype.elements, counts, strict=True) for _ in range(n))
    return next(values)
