"""Which shard owns a state, for shards that hold the spec's own objects: a stable hash.

The compiled shards place a state by the kernel's hash of its packed words
(:func:`.shard.owners`).  Objects have no such words, and Python's ``hash``
of strings (and of tuples and states holding them) changes with
``PYTHONHASHSEED``, which differs between Ray's workers; so a state's owner
is a BLAKE2b hash of a *text* of the state that equal states share in every
process (:func:`stable_hash`).  Imports nothing heavy.
"""

from __future__ import annotations

import enum
import hashlib
import math
import numbers
from typing import Any

from modelcheck.containers import Bag, FrozenMap, canonical_key


def _text(value: Any) -> str:
    """A text of ``value`` that equal values share in every process (see :func:`stable_hash`).

    Numbers are written as the value they are, an integral one as an int
    (``1``, ``1.0`` and ``True`` are one state field, as they are one dict
    key); a ``str`` subclass (a string-valued enum member) as its string;
    frozensets with their elements' texts sorted; maps and bags in their
    canonical order; records and attrs instances with their class's name.
    """
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is str:
        return repr(value)
    if kind is tuple:
        return "(" + ",".join([_text(v) for v in value]) + ")"
    if kind is bool:
        return "1" if value else "0"
    if value is None:
        return "N"
    if kind is frozenset:
        return "{" + ",".join(sorted([_text(v) for v in value])) + "}"
    if kind is FrozenMap:
        return "M{" + ",".join([f"{_text(k)}:{_text(v)}" for k, v in value.items()]) + "}"
    if kind is Bag:
        return "B{" + ",".join([f"{_text(k)}:{n}" for k, n in value.items()]) + "}"
    return _other_text(value)


def _other_text(value: Any) -> str:
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, int):  # bool, IntEnum members
        return str(int(value))
    if isinstance(value, enum.Enum):
        return f"E{type(value).__qualname__}.{value.name}"
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isfinite(number) and number == value and number.is_integer():
            return str(int(number))
        return repr(number) if number == value else repr(value)
    if isinstance(value, bytes):
        return repr(bytes(value))
    if isinstance(value, tuple):
        fields = getattr(value, "_fields", None)
        if isinstance(fields, tuple) and hasattr(value, "replace"):  # a State record
            return type(value).__qualname__ + "(" + ",".join([_text(v) for v in value[1:]]) + ")"
        return "(" + ",".join([_text(v) for v in value]) + ")"
    if isinstance(value, frozenset | set):
        return "{" + ",".join(sorted([_text(v) for v in value])) + "}"
    if isinstance(value, FrozenMap):
        return "M{" + ",".join([f"{_text(k)}:{_text(v)}" for k, v in value.items()]) + "}"
    if isinstance(value, Bag):
        return "B{" + ",".join([f"{_text(k)}:{n}" for k, n in value.items()]) + "}"
    attributes = getattr(type(value), "__attrs_attrs__", None)
    if attributes is not None:
        inner = ",".join([_text(getattr(value, a.name)) for a in attributes])
        return f"A{type(value).__qualname__}({inner})"
    canonical_key(value)  # raises TypeError, saying which values have an order
    raise TypeError(f"{value!r} ({type(value).__name__}) has no stable text")


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def stable_hash(state: Any) -> int:
    """A 64-bit hash of ``state`` that is the same in every process and every run.

    Python's ``hash`` of strings (and of tuples and states holding them)
    changes with ``PYTHONHASHSEED``, which differs between Ray's workers, so
    it cannot say which shard owns a state.  This hashes a text of the state
    (:func:`_text`) with BLAKE2b: frozensets sorted, maps and bags in their
    canonical order (:mod:`modelcheck.containers`), so equal states have one
    text, one hash, one owner.  A value with no canonical order raises
    :class:`TypeError`.
    """
    return _digest(_text(state))


def owner(state: Any, shards: int) -> int:
    """The shard that owns ``state``, of ``shards``."""
    return stable_hash(state) % shards


#: Field values whose text :class:`Owners` keeps at most (then it starts again).
MEMO = 1 << 16


class Owners:
    """Owners of successors, with the texts of field values kept by value: a step
    changes a field or two, and the values a field takes repeat from state to state.

    Keyed by equality, a kept text is that of an *equal* value, which is the
    text the value itself has (equal values have one text), so keeping them
    changes no owner.
    """

    def __init__(self, shards: int) -> None:
        self.shards = shards
        self.texts: dict[Any, str] = {}
        self.records: dict[type, str | None] = {}  # a record class's name, None: not one

    def of(self, state: Any) -> int:
        """The shard that owns ``state`` (:func:`owner`, faster)."""
        kind = type(state)
        try:
            name = self.records[kind]
        except KeyError:
            name = self.records[kind] = kind.__qualname__ if is_record(state) else None
        if name is None:
            return stable_hash(state) % self.shards
        texts = self.texts
        if len(texts) > MEMO:
            texts.clear()
        parts = [texts.get(v) or self._text(v) for v in state[1:]]
        return _digest(name + "(" + ",".join(parts) + ")") % self.shards

    def _text(self, value: Any) -> str:
        text = self.texts[value] = _text(value)
        return text


def is_record(state: Any) -> bool:
    """Whether ``state`` is a modelcheck ``State`` record (a tuple with its class tag first)."""
    return (
        isinstance(state, tuple) and hasattr(type(state), "_fields") and hasattr(state, "replace")
    )
