"""Symmetry reduction in the kernel: numba source that canonicalises a packed state.

The generated function ``_canon(nb, k, sc)`` reads the concrete successor
in ``nb[k, 0:words]`` and writes the representative of its orbit in
``nb[k, words:2*words]``; the kernel looks up and stores the
representative, and judges action properties on the concrete step, as the
Python engine does (:mod:`modelcheck.engines.expand`).

The representative is exactly :meth:`modelcheck.symmetry.SymmetryDef.canonical`'s,
so states get the Python engine's numbers and the parent links of a trace
join the same representatives (``path_to`` turns them into a concrete
run with the Python canonical form):

* Each process's per-id row becomes one int: the *ranks* of its leaves,
  first leaf most significant, then the process's id in the low bits.  A
  leaf's rank is its position in :func:`~modelcheck.symmetry.order_key`'s
  order over the leaf's declared values (for a ``Range`` or ``Bits`` leaf,
  its stored number; for a ``OneOf``, its value's place among the declared
  values sorted by ``order_key``: ``"applying" < "cleaning" < "idle"``,
  not the declaration order the stored codes follow).  Rows are tuples of
  one shape, so comparing the ints is comparing ``order_key(row)``, and the
  id in the low bits makes the sort stable, as Python's ``sorted`` is.
* A sorting network of compare-exchanges sorts the ``n`` ints.
* With ``holds_id`` fields, processes with equal rows are tried in every
  order (as Python does), and the renamed fields' ranks, packed the same
  way, pick the least image.  Equal keys mean equal images, so which of
  tied arrangements wins does not matter.

What cannot be matched exactly is refused (:class:`NotCompilable`, and the
Python engine runs): per-id rows or id-holding fields wider than one word
of ranks, maps, bags and bit sets among them, declared values whose
``order_key`` ties.  A renamed id outside its field's declared type (only
a wrong declaration gives one) stops the search the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from modelcheck.engines.compiled.layout import WORD_BITS, Layout, Slot
from modelcheck.symbolic import BagType, BitsType, BoolType, EnumType, IntType, MapType, TupleType
from modelcheck.symbolic.program import NotCompilable
from modelcheck.symmetry import SymmetryDef, order_key


@attrs.frozen
class Canonicaliser:
    """The generated ``_canon`` function and the scratch it needs."""

    source: str
    #: int64 entries of the scratch array ``_canon`` takes (allocated once per kernel call).
    scratch: int


def _leaf_count(ftype: Any) -> int:
    if isinstance(ftype, TupleType):
        return ftype.length * _leaf_count(ftype.element)
    if isinstance(ftype, MapType):
        return len(ftype.keys) * (_leaf_count(ftype.value) + (0 if ftype.total else 1))
    if isinstance(ftype, BagType):  # one count per element
        return len(ftype.elements)
    return 1


def _only_tuples_of_leaves(ftype: Any) -> bool:
    """Whether ``ftype`` is a leaf or fixed-length tuples of them (compared leaf by leaf)."""
    if isinstance(ftype, TupleType):
        return _only_tuples_of_leaves(ftype.element)
    return isinstance(ftype, IntType | BoolType | EnumType | BitsType)


def _field_slots(layout: Layout) -> dict[str, tuple[Slot, ...]]:
    """Each field's slots, in layout order."""
    out, at = {}, 0
    for name, ftype in layout.types.items():
        count = _leaf_count(ftype)
        out[name] = layout.slots[at : at + count]
        at += count
    return out


def _ranks(slot: Slot, where: str) -> tuple[int, ...]:
    """For an enum leaf, each stored code's place in ``order_key`` order of the values."""
    values = slot.leaf.ftype.values
    try:
        keys = [order_key(v) for v in values]
        order = sorted(range(len(values)), key=keys.__getitem__)
    except TypeError:
        raise NotCompilable(
            f"symmetry: the values of {where} ({values!r}) have no order the kernel can match"
        ) from None
    if len(set(map(repr, keys))) != len(keys):
        raise NotCompilable(f"symmetry: two values of {where} ({values!r}) sort as equal")
    ranks = [0] * len(values)
    for rank, code in enumerate(order):
        ranks[code] = rank
    return tuple(ranks)


def _raw(slot: Slot) -> str:
    return f"((w{slot.word} >> {slot.offset}) & {slot.mask})"


