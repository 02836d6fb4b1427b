"""The fingerprint store's parts: stable state fingerprints, a compact visited table, packed levels.

``check --store fingerprints`` (:mod:`modelcheck.engines.fingerprint_search`)
keeps a 64-bit fingerprint per visited state instead of the state itself, so
a state costs a few bytes where the exact store's dict entry, tuple and
field values cost about 300 (dns-race).  The price is that two distinct
states with the same fingerprint are taken for one: the second is never
explored.  :func:`collision_probability` estimates how likely that was.

**Fingerprints** must be the same on every run and machine (counts and
traces may not depend on ``PYTHONHASHSEED``), so Python's ``hash()`` is out:
a state is serialised and hashed with BLAKE2b (8-byte digest).  The fast
serialisation is ``marshal`` (format 2: no references, no interning flags,
so equal values give equal bytes) of the record's tuple — about 0.5 µs for a
dns-race state, and the hash another 0.5.  It applies when the record holds
only ints, strings, bytes, floats, booleans, None and tuples of them;
anything else (nested records, frozen attrs states, maps, bags, enums) is
serialised from :func:`~modelcheck.containers.canonical_key`, about ten
times slower.  Frozensets go the slow way too (their iteration order is not
a function of their contents): marshal marks them with a ``>`` byte, and a
record whose bytes contain one is searched for a frozenset (the byte also
occurs inside ints: 62 is a common plan-store mask) and, holding one, is
re-encoded canonically.  Each state always takes the same way.  marshal's format 2 is
the same on every platform (little-endian, UTF-8) and has not changed since
Python 2.5; were it to change, only which collisions occur would, never a
count without one.

Known weakness: values of different types that Python calls equal (``1``,
``True`` and ``1.0``; a ``StrEnum`` member and its string) get different
fingerprints, so a spec mixing them in one field would count such states
twice where the exact store counts them once.

**The visited table** is open addressing with linear probing over numpy
``uint64`` arrays (0 marks a free slot; a fingerprint of 0 is stored as 1),
cut into :data:`SEGMENTS` segments by the fingerprint's top bits.  Each
segment grows on its own by 1.25x past a load of 0.75, so the table costs
8 / 0.6-0.75 bytes per state and a growth never holds a second copy of the
whole table (which would be the peak of the run).  Scalar reads and writes go
through a ``memoryview`` (a Python int per read, ~40 ns); growth re-inserts a
segment with numpy.

**Levels** waiting to be expanded are kept as blocks of pickled states
compressed with zlib (about 10 bytes a dns-race state instead of ~200 as
objects; records of plain values go through ``marshal``, anything else
through ``pickle``); a block is unpacked when its turn comes.  A spec whose states
cannot be pickled (a class defined inside a function) keeps its blocks as
lists.
"""

from __future__ import annotations

import array
import hashlib
import marshal
import pickle
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from modelcheck.containers import canonical_key
from modelcheck.errors import SpecError

#: Segments of the visited table (a power of two): chosen by the top bits.
SEGMENTS = 256
_SEGMENT_SHIFT = 64 - 8
#: A segment grows past this load, by :data:`_GROWTH`.
_MAX_LOAD = 0.75
_GROWTH = 1.25
_FIRST_CAPACITY = 64


def _holds_set(value: Any) -> bool:
    """Whether a tuple that marshal accepted has a frozenset (or set) inside."""
    for item in value:
        kind = type(item)
        if kind is frozenset or kind is set:
            return True
        if kind is tuple and _holds_set(item):
            return True
    return False


class UnfingerprintableState(SpecError):
    """A state holds a value with no canonical serialisation (so no stable fingerprint)."""


