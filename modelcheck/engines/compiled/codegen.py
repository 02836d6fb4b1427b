"""Python source for numba, generated from a model's :class:`~modelcheck.symbolic.program.Program`.

The generated module has one function, ``expand``, that expands a range of
stored states (one BFS chunk): it unpacks each state's leaves from its
words, checks the conditions under which an operation's fixed-width value
is not Python's, evaluates the live invariants and ``@reachable``
predicates, walks each action instance's decision tree to the successors
at its end, and admits them in order to the visited set, evaluating action
properties per step and terminal properties where nothing was enabled.
``good`` evaluates one property over all stored states (recoverability).
Under symmetry reduction each successor is also canonicalised
(:mod:`modelcheck.engines.compiled.canonical`) and the representative is
what the visited set sees.
It is the same order of work as the Python engine's loop
(:mod:`modelcheck.engines.expand`), so the states get the same numbers.

The visited set is an open-addressing table of int32 entries with linear
probing, keyed by a hash of the state's words.  In a table of ``2**k``
slots an entry is 0 (empty) or the state's row + 1 in its low ``k`` bits
(the table grows before it is 70 % full, so the row always fits) with bits
of the hash above the slot's in the free bits above them: a probe reads a
row, a random access to memory, only when that tag matches, so a lookup
reads about one row instead of two to five.  The tag costs no memory.

Values follow the node semantics of the program: a node of width ``w`` is
held as its ``w``-bit two's-complement value, sign-extended to int64;
``_sx`` re-wraps after an operation that can leave ``w`` bits.  Every
constant is written into the source (nothing is read from a global at run
time), so the source text is the whole of the kernel: it is what the disk
cache is keyed by.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from modelcheck.engines.compiled.canonical import Canonicaliser
from modelcheck.engines.compiled.layout import Layout, Slot
from modelcheck.symbolic import BitsType, BoolType, EnumType, IntType
from modelcheck.symbolic.program import Branch, End, Program, Tree

#: Status codes ``run`` and ``admit`` leave in ``ctl[STATUS]`` and ``expand`` in
#: ``out[O_STATUS]``.
DONE, GROW, MAX_STATES, FIRST_VIOLATION, OUTSIDE_TYPES, INEXACT, RENAMED_OUTSIDE = range(7)
#: Slots of the control array shared by the driver, ``run`` and ``admit``.
(
    COUNT,
    TRANSITIONS,
    STATUS,
    AT,
    TRUNCATED,
    MAX,
    FRONTIER,
    STOP_AT_FIRST,
    RECORD,
    EDGES,
    TABLE_MASK,
    GROW_AT,
    DETAIL,
    EDGE_CAP,
    END,
) = range(15)
CONTROL_SIZE = 16
#: Slots of the array in which ``expand`` says how far it got: the state it stopped
#: before, why (``DONE`` or a problem), the problem's detail, the successors it
#: wrote, how many of them were the first of their state in the part (the most that
#: can be new), and how many belong to the states before the one it stopped at
#: (the successors to admit).
O_END, O_STATUS, O_DETAIL, O_SUCC, O_NEW, O_KEEP = range(6)
OUT_SIZE = 6
#: ``expand``'s result for a successor made before in the same part is -LOCAL - that
#: one's number in the part (the other negative results are -1 and NEW).
LOCAL = 1 << 40
#: ``claim``'s result for a successor that an earlier part of the same batch made
#: first (and claimed) is -BATCH - that one's batch row.
BATCH = 1 << 50
#: ``claim``'s result for a successor it claimed: the first of a new state.
NEW = -2
#: Successors ``claim`` reads the table for at once (their cache misses overlap).
GROUP = 128

_PRELUDE = """\
import numpy as np
from numba import njit


@njit(cache=True)
def _sx(v, w):
    s = np.int64(1) << (w - 1)
    return ((v + s) & ((s << 1) - 1)) - s


@njit(cache=True)
def _sdiv(a, b, w):
    if b == 0:
        return np.int64(-1) if a >= 0 else np.int64(1)
    q = abs(a) // abs(b)
    return _sx(-q if (a < 0) != (b < 0) else q, w)


@njit(cache=True)
def _srem(a, b, w):
    if b == 0:
        return a
    r = abs(a) % abs(b)
    return -r if a < 0 else r


@njit(cache=True)
def _smod(a, b, w):
    if b == 0:
        return a
    r = _srem(a, b, w)
    if r != 0 and (r < 0) != (b < 0):
        r = _sx(r + b, w)
    return r