def _rank(slot: Slot, raw: str, where: str) -> str:
    """The expression of a leaf's rank from its stored number."""
    if isinstance(slot.leaf.ftype, EnumType):
        ranks = _ranks(slot, where)
        if ranks == tuple(range(len(ranks))):
            return raw
        return f"{ranks!r}[{raw}]"
    return raw  # bool, Range (value - low) and Bits (mask >> low) keep the order of values


def generate(symmetry: SymmetryDef, layout: Layout) -> Canonicaliser:
    """The ``_canon`` source for ``symmetry`` over ``layout`` (NotCompilable where it cannot
    give :meth:`SymmetryDef.canonical`'s representative)."""
    n = symmetry.size
    fields = _field_slots(layout)
    row: list[list[Slot]] = [[] for _ in range(n)]  # process i's per-id leaves, in row order
    for name in symmetry.per_id:
        ftype = layout.types[name]
        if not isinstance(ftype, TupleType) or ftype.length != n:  # pragma: no cover - validated
            raise NotCompilable(f"symmetry: the per-id field {name} is not a tuple of {n}")
        if not _only_tuples_of_leaves(ftype.element):
            raise NotCompilable(
                f"symmetry: the per-id field {name} holds maps, bags or other containers, "
                "whose order the kernel does not compare"
            )
        slots = fields[name]
        width = len(slots) // n
        for i in range(n):
            row[i].extend(slots[i * width : (i + 1) * width])
    holds: list[Slot] = []
    for name in symmetry.holds_id:
        ftype = layout.types[name]
        if not _only_tuples_of_leaves(ftype) or _has_bits(ftype):
            raise NotCompilable(
                f"symmetry: the id-holding field {name} is not an int, a OneOf, a bool or a "
                "tuple of them (bit sets, maps and bags are renamed by the Python engine only)"
            )
        holds.extend(fields[name])
    m = len(row[0]) if n else 0
    id_bits = max(1, (n - 1).bit_length())
    row_bits = sum(s.bits for s in row[0]) if n else 0
    if row_bits + id_bits > WORD_BITS:
        raise NotCompilable(
            f"symmetry: a process's per-id row takes {row_bits} bits of ranks, more than one "
            "word with its id"
        )
    holds_bits = sum(s.bits for s in holds)
    if holds_bits > WORD_BITS:
        raise NotCompilable(f"symmetry: the id-holding fields take {holds_bits} bits, over a word")

    # Scratch layout: raw leaves of each process, then order, keys, perm, best order.
    raws, order, keys, perm, best = 0, n * m, n * m + n, n * m + 2 * n, n * m + 3 * n
    lines = ["@njit(cache=True, nogil=True)", "def _canon(nb, k, sc):"]

    def line(depth: int, text: str) -> None:
        lines.append("    " * depth + text)

    for j in range(layout.words):
        line(1, f"w{j} = nb[k, {j}]")
    # The rows' keys, and their raw leaves to move.
    for i in range(n):
        parts = []
        for e, slot in enumerate(row[i]):
            line(1, f"sc[{raws + i * m + e}] = {_raw(slot)}")
            parts.append((_rank(slot, f"sc[{raws + i * m + e}]", slot.leaf.name), slot.bits))
        text = "np.int64(0)"
        for rank, bits in parts:
            text = f"(({text} << {bits}) | {rank})"
        line(1, f"c{i} = ({text} << {id_bits}) | {i}")
    for a, b in _network(n):
        line(1, f"c{a}, c{b} = min(c{a}, c{b}), max(c{a}, c{b})")
    # Every per-id leaf is rewritten; everything else keeps its bits for now.
    moved = [s for r in row for s in r] + holds
    for j in range(layout.words):
        keep = (1 << WORD_BITS) - 1
        for slot in moved:
            if slot.word == j:
                keep &= ~(slot.mask << slot.offset)
        line(1, f"o{j} = w{j} & {keep}")
    id_mask = (1 << id_bits) - 1
    for p in range(n):
        line(1, f"sc[{order + p}] = c{p} & {id_mask}")
        if holds:  # the keys tell tied processes apart
            line(1, f"sc[{keys + p}] = c{p} >> {id_bits}")
    if holds:
        values = [f"h{h}" for h in range(len(holds))]
        for h, slot in enumerate(holds):
            line(1, f"{values[h]} = {_raw(slot)}")
        line(1, "top = np.int64(-1)")
        line(1, "while True:")
        line(2, f"for p in range({n}):")
        line(3, f"sc[{perm} + sc[{order} + p]] = p")
        line(2, "key = np.int64(0)")
        for h, slot in enumerate(holds):
            for text in _renamed(slot, values[h], f"v{h}", n, perm):
                line(2, text)
            line(2, f"key = (key << {slot.bits}) | {_rank(slot, f'v{h}', slot.leaf.name)}")
        line(2, "if top < 0 or key < top:")
        line(3, "top = key")
        line(3, f"for p in range({n}):")
        line(4, f"sc[{best} + p] = sc[{order} + p]")
        line(2, f"if not _next_in_groups(sc, {order}, {keys}, {n}):")
        line(3, "break")
        line(1, f"for p in range({n}):")
        line(2, f"sc[{order} + p] = sc[{best} + p]")
        line(2, f"sc[{perm} + sc[{best} + p]] = p")
        for h, slot in enumerate(holds):
            for text in _renamed(slot, values[h], f"v{h}", n, perm):
                line(1, text)
            line(1, f"o{slot.word} |= v{h} << {slot.offset}")
    # Position p of every per-id field gets the row of the process sorted to p.
    for p in range(n):
        for e, slot in enumerate(row[p]):
            line(1, f"o{slot.word} |= sc[{raws} + sc[{order + p}] * {m} + {e}] << {slot.offset}")
    for j in range(layout.words):
        line(1, f"nb[k, {layout.words + j}] = o{j}")
    line(1, "return 0")
    return Canonicaliser(_HELPERS + "\n\n" + "\n".join(lines), max(1, n * m + 4 * n))