def fingerprint_function(bits: int = 64) -> Callable[[Any], int]:
    """The function giving a state's fingerprint, an int in ``1 .. 2**64 - 1``.

    ``bits`` below 64 keeps only the top ``bits`` bits: a test hook that makes
    collisions frequent, to show that they lose states and that the estimate
    of their probability means something.
    """
    if not 1 <= bits <= 64:
        raise ValueError(f"fingerprint bits must be 1..64, not {bits}")
    dumps = marshal.dumps
    blake2b = hashlib.blake2b
    from_bytes = int.from_bytes
    drop = 64 - bits

    def slow(state: Any) -> bytes:
        try:
            key = canonical_key(state)
        except TypeError as exc:
            shown = repr(state)
            shown = shown if len(shown) <= 200 else shown[:200] + "..."
            raise UnfingerprintableState(
                f"--store fingerprints cannot fingerprint {shown}: {exc} Use the exact "
                "store (--store exact) for this spec."
            ) from None
        # A leading 1 keeps the two encodings apart.
        return b"\x01" + dumps(key, 2)

    def fingerprint(state: Any) -> int:
        try:
            data = dumps(tuple(state), 2)
        except (ValueError, TypeError):  # not a tuple of plain values
            data = slow(state)
        else:
            # ">" is marshal's frozenset code, whose elements come in hash-table
            # order; the byte also turns up inside ints (62 is common), so look.
            if b">" in data and _holds_set(state):
                data = slow(state)
        x = from_bytes(blake2b(data, digest_size=8).digest(), "little") >> drop
        return x or 1

    return fingerprint


def collision_probability(states: int, bits: int = 64) -> float:
    """The chance that two of ``states`` distinct states share a fingerprint.

    The birthday bound ``n**2 / 2**(bits + 1)`` (TLC's "optimistic" estimate
    is of the same kind), assuming fingerprints behave as uniformly random
    values; capped at 1.  A collision hides the later state and everything
    reachable only through it, so this is the probability that the search
    may have missed something, not that it did.
    """
    return min(1.0, states * states / 2.0 ** (bits + 1))


class FingerprintTable:
    """A set of fingerprints (ints in ``1 .. 2**64 - 1``) in about 11-13 bytes each.

    ``add`` and ``contains`` are closures over the segment lists (no attribute
    lookups): the search calls one of them per step.
    """

    def __init__(self) -> None:
        arrays = [np.zeros(_FIRST_CAPACITY, np.uint64) for _ in range(SEGMENTS)]
        # Per segment: its array, a memoryview of it (scalar access as Python ints),
        # its count and the count past which it grows.
        views: list[memoryview] = [memoryview(a) for a in arrays]
        counts = [0] * SEGMENTS
        limits = [int(_FIRST_CAPACITY * _MAX_LOAD)] * SEGMENTS
        self._arrays, self._counts = arrays, counts

        def grow(g: int) -> None:
            arrays[g] = _rebuilt(arrays[g], int(len(arrays[g]) * _GROWTH) + 1)
            views[g] = memoryview(arrays[g])
            limits[g] = int(len(arrays[g]) * _MAX_LOAD)

        def add(x: int) -> bool:
            """Put ``x`` in the table; False if it was there already."""
            g = x >> _SEGMENT_SHIFT
            view = views[g]
            size = len(view)
            i = x % size
            while True:
                y = view[i]
                if y == x:
                    return False
                if not y:
                    view[i] = x
                    counts[g] += 1
                    if counts[g] > limits[g]:
                        grow(g)
                    return True
                i += 1
                if i == size:
                    i = 0

        def contains(x: int) -> bool:
            """Whether ``x`` is in the table."""
            view = views[x >> _SEGMENT_SHIFT]
            size = len(view)
            i = x % size
            while True:
                y = view[i]
                if y == x:
                    return True
                if not y:
                    return False
                i += 1
                if i == size:
                    i = 0

        self.add = add
        self.contains = contains

    def __len__(self) -> int:
        return sum(self._counts)

    def __contains__(self, x: int) -> bool:
        return self.contains(x)

    @property
    def nbytes(self) -> int:
        """Bytes held by the slots."""
        return sum(a.nbytes for a in self._arrays)


