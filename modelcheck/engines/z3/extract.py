"""Path extraction for the compiled engine: a model's behaviour as a z3-free :class:`Program`.

The compiled engine does not interpret the spec a third way: it takes what
the z3 engine's own symbolic runs find (:class:`~modelcheck.engines.z3.Encoding`
runs every action and property once per feasible path, recording each
decision) and turns it into the plain data of :mod:`modelcheck.symbolic.program`:
the decision tree of each action instance with the successors at its ends,
the tree of each property, and the conditions under which an operation's
fixed-width value is not Python's.  z3 terms become numbered nodes, shared
wherever z3 shares them.

Whatever cannot be expressed raises :class:`NotCompilable` naming the
construct; the caller then runs the Python engine and says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import z3

from modelcheck.engines.z3.encoding import Encoding, _truth
from modelcheck.engines.z3.paths import _Paths
from modelcheck.engines.z3.terms import _CTX
from modelcheck.errors import SpecError
from modelcheck.model import Model, PropertyDef
from modelcheck.symbolic import EnumType
from modelcheck.symbolic.leaves import field_leaves, numeric_values
from modelcheck.symbolic.program import (
    Branch,
    End,
    Inexact,
    Leaf,
    NotCompilable,
    Program,
    Tree,
)

#: The widest value the compiled engine computes with (its words are int64).
MAX_NODE_WIDTH = 63


_BINARY = {
    z3.Z3_OP_BSUB: "sub",
    z3.Z3_OP_BSHL: "shl",
    z3.Z3_OP_BLSHR: "lshr",
    z3.Z3_OP_BASHR: "ashr",
    z3.Z3_OP_SLEQ: "sle",
    z3.Z3_OP_SLT: "slt",
    z3.Z3_OP_SGEQ: "sge",
    z3.Z3_OP_SGT: "sgt",
    z3.Z3_OP_ULEQ: "ule",
    z3.Z3_OP_ULT: "ult",
    z3.Z3_OP_UGEQ: "uge",
    z3.Z3_OP_UGT: "ugt",
    z3.Z3_OP_BSDIV: "sdiv",
    z3.Z3_OP_BSDIV_I: "sdiv",
    z3.Z3_OP_BUDIV: "udiv",
    z3.Z3_OP_BUDIV_I: "udiv",
    z3.Z3_OP_BSREM: "srem",
    z3.Z3_OP_BSREM_I: "srem",
    z3.Z3_OP_BUREM: "urem",
    z3.Z3_OP_BUREM_I: "urem",
    z3.Z3_OP_BSMOD: "smod",
    z3.Z3_OP_BSMOD_I: "smod",
    z3.Z3_OP_IMPLIES: "implies",
    z3.Z3_OP_BSMUL_NO_OVFL: "smul_no_overflow",
    z3.Z3_OP_BSMUL_NO_UDFL: "smul_no_underflow",
}
#: Associative operators z3 may give any number of operands.
_NARY = {
    z3.Z3_OP_AND: "and",
    z3.Z3_OP_OR: "or",
    z3.Z3_OP_BADD: "add",
    z3.Z3_OP_BMUL: "mul",
    z3.Z3_OP_BAND: "band",
    z3.Z3_OP_BOR: "bor",
    z3.Z3_OP_BXOR: "bxor",
    z3.Z3_OP_XOR: "xor",
}
_UNARY = {z3.Z3_OP_NOT: "not", z3.Z3_OP_BNOT: "bnot", z3.Z3_OP_BNEG: "neg"}


class _Nodes:
    """z3 terms as numbered nodes, each term once."""

    def __init__(self, variables: dict[int, tuple[str, int]]) -> None:
        self.variables = variables  # ast id -> ("pre" | "post", leaf number)
        self.nodes: list[tuple[Any, ...]] = []
        self.numbers: dict[tuple[Any, ...], int] = {}
        # ast id -> node.  z3 reuses the id of a freed term, so every term
        # looked up is kept alive here as long as its id is.
        self.memo: dict[int, int] = {}
        self.alive: list[Any] = []

    def add(self, node: tuple[Any, ...]) -> int:
        number = self.numbers.get(node)
        if number is None:
            number = self.numbers[node] = len(self.nodes)
            self.nodes.append(node)
        return number

    def of(self, term: Any) -> int:
        # Iterative post-order walk: terms can be deep (a chain of ite per Enactor).
        stack = [(term, False)]
        while stack:
            t, ready = stack.pop()
            key = t.get_id()
            if key in self.memo:
                continue
            if not ready:
                stack.append((t, True))
                stack.extend((t.arg(i), False) for i in range(t.num_args()))
                continue
            self.memo[key] = self._node(t)
            self.alive.append(t)
        return self.memo[term.get_id()]

    def _node(self, t: Any) -> int:
        if z3.is_bool(t):
            width = 0
        elif z3.is_bv(t):
            width = t.size()
            if width > MAX_NODE_WIDTH:
                raise NotCompilable(
                    f"a {width}-bit value ({_short(t)}); the compiled engine computes with at "
                    f"most {MAX_NODE_WIDTH} bits"
                )
        else:
            raise NotCompilable(f"a value of sort {t.sort()} ({_short(t)})")
        kind = t.decl().kind()
        args = [self.memo[t.arg(i).get_id()] for i in range(t.num_args())]
        if kind == z3.Z3_OP_TRUE:
            return self.add(("const", 0, True))
        if kind == z3.Z3_OP_FALSE:
            return self.add(("const", 0, False))
        if kind == z3.Z3_OP_BNUM:
            return self.add(("const", width, _signed(t.as_long(), width)))
        if kind == z3.Z3_OP_UNINTERPRETED and not args:
            place = self.variables.get(t.get_id())
            if place is None:
                raise NotCompilable(f"an unknown variable {t}")
            return self.add((place[0], width, place[1]))
        if kind in _UNARY and len(args) == 1:
            return self.add((_UNARY[kind], width, args[0]))
        if kind in _NARY:
            node = args[0]
            for other in args[1:]:
                node = self.add((_NARY[kind], width, node, other))
            return node
        if kind in _BINARY and len(args) == 2:
            return self.add((_BINARY[kind], width, *args))
        if kind == z3.Z3_OP_ITE:
            return self.add(("ite", width, *args))
        if kind in (z3.Z3_OP_EQ, z3.Z3_OP_IFF):
            return self.add(("eq", 0, *args))
        if kind == z3.Z3_OP_DISTINCT:
            parts = [
                self.add(("not", 0, self.add(("eq", 0, a, b))))
                for i, a in enumerate(args)
                for b in args[i + 1 :]
            ]
            node = parts[0]
            for other in parts[1:]:
                node = self.add(("and", 0, node, other))
            return node
        if kind == z3.Z3_OP_EXTRACT:
            high, low = t.params()
            return self.add(("extract", width, high, low, args[0]))
        if kind == z3.Z3_OP_CONCAT:
            node, so_far = args[0], t.arg(0).size()
            for i in range(1, len(args)):
                so_far += t.arg(i).size()
                node = self.add(("concat", so_far, node, args[i]))
            return node
        if kind in (z3.Z3_OP_ZERO_EXT, z3.Z3_OP_SIGN_EXT):
            op = "zext" if kind == z3.Z3_OP_ZERO_EXT else "sext"
            return self.add((op, width, t.params()[0], args[0]))
        raise NotCompilable(f"the operation {t.decl().name()} ({_short(t)})")


def _short(t: Any) -> str:
    text = str(t)
    return text if len(text) <= 80 else text[:77] + "..."


def _signed(value: int, width: int) -> int:
    return value - (1 << width) if value >> (width - 1) & 1 else value


def _tree(
    paths: Sequence[tuple[list[tuple[Any, bool]], Any]], depth: int, cond_node: Any, end: Any
) -> Tree:
    """The decision tree of ``paths`` (each: its decisions, its result), from ``depth`` on."""
    decisions, result = paths[0]
    if len(decisions) == depth:
        if len(paths) != 1:  # pragma: no cover - the path splitter never gives this
            raise NotCompilable("two runs of one function made the same decisions")
        return End(end(result))
    cond = decisions[depth][0]
    then, otherwise = [], []
    for path in paths:
        if len(path[0]) <= depth or not path[0][depth][0].eq(cond):  # pragma: no cover
            raise NotCompilable("runs that split on different conditions at the same point")
        (then if path[0][depth][1] else otherwise).append(path)
    # A side no run took is impossible in every state of the declared types: no test.
    if not otherwise:
        return _tree(then, depth + 1, cond_node, end)
    if not then:
        return _tree(otherwise, depth + 1, cond_node, end)
    return Branch(
        cond_node(cond),
        _tree(then, depth + 1, cond_node, end),
        _tree(otherwise, depth + 1, cond_node, end),
    )


class _Extraction(Encoding):
    """The symbolic runs of :class:`Encoding`, kept per path instead of joined into formulas."""

    def __init__(self, model: Model, properties: Sequence[PropertyDef]) -> None:
        self.wanted = list(properties)
        super().__init__(model, tuple(p.name for p in properties))

    def _encode(self, model: Model, properties: tuple[str, ...] | None) -> None:
        try:
            self._register_codes()
            self.pre = self._variables("")
            self.post = self._variables("'")
            self.wf = self._well_formed(self.pre)
            self.program = self._program(model)
        finally:
            _CTX.pop()

    def _program(self, model: Model) -> Program:
        if model.constraints:
            raise NotCompilable("@constraint (state constraints)")
        variables: dict[int, tuple[str, int]] = {}
        for tag, group in (("pre", self.pre), ("post", self.post)):
            for i, var in enumerate(self.flat(group)):
                variables[var.get_id()] = (tag, i)
        self.nodes = _Nodes(variables)  # the variables stay alive in self.pre and self.post
        leaves = []
        for name, ftype in self.types.items():
            for leaf, t in field_leaves(name, ftype):
                codes = ()
                if isinstance(t, EnumType):
                    numeric = numeric_values(t.values)
                    codes = tuple(v if numeric else self.ctx.code(v) for v in t.values)
                leaves.append(Leaf(leaf, t, codes))
        pre_state = self._symbolic_state(self.pre)
        actions, inexact = [], []
        for act in model.actions:
            what = f"{model.name}.{act.family} ({act.label})"
            paths = _Paths(self.wf)
            results = paths.run(lambda act=act: self._successors_of(act, pre_state), what)

            def successors(nexts: list[Any], what: str = what) -> tuple[tuple[int, ...], ...]:
                return tuple(
                    tuple(self.nodes.of(term) for term in self._leaf_terms(t, what)) for t in nexts
                )

            actions.append((act.index, self._tree_of(paths, results, successors)))
            inexact += self._inexact(paths.wrap_list(what))
        props: dict[str, Tree] = {}
        prop_inexact: dict[str, tuple[Inexact, ...]] = {}
        for prop in self.wanted:
            paths, results = self._property_paths(prop)
            what = f"{model.name}.{prop.name}"
            props[prop.name] = self._tree_of(
                paths, results, lambda r, prop=prop: self.nodes.of(_truth(prop, r))
            )
            prop_inexact[prop.name] = tuple(self._inexact(paths.wrap_list(what)))
        return Program(
            width=self.width,
            leaves=tuple(leaves),
            nodes=tuple(self.nodes.nodes),
            actions=tuple(actions),
            properties=props,
            inexact=tuple(inexact),
            property_inexact=prop_inexact,
        )

    def _tree_of(self, paths: _Paths, results: list[tuple[Any, Any]], end: Any) -> Tree:
        runs = list(zip(paths.decisions, (r for _, r in results), strict=True))
        if not runs:  # no state of the declared types runs it to the end
            return End(end([]))
        return _tree(runs, 0, lambda c: self.nodes.of(c), end)

    def _inexact(self, wraps: list[Any]) -> list[Inexact]:
        return [Inexact(w.what, w.op, w.where, self.nodes.of(z3.simplify(w.when))) for w in wraps]


def extract(model: Model, properties: Sequence[PropertyDef]) -> Program:
    """The :class:`Program` of ``model`` with ``properties`` (any kind whose result is a bool
    of one or two states: invariant, action, terminal, recoverable, reachable)."""
    try:
        return _Extraction(model, properties).program
    except NotCompilable:
        raise
    except SpecError as exc:
        raise NotCompilable(str(exc)) from None