def _has_bits(ftype: Any) -> bool:
    if isinstance(ftype, TupleType):
        return _has_bits(ftype.element)
    return isinstance(ftype, BitsType)


def _renamed(slot: Slot, raw: str, out: str, n: int, perm: int) -> Iterator[str]:
    """Lines giving ``out``, the stored number of leaf ``raw`` with its id renamed by the
    permutation in ``sc[perm:]`` (a bool or a non-id value stays; one outside the type:
    the function returns 1)."""
    t = slot.leaf.ftype
    if isinstance(t, BoolType):
        yield f"{out} = {raw}"
        return
    if isinstance(t, IntType):
        yield f"{out} = {raw} + {t.low}"
        yield f"if 0 <= {out} < {n}:"
        yield f"    {out} = sc[{perm} + {out}]"
        yield f"    if {out} < {t.low} or {out} > {t.high}:"
        yield "        return 1"
        yield f"{out} -= {t.low}"
        return
    assert isinstance(t, EnumType)
    # Only a plain int in 0..n-1 is an id (``SymmetryDef.rename``: a bool is not).
    ids = [v if type(v) is int and 0 <= v < n else -1 for v in t.values]
    if all(i < 0 for i in ids):
        yield f"{out} = {raw}"
        return
    code_of = [next((c for c, v in enumerate(ids) if v == i), -1) for i in range(n)]
    yield f"{out} = {raw}"
    yield f"if {tuple(ids)!r}[{raw}] >= 0:"
    yield f"    {out} = {tuple(code_of)!r}[sc[{perm} + {tuple(ids)!r}[{raw}]]]"
    yield f"    if {out} < 0:"
    yield "        return 1"


def _network(n: int) -> Iterator[tuple[int, int]]:
    """Compare-exchanges that sort ``n`` values (odd-even transposition: n rounds)."""
    for round_ in range(n):
        for a in range(round_ % 2, n - 1, 2):
            yield a, a + 1


#: Stepping through the orders of tied processes (``keys`` sorted, ``order`` ascending
#: within each run of equal keys at the start): the next order, the last run fastest.
_HELPERS = """\
@njit(cache=True, nogil=True)
def _next_permutation(sc, lo, hi):
    i = hi - 2
    while i >= lo and sc[i] >= sc[i + 1]:
        i -= 1
    if i < lo:
        a, b = lo, hi - 1  # the last order: back to the first, and carry
        while a < b:
            sc[a], sc[b] = sc[b], sc[a]
            a += 1
            b -= 1
        return False
    j = hi - 1
    while sc[j] <= sc[i]:
        j -= 1
    sc[i], sc[j] = sc[j], sc[i]
    a, b = i + 1, hi - 1
    while a < b:
        sc[a], sc[b] = sc[b], sc[a]
        a += 1
        b -= 1
    return True


@njit(cache=True, nogil=True)
def _next_in_groups(sc, order, keys, n):
    end = n
    while end > 0:
        start = end - 1
        while start > 0 and sc[keys + start - 1] == sc[keys + end - 1]:
            start -= 1
        if end - start > 1 and _next_permutation(sc, order + start, order + end):
            return True
        end = start
    return False
"""