def _rebuilt(old: Any, size: int) -> Any:
    """The fingerprints of segment array ``old`` laid out by linear probing in ``size`` slots."""
    items = old[old != 0]
    homes = items % np.uint64(size)
    order = np.argsort(homes, kind="stable")
    items, homes = items[order], homes[order].astype(np.int64)
    # Sorted by home slot, item k lands at the first slot at or after its home
    # that the items before it left free: k + the running max of (home - k).
    ranks = np.arange(items.size, dtype=np.int64)
    places = ranks + np.maximum.accumulate(homes - ranks) if items.size else ranks
    new = np.zeros(size, np.uint64)
    fits = places < size
    new[places[fits]] = items[fits]
    # The few that run past the end wrap round to the start, as a lookup does.
    view = memoryview(new)
    for x in items[~fits].tolist():
        i = 0
        while view[i]:
            i += 1
        view[i] = x
    return new


class Parents:
    """Per admitted state, in discovery order: its parent's number and its place among the
    parent's steps (1 for the first; an initial state: no parent, its place among the
    initial states).  Two compact arrays, 6 bytes a state; ``wide`` places (for more than
    65,535 initial states) take 8."""

    ROOT = 0xFFFFFFFF

    def __init__(self, wide: bool = False) -> None:
        self.parents = array.array("I")
        self.places = array.array("I" if wide else "H")

    def __len__(self) -> int:
        return len(self.parents)

    def chain(self, number: int) -> list[tuple[int, int]]:
        """``(parent number, place)`` from the initial state down to state ``number``."""
        out = []
        while True:
            parent, place = self.parents[number], self.places[number]
            out.append((parent, place))
            if parent == self.ROOT:
                break
            number = parent
        out.reverse()
        return out


class PackedLevel:
    """One BFS level's states in discovery order, in compressed blocks of ``block`` states."""

    #: Whether blocks are compressed (False: kept as lists of objects; a benchmark
    #: switches it off to measure what packing saves).
    pack: bool = True

    def __init__(self, block: int) -> None:
        self.block = block
        self._blocks: deque[tuple[Any, Any]] = deque()
        self._pending: list[Any] = []
        self.size = 0

    @property
    def nbytes(self) -> int:
        """Bytes held by the packed blocks (states still waiting as objects not counted)."""
        return sum(len(b) for kind, b in self._blocks if kind is not list)

    def append(self, state: Any) -> None:
        """Add the next state of the level."""
        self._pending.append(state)
        self.size += 1
        if len(self._pending) >= self.block:
            self._seal()

    def _seal(self) -> None:
        if not self._pending:
            return
        states, self._pending = self._pending, []
        if self.pack:
            kind = type(states[0])
            if issubclass(kind, tuple) and all(type(t) is kind for t in states):
                try:
                    # Plain tuples through marshal: about 5x faster than pickling records.
                    data = marshal.dumps([tuple(t) for t in states], 4)
                except ValueError:  # a field holds a record, a map, an enum...
                    pass
                else:
                    self._blocks.append((kind, zlib.compress(data, 1)))
                    return
            try:
                self._blocks.append((None, zlib.compress(pickle.dumps(states, 5), 1)))
                return
            except (pickle.PicklingError, AttributeError, TypeError):
                self.pack = False  # e.g. a state class defined inside a function
        self._blocks.append((list, states))

    def handover(self) -> PackedLevel:
        """A level holding this one's states; this one is left empty, to be filled again."""
        level = PackedLevel(self.block)
        self._seal()
        level._blocks, level.size, level.pack = self._blocks, self.size, self.pack
        self._blocks, self.size = deque(), 0
        return level

    def blocks(self) -> Iterator[list[Any]]:
        """The level's states, a block at a time, each block dropped once handed out."""
        self._seal()
        new = tuple.__new__
        while self._blocks:
            kind, block = self._blocks.popleft()
            if kind is list:
                yield block
            elif kind is None:
                yield pickle.loads(zlib.decompress(block))
            else:
                yield [new(kind, t) for t in marshal.loads(zlib.decompress(block))]