@njit(cache=True)
def _udiv(a, b, w):
    m = (np.int64(1) << w) - 1
    if b & m == 0:
        return np.int64(-1)
    return _sx((a & m) // (b & m), w)


@njit(cache=True)
def _urem(a, b, w):
    m = (np.int64(1) << w) - 1
    if b & m == 0:
        return a
    return _sx((a & m) % (b & m), w)


@njit(cache=True)
def _smul_fits(a, b, w, sign):
    # Whether a * b (exact) is at most 2**(w-1)-1 (sign 1) or at least -2**(w-1) (sign -1).
    if a == 0 or b == 0:
        return True
    p = a * b
    if p // a != b:  # the exact product does not fit int64: its sign is the operands'
        return ((a < 0) != (b < 0)) == (sign > 0)
    if sign > 0:
        return p <= (np.int64(1) << (w - 1)) - 1
    return p >= -(np.int64(1) << (w - 1))


@njit(cache=True)
def _mix(h, w):
    h = (h ^ w) * np.int64(-7046029254386353131)
    return h ^ (h >> 31)


@njit(cache=True)
def _range(h, rlast):
    # The table range of hash h (of rlast + 1, a power of two): the top bits of h
    # times an odd constant, which mix all of h's bits, so that the range does not
    # follow the bits of the home slot or the tag, whatever the table's size.
    return ((h * np.int64(-4658895280553007687)) >> 58) & rlast

"""


class _Emitter:
    """Lines of one function, with the nodes already computed in each enclosing block."""

    def __init__(self, program: Program, pre: Sequence[str], post: Sequence[str] | None) -> None:
        self.program = program
        self.lines: list[str] = []
        self.depth = 1
        self.scopes: list[set[int]] = [set()]
        self.pre = pre
        self.post = post

    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)

    def block(self, header: str, body: Callable[[], None]) -> None:
        self.line(header)
        self.depth += 1
        self.scopes.append(set())
        before = len(self.lines)
        body()
        if len(self.lines) == before:
            self.line("pass")
        self.scopes.pop()
        self.depth -= 1

    def value(self, number: int) -> str:
        """The Python expression of node ``number`` (emitting what it needs first)."""
        node = self.program.nodes[number]
        op = node[0]
        if op == "const":
            v = node[2]
            return repr(v) if isinstance(v, bool) or v >= 0 else f"({v})"
        if op == "pre":
            return self.pre[node[2]]
        if op == "post":
            if self.post is None:  # pragma: no cover - only action properties use post
                raise ValueError("a node over the next state outside an action property")
            return self.post[node[2]]
        name = f"n{number}"
        if not any(number in scope for scope in self.scopes):
            self.line(f"{name} = {self._expression(node)}")
            self.scopes[-1].add(number)
        return name

    def _expression(self, node: tuple[Any, ...]) -> str:
        op, w = node[0], node[1]
        nodes = self.program.nodes
        if op == "extract":
            low, a = node[3], self.value(node[4])
            return _sx(f"({a} >> {low})", w)
        if op in ("zext", "sext"):
            bits, arg = node[2], node[3]
            a = self.value(arg)
            if op == "sext" or bits == 0:
                return a
            return f"({a} & {(1 << nodes[arg][1]) - 1})"
        if op == "concat":
            a, b = self.value(node[2]), self.value(node[3])
            wa, wb = nodes[node[2]][1], nodes[node[3]][1]
            return _sx(f"((({a} & {(1 << wa) - 1}) << {wb}) | ({b} & {(1 << wb) - 1}))", w)
        args = [self.value(n) for n in node[2:]]
        if op == "not":
            return f"not {args[0]}"
        if op == "bnot":
            return f"~{args[0]}"
        if op == "neg":
            return _sx(f"(-{args[0]})", w)
        if op == "ite":
            return f"({args[1]} if {args[0]} else {args[2]})"
        a, b = args
        aw = nodes[node[2]][1]
        m = (1 << max(aw, 1)) - 1
        simple = {
            "and": lambda: f"({a} and {b})",
            "or": lambda: f"({a} or {b})",
            "xor": lambda: f"({a} != {b})",
            "implies": lambda: f"((not {a}) or {b})",
            "eq": lambda: f"({a} == {b})",
            "add": lambda: _sx(f"({a} + {b})", w),
            "sub": lambda: _sx(f"({a} - {b})", w),
            "mul": lambda: _sx(f"({a} * {b})", w),
            "band": lambda: f"({a} & {b})",
            "bor": lambda: f"({a} | {b})",
            "bxor": lambda: f"({a} ^ {b})",
            "slt": lambda: f"({a} < {b})",
            "sle": lambda: f"({a} <= {b})",
            "sgt": lambda: f"({a} > {b})",
            "sge": lambda: f"({a} >= {b})",
            # z3 shifts by the count as an unsigned number; by w or more gives 0 (or the sign).
            "shl": lambda: f"({_sx(f'({a} << ({b} & {m}))', w)} if ({b} & {m}) < {w} else 0)",
            "lshr": lambda: (
                f"({_sx(f'(({a} & {m}) >> ({b} & {m}))', w)} if ({b} & {m}) < {w} else 0)"
            ),
            "ashr": lambda: f"({a} >> min({b} & {m}, {w - 1}))",
            "sdiv": lambda: f"_sdiv({a}, {b}, {w})",
            "udiv": lambda: f"_udiv({a}, {b}, {w})",
            "srem": lambda: f"_srem({a}, {b}, {w})",
            "urem": lambda: f"_urem({a}, {b}, {w})",
            "smod": lambda: f"_smod({a}, {b}, {w})",
            "smul_no_overflow": lambda: f"_smul_fits({a}, {b}, {aw}, 1)",
            "smul_no_underflow": lambda: f"_smul_fits({a}, {b}, {aw}, -1)",
        }
        if op in simple:
            return simple[op]()
        unsigned = {"ult": "<", "ule": "<=", "ugt": ">", "uge": ">="}
        if op in unsigned:
            return f"(({a} & {m}) {unsigned[op]} ({b} & {m}))"
        raise ValueError(f"unknown node operator {op!r}")  # pragma: no cover

    def tree(self, tree: Tree, end: Callable[[Any], None]) -> None:
        if isinstance(tree, End):
            end(tree.value)
            return
        assert isinstance(tree, Branch)
        cond = self.value(tree.cond)
        self.block(f"if {cond}:", lambda: self._side(tree.then, end))
        self.block("else:", lambda: self._side(tree.otherwise, end))

    def _side(self, tree: Tree | None, end: Callable[[Any], None]) -> None:
        if tree is not None:
            self.tree(tree, end)


def _sx(text: str, w: int) -> str:
    """``text`` wrapped to a ``w``-bit two's-complement value, as inline arithmetic."""
    half = 1 << (w - 1)
    return f"((({text} + {half}) & {(1 << w) - 1}) - {half})"


def _unpack(slot: Slot, word: str) -> str:
    """The node value of a leaf, from the word that holds it."""
    raw = f"(({word} >> {slot.offset}) & {slot.mask})"
    t = slot.leaf.ftype
    if isinstance(t, BoolType):
        return f"({raw} != 0)"
    if isinstance(t, IntType):
        return f"({raw} + {t.low})"
    if isinstance(t, BitsType):
        return f"({raw} << {t.low})"
    assert isinstance(t, EnumType)
    codes = slot.leaf.codes
    if _consecutive(codes):
        return f"({raw} + {codes[0]})"
    return f"{codes!r}[{raw}]"


def _consecutive(codes: tuple[int, ...]) -> bool:
    """Whether enum codes are n, n+1, ...: then a value is stored as its code minus n."""
    return codes == tuple(range(codes[0], codes[0] + len(codes)))


def _stored_constant(slot: Slot, value: Any) -> int | None:
    """The stored number of a constant node value, or None if it is not of the leaf's type."""
    t = slot.leaf.ftype
    if isinstance(t, BoolType):
        return int(value)
    if isinstance(t, IntType):
        return value - t.low if t.low <= value <= t.high else None
    if isinstance(t, BitsType):
        declared = ((1 << (t.high + 1)) - 1) & ~((1 << t.low) - 1)
        return None if value & ~declared else value >> t.low
    codes = slot.leaf.codes
    return codes.index(value) if value in codes else None


def _same_encoding(a: Slot, b: Slot) -> bool:
    return a.leaf.ftype == b.leaf.ftype and a.leaf.codes == b.leaf.codes


def _pack(e: _Emitter, slot: Slot, value: str, fail: str) -> str:
    """Lines that check ``value`` is of the leaf's declared type; its stored bits, shifted."""
    t = slot.leaf.ftype
    if isinstance(t, BoolType):
        return f"(np.int64(1) << {slot.offset} if {value} else np.int64(0))"
    if isinstance(t, IntType):
        e.line(f"if {value} < {t.low} or {value} > {t.high}:")
        e.line(f"    {fail}")
        return f"(({value} - {t.low}) << {slot.offset})"
    if isinstance(t, BitsType):
        declared = ((1 << (t.high + 1)) - 1) & ~((1 << t.low) - 1)
        e.line(f"if {value} & {~declared}:")
        e.line(f"    {fail}")
        return f"(({value} >> {t.low}) << {slot.offset})"
    assert isinstance(t, EnumType)
    codes = slot.leaf.codes
    if _consecutive(codes):
        e.line(f"if {value} < {codes[0]} or {value} > {codes[-1]}:")
        e.line(f"    {fail}")
        return f"(({value} - {codes[0]}) << {slot.offset})"
    e.line("k_ = -1")
    for i, code in enumerate(codes):
        e.line(f"{'if' if i == 0 else 'elif'} {value} == {code}:")
        e.line(f"    k_ = {i}")
    e.line("if k_ < 0:")
    e.line(f"    {fail}")
    return f"(k_ << {slot.offset})"


class Kernel:
    """The generated source and what the driver needs to know about it."""

    def __init__(self, source: str, buffer: int, properties: tuple[str, ...], width: int) -> None:
        self.source = source
        #: The most successors one state can have (the kernel's successor buffer).
        self.buffer = buffer
        #: The properties in the order of the kernel's ``found`` array.
        self.properties = properties
        #: Columns of a successor row in ``nb``: the state's words, and under symmetry
        #: reduction its representative's words after them.
        self.width = width


def generate(
    program: Program,
    layout: Layout,
    kinds: dict[str, str],
    header: str,
    canon: Canonicaliser | None = None,
) -> Kernel:
    """The kernel module for ``program`` (``kinds``: property name -> kind, in found order).

    With ``canon`` (symmetry reduction) each successor row of ``nb`` holds the
    concrete successor and then its representative (``key`` columns on): the
    visited set looks up and stores the representative, action properties
    judge the concrete step.
    """
    words = layout.words
    key = words if canon is not None else 0
    width = words + key
    names = tuple(kinds)
    pre = [f"p{i}" for i in range(len(layout.slots))]
    post = [f"q{i}" for i in range(len(layout.slots))]
    e = _Emitter(program, pre, post)
    out = [header, _PRELUDE]

    buffer = max(1, sum(_most(tree) for _, tree in program.actions))
    numbers = _inexact_numbers(program, names)
    acting = [p for p, n in enumerate(names) if kinds[n] == "action"]
    terminals = [p for p, n in enumerate(names) if kinds[n] == "terminal"]
    judged = [(p, n) for p, n in enumerate(names) if kinds[n] in ("invariant", "reachable")]

    def evaluate(
        em: _Emitter, p: int, unsettled: str, violated_when: str, settle: list[str], stop: str
    ) -> None:
        """Where ``unsettled``, property ``p``'s value; ``settle`` lines where it settles."""
        name = names[p]

        def body() -> None:
            for offset, check in enumerate(program.property_inexact[name]):
                em.line(f"if {em.value(check.when)}:")
                em.line(f"    {stop.format(status='INEXACT', detail=numbers[name] + offset)}")
            em.line("r_ = False")
            em.tree(program.properties[name], lambda node: em.line(f"r_ = {em.value(node)}"))
            em.line(f"if {violated_when}r_:")
            for text in settle:
                em.line(f"    {text}")

        em.block(f"if {unsettled}:", body)

    def action_inexact(em: _Emitter, stop: str) -> None:
        for number, check in enumerate(program.inexact):
            em.line(f"if {em.value(check.when)}:")
            em.line(f"    {stop.format(status='INEXACT', detail=number)}")

    def probe(
        em: _Emitter, start: str, found_lines: list[str], wrap: str = "(slot + 1) & tmask"
    ) -> None:
        """The probe for row ``nb[j]`` from slot ``start``: ``found_lines`` where it is stored
        (``r`` is its row); ends with ``slot`` at the empty slot where it is not.  ``wrap``
        is the next slot (in batches the table wraps within ranges)."""
        em.line(f"slot = {start}")
        em.line("while True:")
        em.line("    t = table[slot]")
        em.line("    if t == 0:")
        em.line("        break")
        em.line("    if (t & tagmask) == tag:")
        em.line("        r = (t & tmask) - 1")
        same = " and ".join(f"states[r, {j}] == nb[j, {key + j}]" for j in range(words))
        em.line(f"        if {same}:")
        for text in found_lines:
            em.line(f"            {text}")
        em.line("            break")
        em.line(f"    slot = {wrap}")

    def store(
        em: _Emitter, extra: list[str], renamed: str = ""
    ) -> Callable[[list[str], int], None]:
        """A sink writing each successor into ``nb[k]`` (and with ``renamed``, the line
        run where its renaming leaves the declared types, its representative after it)."""

        def sink(words_of: list[str], index: int) -> None:
            for j, text in enumerate(words_of):
                em.line(f"nb[k, {j}] = {text}")
            if canon is not None and renamed:
                em.line("if _canon(nb, k, sc) != 0:")
                em.line(f"    {renamed}")
            em.line(f"bact[k] = {index}")
            for text in extra:
                em.line(text)
            em.line("k += 1")

        return sink

    # --- run: a range of states on one core (successors admitted as they are made) ---
    e.depth = 0
    e.line("@njit(cache=True)")
    e.line("def run(states, table, ctl, found, found_succ, offsets, targets, acts):")
    e.depth = 1
    e.line(f"nb = np.empty(({buffer}, {width}), np.int64)")
    e.line(f"bact = np.empty({buffer}, np.int64)")
    if canon is not None:
        e.line(f"sc = np.empty({canon.scratch}, np.int64)")
    _admission_locals(e)
    e.line("for i in range(ctl[AT], ctl[END]):")
    e.depth = 2
    e.line(f"if count + {buffer} > ctl[GROW_AT] or (record and edges + {buffer} > ctl[EDGE_CAP]):")
    e.line("    ctl[STATUS] = GROW")
    e.line("    break")
    _unpack_row(e, layout, "states[i, {j}]", "w", "p")
    stop = f"ctl[STATUS] = {{status}}; ctl[DETAIL] = {{detail}}; ctl[AT] = i; {_SAVE}; return"
    action_inexact(e, stop)
    e.line("settled = 0")
    for p, name in judged:
        settle = [f"found[{p}] = i"] + (["settled += 1"] if kinds[name] == "invariant" else [])
        invariant = kinds[name] == "invariant"
        evaluate(e, p, f"found[{p}] == -1", "not " if invariant else "", settle, stop)
    e.line("if record:")
    e.line("    offsets[i] = edges")
    e.line("k = 0")
    renamed = stop.format(status="RENAMED_OUTSIDE", detail="0")
    _successors(
        e,
        program,
        layout,
        stop.format(status="OUTSIDE_TYPES", detail="{k}"),
        store(e, [], renamed),
    )
    e.line("for j in range(k):")
    e.depth = 3
    e.line("n += 1")
    _hash(e, words, "nb[j, {j}]", key)
    e.line("idx = -1")
    probe(e, "h & tmask", ["idx = r"])
    e.line("if idx < 0:")
    e.depth = 4
    _insert(e, words, "i", key=key)
    e.depth = 3
    if acting:
        _unpack_row(e, layout, "nb[j, {j}]", "u", "q")
        for p in acting:
            settle = [f"found[{p}] = i"]
            settle += [f"found_succ[{p}, {j}] = nb[j, {j}]" for j in range(words)]
            evaluate(e, p, f"found[{p}] == -1", "not ", [*settle, "settled += 1"], stop)
    _record_edge(e)
    e.depth = 2
    if terminals:

        def no_successors() -> None:
            for p in terminals:
                settle = [f"found[{p}] = i", "settled += 1"]
                evaluate(e, p, f"found[{p}] == -1", "not ", settle, stop)

        e.block("if k == 0:", no_successors)
    _stop_at_first(e)
    e.line("ctl[AT] = i + 1")
    e.depth = 1
    e.line(_SAVE)
    out.append("\n".join(e.lines))

    def each_state(em: _Emitter, halt: str, canonicalise: bool = False) -> None:
        """The loop over states ``lo..hi`` of a part, up to its successors in ``nb``: each
        state's properties flagged in ``sflags`` (``d<p>``: property p settled, by the
        search so far or in this part), each state's first successor in ``sstart``; with
        ``canonicalise`` (and symmetry reduction), each successor's representative."""
        for p in range(len(names)):
            em.line(f"d{p} = found[{p}] != -1")
        em.line("out[O_STATUS] = DONE")
        em.line("for i in range(lo, hi):")
        em.depth = 2
        em.line("s = i - lo")
        em.line("sstart[s] = k")
        _unpack_row(em, layout, "states[i, {j}]", "w", "p")
        action_inexact(em, halt)
        for p, name in judged:
            em.line(f"sflags[s, {p}] = False")
            invariant = kinds[name] == "invariant"
            flag = [f"sflags[s, {p}] = True", f"d{p} = True"]
            evaluate(em, p, f"not d{p}", "not " if invariant else "", flag, halt)
        em.line("m0 = k")
        outside = halt.format(status="OUTSIDE_TYPES", detail="{k}")
        renamed = halt.format(status="RENAMED_OUTSIDE", detail="0") if canonicalise else ""
        _successors(em, program, layout, outside, store(em, [], renamed))

    # --- expand: one part of a level, for the batched search ---
    # It reads the states and ``found`` and writes only its own buffers: each
    # successor, whether it was made before in the part (the part's own small set,
    # in the cache: sibling states reach the same successor by two orders of two
    # steps) and where each property settles.  Whether a successor is stored is
    # ``claim``'s to say; past --max-depth (nothing is stored, so the table does not
    # change) the part looks its successors up itself, since only the steps to
    # stored states are taken.
    x = _function(
        program,
        pre,
        post,
        "expand(states, table, tmask, rshift, rlast, found, lo, hi, frontier, "
        "nb, bact, res, local, used, nlocal, sstart, sflags, aflags, out, rlist, rcount)",
    )
    x.line("tagmask = TAG_BITS & ~tmask")
    x.line("rmask = (np.int64(1) << rshift) - 1")
    x.line("lmask = len(local) - 1")
    if canon is not None:
        x.line(f"sc = np.empty({canon.scratch}, np.int64)")
    x.line("for q in range(nlocal[0]):  # the thread's set, emptied of its last part")
    x.line("    local[used[q]] = 0")
    x.line("nl = 0")
    x.line("nlocal[0] = 0")
    x.line("k = 0")
    x.line("fresh = 0")
    x.line("rcount[:] = 0")
    halt = (
        "out[O_STATUS] = {status}; out[O_DETAIL] = {detail}; out[O_END] = i; "
        "out[O_SUCC] = k; out[O_NEW] = fresh; out[O_KEEP] = sstart[i - lo]; return"
    )
    each_state(x, halt, canonicalise=True)
    x.line("for j in range(m0, k):")
    x.depth = 3
    _hash(x, words, "nb[j, {j}]", key)
    x.line("ls = (h >> 40) & lmask")
    x.line("first = -1")
    x.line("while True:")
    x.line("    v = local[ls]")
    x.line("    if v == 0:")
    x.line("        break")
    same_local = " and ".join(f"nb[v - 1, {key + j}] == nb[j, {key + j}]" for j in range(words))
    x.line(f"    if {same_local}:")
    x.line("        first = v - 1")
    x.line("        break")
    x.line("    ls = (ls + 1) & lmask")
    x.line("if first >= 0:")
    # Past --max-depth a step to a stored state is taken: the first one's row.
    x.line("    res[j] = res[first] if frontier and res[first] >= 0 else -LOCAL - first")
    x.line("else:")
    x.depth = 4
    x.line("local[ls] = j + 1")
    x.line("used[nl] = ls")
    x.line("nl += 1")
    x.line("nlocal[0] = nl")
    x.line("res[j] = -1")
    x.line("fresh += 1")
    x.line("rg = _range(h, rlast)")
    x.line("if frontier:")
    x.depth = 5
    x.line("base = rg << rshift")
    probe(x, "base | (h & rmask)", ["res[j] = r"], wrap="base | ((slot + 1) & rmask)")
    x.depth = 4
    x.line("else:  # claim's to look up, by the owner of its range")
    x.line("    rlist[rg, rcount[rg]] = j")
    x.line("    rcount[rg] += 1")
    x.depth = 3
    if acting:
        for p in acting:
            x.line(f"aflags[j, {p}] = False")

        def step() -> None:
            _unpack_row(x, layout, "nb[j, {j}]", "u", "q")
            for p in acting:
                flag = [f"aflags[j, {p}] = True", f"d{p} = True"]
                evaluate(x, p, f"not d{p}", "not ", flag, halt)

        # A step to a state past --max-depth is not taken, so it is not judged.
        x.block("if res[j] >= 0 or not frontier:", step)
    x.depth = 2
    if terminals:

        def part_no_successors() -> None:
            for p in terminals:
                flag = [f"sflags[s, {p}] = True", f"d{p} = True"]
                evaluate(x, p, f"not d{p}", "not ", flag, halt)

        for p in terminals:
            x.line(f"sflags[s, {p}] = False")
        x.block("if k == m0:", part_no_successors)
    x.depth = 1
    x.line("sstart[hi - lo] = k")
    x.line("out[O_END] = hi; out[O_SUCC] = k; out[O_NEW] = fresh; out[O_KEEP] = k")
    out.append("\n".join(x.lines))

    # --- claim: a batch's new successors, for the workers that own their table ranges ---
    # The table is cut into ranges (of which a state's hash picks one), and a probe
    # wraps within its range, so each range has one writer.  Each worker takes its
    # ranges' successors (``expand`` listed them per range), part by part in order:
    # a stored one gets its row, the first of a new one an entry marked by a row past
    # the stored ones (count + its batch row), which ``number`` then numbers in BFS
    # order; the worker writes the final rows into its entries at its next call.
    c = _function(
        program,
        pre,
        post,
        "claim(states, count, table, tmask, rshift, first, last, nb, res, rowof, slots, "
        "outs, cap, nparts, rlists, rcounts, fill, news, pending, npending)",
    )
    c.line("tagmask = TAG_BITS & ~tmask")
    c.line("rmask = (np.int64(1) << rshift) - 1")
    c.line("for m in range(npending[0]):  # the last batch's new states: their rows")
    c.line("    slot = pending[m, 1]")
    c.line("    table[slot] = (table[slot] & tagmask) | (rowof[pending[m, 0]] + 1)")
    c.line("np_ = 0")
    c.line(f"hs = np.empty({GROUP}, np.int64)")
    c.line(f"js = np.empty({GROUP}, np.int64)")
    c.line(f"ts = np.empty({GROUP}, np.int64)")
    c.line("touched = np.int64(0)")
    c.line("for rg in range(first, last):")
    c.depth = 2
    c.line("base = rg << rshift")
    c.line("for part in range(nparts):")
    c.depth = 3
    c.line("off = part * cap")
    c.line("keep = outs[part, O_KEEP]")
    c.line("q = 0")
    c.line("n_ = rcounts[part, rg]")
    c.line("while q < n_:")
    c.depth = 4
    # A group of successors, then their first slots and rows read with no branch on
    # them in between (the reads miss the cache, and overlap), then the probes in
    # order, which find those lines in the cache.
    c.line("g = 0")
    c.line(f"while q < n_ and g < {GROUP}:")
    c.line("    j = rlists[part, rg, q]")
    c.line("    q += 1")
    c.line("    if j < keep:")
    c.depth = 6
    c.line("J = off + j")
    _hash(c, words, "nb[J, {j}]", key)
    c.line("hs[g] = h")
    c.line("js[g] = J")
    c.line("g += 1")
    c.depth = 4
    c.line("for e in range(g):")
    c.line("    ts[e] = table[base | (hs[e] & rmask)]")
    c.line("for e in range(g):")
    c.line("    t = ts[e]")
    c.line("    if t != 0 and (t & tagmask) == ((hs[e] >> 32) & tagmask):")
    c.line("        r = (t & tmask) - 1")
    c.line("        if r < count:")
    c.line("            touched += states[r, 0]")
    c.line("for e in range(g):")
    c.depth = 5
    c.line("J = js[e]")
    c.line("h = hs[e]")
    c.line("tag = (h >> 32) & tagmask")
    c.line("slot = base | (h & rmask)")
    c.line("while True:")
    c.line("    t = table[slot]")
    c.line("    if t == 0:")
    c.line("        break")
    c.line("    if (t & tagmask) == tag:")
    c.line("        r = (t & tmask) - 1")
    c.line("        if r < count:")
    same = " and ".join(f"states[r, {j}] == nb[J, {key + j}]" for j in range(words))
    c.line(f"            if {same}:")
    c.line("                res[J] = r")
    c.line("                break")
    c.line("        else:")
    same = " and ".join(f"nb[r - count, {key + j}] == nb[J, {key + j}]" for j in range(words))
    c.line(f"            if {same}:")
    c.line("                res[J] = -BATCH - (r - count)")
    c.line("                break")
    c.line("    slot = base | ((slot + 1) & rmask)")
    c.line("if res[J] == -1:")
    c.line("    table[slot] = tag | (count + J + 1)")
    c.line("    res[J] = NEW")
    c.line("    slots[J] = slot")
    c.line("    pending[np_, 0] = J")
    c.line("    pending[np_, 1] = slot")
    c.line("    np_ += 1")
    c.line("    fill[rg] += 1")
    c.line("    news[part] += 1")
    c.depth = 3
    c.line("if outs[part, O_STATUS] != DONE:")
    c.line("    break")
    c.depth = 1
    c.line("npending[0] = np_")
    c.line("return touched")
    out.append("\n".join(c.lines))

    # --- number: a claimed part's new states, from a given row (a part of a batch in
    # which nothing stops the search, so each part's first row is known); their
    # entries in the table get the rows at their owner's next ``claim`` ---
    u = _function(program, pre, post, "number(states, row, lo, hi, nb, res, rowof)")
    u.line("for J in range(lo, hi):")
    u.line("    if res[J] == NEW:")
    for j in range(words):
        u.line(f"        states[row, {j}] = nb[J, {key + j}]")
    u.line("        rowof[J] = row")
    u.line("        row += 1")
    u.line("return row")
    out.append("\n".join(u.lines))

    # --- admit: an expanded, claimed part's successors, in order ---
    a = _function(
        program,
        pre,
        post,
        "admit(states, table, ctl, found, found_succ, offsets, targets, acts, "
        "lo, end, off, nb, bact, res, rowof, slots, sstart, sflags, aflags)",
    )
    _admission_locals(a)
    a.line("for i in range(lo, end):")
    a.depth = 2
    a.line("s = i - lo")
    a.line("settled = 0")
    for p, name in judged:
        a.line(f"if sflags[s, {p}] and found[{p}] == -1:")
        a.line(f"    found[{p}] = i")
        if kinds[name] == "invariant":  # a witness does not stop the search
            a.line("    settled += 1")
    a.line("if record:")
    a.line("    offsets[i] = edges")
    a.line("for J in range(off + sstart[s], off + sstart[s + 1]):")
    a.depth = 3
    a.line("n += 1")
    a.line("idx = res[J]")
    a.line("if idx < 0:")
    a.depth = 4
    a.line("if frontier:  # past --max-depth: not stored, and the step is not taken")
    a.line("    truncated = 1")
    a.line("    continue")
    a.line("if idx <= -BATCH:  # claimed first in an earlier part of the batch")
    a.line("    idx = rowof[-idx - BATCH]")
    a.line("elif idx <= -LOCAL:  # made before in this part: the first one's row")
    a.line("    idx = rowof[off - idx - LOCAL]")
    a.line("else:  # claimed: a new state, numbered here in BFS order")
    a.depth = 5
    a.line("if limit >= 0 and count >= limit:")
    a.line(f"    ctl[STATUS] = MAX_STATES; ctl[AT] = i; {_SAVE}")
    a.line("    return")
    for j in range(words):
        a.line(f"states[count, {j}] = nb[J, {key + j}]")
    a.line("slot = slots[J]")
    a.line("table[slot] = (table[slot] & tagmask) | (count + 1)")
    a.line("idx = count")
    a.line("count += 1")
    a.depth = 3
    a.line("rowof[J] = idx")
    for p in acting:
        a.line(f"if aflags[J, {p}] and found[{p}] == -1:")
        a.line(f"    found[{p}] = i")
        for j in range(words):
            a.line(f"    found_succ[{p}, {j}] = nb[J, {j}]")
        a.line("    settled += 1")
    a.line("if record:")
    a.line("    targets[edges] = idx")
    a.line("    acts[edges] = bact[J]")
    a.line("    edges += 1")
    a.depth = 2
    if terminals:
        a.line("if sstart[s + 1] == sstart[s]:")
        for p in terminals:
            a.line(f"    if sflags[s, {p}] and found[{p}] == -1:")
            a.line(f"        found[{p}] = i")
            a.line("        settled += 1")
    _stop_at_first(a)
    a.depth = 1
    a.line(f"ctl[AT] = end; {_SAVE}")
    out.append("\n".join(a.lines))

    # --- spread: a shard's states of one level and their successors (the cluster engine) ---
    # No visited set here: the successors go to the shards that own them, which admit
    # them (``place``).  Each state's and each step's property flags are kept; with
    # ``settle`` an action property is judged only up to its first violation in the
    # range (every step is taken), without it on every step (past --max-depth, where
    # only the owner knows which steps are taken).
    y = _function(
        program,
        pre,
        post,
        "spread(states, lo, hi, found, settle, nb, bact, sstart, sflags, aflags, out)",
    )
    y.line("k = 0")
    halt_spread = (
        "out[O_STATUS] = {status}; out[O_DETAIL] = {detail}; out[O_END] = i; "
        "out[O_SUCC] = k; return"
    )
    each_state(y, halt_spread)
    if acting:
        y.line("for j in range(m0, k):")
        y.depth = 3
        for p in acting:
            y.line(f"aflags[j, {p}] = False")
        _unpack_row(y, layout, "nb[j, {j}]", "u", "q")
        for p in acting:
            flag = [f"aflags[j, {p}] = True", "if settle:", f"    d{p} = True"]
            evaluate(y, p, f"not d{p}", "not ", flag, halt_spread)
        y.depth = 2
    if terminals:

        def spread_no_successors() -> None:
            for p in terminals:
                flag = [f"sflags[s, {p}] = True", f"d{p} = True"]
                evaluate(y, p, f"not d{p}", "not ", flag, halt_spread)

        for p in terminals:
            y.line(f"sflags[s, {p}] = False")
        y.block("if k == m0:", spread_no_successors)
    y.depth = 1
    y.line("sstart[hi - lo] = k")
    y.line("out[O_END] = hi; out[O_SUCC] = k")
    out.append("\n".join(y.lines))

    # --- place: rows sent to a shard, in the given order, into its visited set ---
    z = _function(
        program, pre, post, "place(states, table, tmask, count, nb, order, frontier, rows, fresh)"
    )
    z.line("tagmask = TAG_BITS & ~tmask")
    z.line("for q in range(len(order)):")
    z.depth = 2
    z.line("j = order[q]")
    _hash(z, words, "nb[j, {j}]")
    z.line("idx = -1")
    z.line("fresh[q] = False")
    probe(z, "h & tmask", ["idx = r"])
    z.line("if idx < 0:")
    z.line("    if frontier:  # past --max-depth: not stored, and the step is not taken")
    z.line("        rows[q] = -1")
    z.line("        continue")
    for j in range(words):
        z.line(f"    states[count, {j}] = nb[j, {j}]")
    z.line("    table[slot] = tag | (count + 1)")
    z.line("    idx = count")
    z.line("    fresh[q] = True")
    z.line("    count += 1")
    z.line("rows[q] = idx")
    z.depth = 1
    z.line("return count")
    out.append("\n".join(z.lines))

    # --- find: the first state of a range that has a given row as a successor ---
    f = _function(program, pre, None, "find(states, row, lo, hi)")
    if canon is not None:
        f.line(f"nb = np.empty((1, {width}), np.int64)")
        f.line(f"sc = np.empty({canon.scratch}, np.int64)")
    f.line("for i in range(lo, hi):")
    f.depth = 2
    _unpack_row(f, layout, "states[i, {j}]", "w", "p")

    def compare(words_of: list[str], index: int) -> None:
        if canon is not None:  # the stored row is a representative: compare with one
            for j, text in enumerate(words_of):
                f.line(f"nb[0, {j}] = {text}")
            f.line("if _canon(nb, 0, sc) != 0:")
            f.line("    return -2")
            words_of = [f"nb[0, {key + j}]" for j in range(words)]
        hit = " and ".join(f"states[row, {j}] == {text}" for j, text in enumerate(words_of))
        f.line(f"if {hit}:")
        f.line("    return i")

    # The states before a stored row's parent were all expanded without trouble.
    _successors(f, program, layout, "return -2", compare)
    f.depth = 1
    f.line("return -1")
    out.append("\n".join(f.lines))

    # --- good: one property over every stored state ---
    g = _Emitter(program, pre, None)
    g.depth = 0
    g.line("@njit(cache=True)")
    g.line("def good(states, count, which, out):")
    g.depth = 1
    g.line("for i in range(count):")
    g.depth = 2
    _unpack_row(g, layout, "states[i, {j}]", "w", "p")
    for p, name in enumerate(names):
        if kinds[name] not in ("recoverable",):
            continue

        def body(name: str = name) -> None:
            for check in program.property_inexact[name]:
                g.line(f"if {g.value(check.when)}:")
                g.line("    return i")
            g.line("r_ = False")
            g.tree(program.properties[name], lambda node: g.line(f"r_ = {g.value(node)}"))
            g.line("out[i] = r_")

        g.block(f"if which == {p}:", body)
    g.depth = 1
    g.line("return -1")
    out.append("\n".join(g.lines))

    # --- rehash: the table after it grows ---
    out.append(
        "\n".join(
            [
                "@njit(cache=True, nogil=True)",
                "def rehash_ranges(states, count, table, tmask, rshift, rlast, first, last, fill):",
                "    # In groups: the home slots of a group are read first, with no branch on",
                "    # them (their cache misses overlap), then the group is inserted.",
                "    rmask = (np.int64(1) << rshift) - 1",
                f"    hs = np.empty({GROUP}, np.int64)",
                f"    rows = np.empty({GROUP}, np.int64)",
                "    touched = np.int64(0)",
                "    i = 0",
                "    while i < count:",
                "        g = 0",
                f"        while i < count and g < {GROUP}:",
                "            h = np.int64(0)",
                *(f"            h = _mix(h, states[i, {j}])" for j in range(words)),
                "            rg = _range(h, rlast)",
                "            if rg >= first and rg < last:",
                "                hs[g] = h",
                "                rows[g] = i",
                "                g += 1",
                "            i += 1",
                "        for q in range(g):",
                "            h = hs[q]",
                "            touched += table[(_range(h, rlast) << rshift) | (h & rmask)]",
                "        for q in range(g):",
                "            h = hs[q]",
                "            rg = _range(h, rlast)",
                "            base = rg << rshift",
                "            slot = base | (h & rmask)",
                "            while table[slot] != 0:",
                "                slot = base | ((slot + 1) & rmask)",
                "            table[slot] = ((h >> 32) & TAG_BITS & ~tmask) | (rows[q] + 1)",
                "            fill[rg] += 1",
                "    return touched",
                "",
                "",
                "@njit(cache=True, nogil=True)",
                "def rehash(states, count, table, tmask):",
                "    # One range: the whole table (a probe wraps at its end).",
                "    bits = 0",
                "    while (np.int64(1) << bits) <= tmask:",
                "        bits += 1",
                "    fill = np.zeros(1, np.int64)",
                "    rehash_ranges(states, count, table, tmask, bits, 0, 0, 1, fill)",
            ]
        )
    )
    constants = "\n".join(
        f"{name} = {globals()[name]}"
        for name in (
            "DONE",
            "GROW",
            "MAX_STATES",
            "FIRST_VIOLATION",
            "OUTSIDE_TYPES",
            "INEXACT",
            "RENAMED_OUTSIDE",
            "COUNT",
            "TRANSITIONS",
            "STATUS",
            "AT",
            "TRUNCATED",
            "MAX",
            "FRONTIER",
            "STOP_AT_FIRST",
            "RECORD",
            "EDGES",
            "TABLE_MASK",
            "GROW_AT",
            "DETAIL",
            "EDGE_CAP",
            "END",
            "O_END",
            "O_STATUS",
            "O_DETAIL",
            "O_SUCC",
            "O_NEW",
            "O_KEEP",
            "LOCAL",
            "BATCH",
            "NEW",
        )
    )
    constants += "\nTAG_BITS = np.int64(0x7FFFFFFF)"
    out.insert(2, constants + "\n")
    if canon is not None:
        out.insert(3, canon.source)
    return Kernel("\n\n\n".join(out) + "\n", buffer, names, width)


#: Lines that hand the admission's running totals back in ``ctl``.
_SAVE = "ctl[COUNT] = count; ctl[TRANSITIONS] += n; ctl[EDGES] = edges; ctl[TRUNCATED] = truncated"


def _function(
    program: Program, pre: Sequence[str], post: Sequence[str] | None, signature: str
) -> _Emitter:
    """An emitter of one GIL-free kernel function (``signature``: its name and
    parameters), at the start of its body."""
    em = _Emitter(program, pre, post)
    em.depth = 0
    em.line("@njit(cache=True, nogil=True)")
    em.line(f"def {signature}:")
    em.depth = 1
    return em


def _admission_locals(e: _Emitter) -> None:
    e.line("count = ctl[COUNT]")
    e.line("edges = ctl[EDGES]")
    e.line("tmask = ctl[TABLE_MASK]")
    e.line("tagmask = TAG_BITS & ~tmask")
    e.line("n = np.int64(0)")
    e.line("truncated = ctl[TRUNCATED]")
    e.line("frontier = ctl[FRONTIER] != 0")
    e.line("record = ctl[RECORD] != 0")
    e.line("limit = ctl[MAX]")
    e.line("ctl[STATUS] = DONE")


def _insert(e: _Emitter, words: int, at: str, frontier: bool = True, key: int = 0) -> None:
    """Lines that store ``nb[j]`` (its columns from ``key``) as a new state at ``slot``
    (the probe missed)."""
    if frontier:
        e.line("if frontier:  # past --max-depth: not stored, and the step is not taken")
        e.line("    truncated = 1")
        e.line("    continue")
    e.line("if limit >= 0 and count >= limit:")
    e.line(f"    ctl[STATUS] = MAX_STATES; ctl[AT] = {at}; {_SAVE}")
    e.line("    return")
    for j in range(words):
        e.line(f"states[count, {j}] = nb[j, {key + j}]")
    e.line("table[slot] = tag | (count + 1)")
    e.line("idx = count")
    e.line("count += 1")


def _record_edge(e: _Emitter) -> None:
    e.line("if record:")
    e.line("    targets[edges] = idx")
    e.line("    acts[edges] = bact[j]")
    e.line("    edges += 1")


def _stop_at_first(e: _Emitter) -> None:
    e.line("if settled and ctl[STOP_AT_FIRST]:")
    e.line(f"    ctl[STATUS] = FIRST_VIOLATION; ctl[AT] = i + 1; {_SAVE}")
    e.line("    return")


def _inexact_numbers(program: Program, names: tuple[str, ...]) -> dict[str, int]:
    """The number of each property's first inexact check (the actions' come first)."""
    numbers = {}
    number = len(program.inexact)
    for name in names:
        numbers[name] = number
        number += len(program.property_inexact[name])
    return numbers


def _unpack_row(e: _Emitter, layout: Layout, word: str, w: str, leaf: str) -> None:
    """Lines that load a row's words (``word`` with ``{j}``) and unpack its leaves."""
    for j in range(layout.words):
        e.line(f"{w}{j} = {word.format(j=j)}")
    for i, slot in enumerate(layout.slots):
        e.line(f"{leaf}{i} = {_unpack(slot, f'{w}{slot.word}')}")


def _hash(e: _Emitter, words: int, word: str, key: int = 0) -> None:
    """Lines that hash a row (its columns from ``key``) into ``h`` and take its tag
    (``tagmask`` must be set)."""
    e.line("h = np.int64(0)")
    for j in range(words):
        e.line(f"h = _mix(h, {word.format(j=key + j)})")
    e.line("tag = (h >> 32) & tagmask")


def _successors(
    e: _Emitter,
    program: Program,
    layout: Layout,
    fail: str,
    sink: Callable[[list[str], int], None],
) -> None:
    """Each action instance's decision tree, handing every successor's words to ``sink``.

    A leaf's next value is checked against its declared type (``fail``, with
    ``{k}`` for the leaf's number, where it is not); an unchanged leaf keeps
    its bits, a constant or a copy of another leaf is packed without code.
    """
    words = layout.words
    for index, tree in program.actions:

        def end(successors: Any, index: int = index) -> None:
            for succ in successors:
                parts: list[list[str]] = [[] for _ in range(words)]
                keep = [0] * words
                for k, (slot, node) in enumerate(zip(layout.slots, succ, strict=True)):
                    failed = fail.format(k=k)
                    op, _, *operands = program.nodes[node]
                    if op == "pre" and operands[0] == k:
                        keep[slot.word] |= slot.mask << slot.offset  # unchanged
                    elif op == "const":
                        stored = _stored_constant(slot, operands[0])
                        if stored is None:
                            e.line(failed)
                        elif stored:
                            parts[slot.word].append(str(stored << slot.offset))
                    elif op == "pre" and _same_encoding(layout.slots[operands[0]], slot):
                        other = layout.slots[operands[0]]  # a copy of another leaf's bits
                        raw = f"((w{other.word} >> {other.offset}) & {other.mask})"
                        parts[slot.word].append(f"({raw} << {slot.offset})")
                    else:
                        e.line(f"v_ = {e.value(node)}")
                        e.line(f"x{k} = {_pack(e, slot, 'v_', failed)}")
                        parts[slot.word].append(f"x{k}")
                texts = []
                for j in range(words):
                    terms = [f"(w{j} & {keep[j]})"] if keep[j] else []
                    terms += parts[j]
                    texts.append(" | ".join(terms) if terms else "np.int64(0)")
                sink(texts, index)

        e.line(f"# action {index}")
        e.tree(tree, end)


def _most(tree: Tree | None) -> int:
    """The most successors any path of an action's tree gives."""
    if tree is None:
        return 0
    if isinstance(tree, End):
        return len(tree.value)
    return max(_most(tree.then), _most(tree.otherwise))
