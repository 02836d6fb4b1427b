"""A model as z3 formulas: states, actions, constraints and properties.

* every field leaf becomes a z3 variable (``Bool`` for a bool, a ``W``-bit
  vector otherwise), with the declared types as the well-formedness formula;
* a map field (``MapOf``) is a "has a value" bool and the value's leaves per
  declared key, a bag (``BagOf``) a count per declared element; while the
  spec runs they are the symbolic maps and bags of
  :mod:`modelcheck.engines.z3.containers`;
* an action instance becomes ``OR(path condition AND next = result)``, with
  ``act = index`` naming it, so a model of the formula says which action
  each step took.

The formulas are templates over ``pre``/``post`` variables; the helpers at
the end put them at step ``j`` of an unrolled run.
"""

from __future__ import annotations

from typing import Any

import z3

from modelcheck.containers import Bag, FrozenMap
from modelcheck.engines.z3.containers import SymbolicBag, SymbolicMap
from modelcheck.engines.z3.paths import _Paths
from modelcheck.engines.z3.terms import _CTX, Sym, _bv, _Context, _ctx, _Wrap
from modelcheck.errors import SpecError
from modelcheck.model import (
    ActionInstance,
    ConstraintDef,
    Model,
    PropertyDef,
    not_a_bool,
    returned,
)
from modelcheck.symbolic import (
    BagType,
    BitsType,
    BoolType,
    EnumType,
    FieldType,
    IntType,
    MapType,
    SubsetError,
    TupleType,
    field_types,
)
from modelcheck.symbolic.leaves import absent_value, field_leaves, numeric_values


def _bits_needed(ftype: FieldType) -> int:
    if isinstance(ftype, IntType):
        return max(abs(ftype.low), abs(ftype.high)).bit_length() + 1
    if isinstance(ftype, BitsType):
        return ftype.high + 2
    if isinstance(ftype, TupleType):
        return _bits_needed(ftype.element)
    if isinstance(ftype, MapType):
        return _bits_needed(ftype.value)
    if isinstance(ftype, BagType):
        # Room to count every copy of every element (total() adds them up).
        return (ftype.copies * len(ftype.elements)).bit_length() + 1
    if isinstance(ftype, EnumType):
        if numeric_values(ftype.values):
            return max(abs(v) for v in ftype.values).bit_length() + 1
        return len(ftype.values).bit_length() + 1
    return 1


def _declared(ftype: Any) -> str:
    """A resolved field type as the spec would write it, for messages."""
    if isinstance(ftype, BitsType):
        return f"Bits({ftype.low}, {ftype.high})"
    if isinstance(ftype, IntType):
        return f"Range({ftype.low}, {ftype.high})"
    if isinstance(ftype, TupleType):
        return f"Each({ftype.length}, {_declared(ftype.element)})"
    return type(ftype).__name__


#: The widest bit-vector the engine builds.  Wider values (a ``Bits`` set of
#: thousands of members, say) make z3 slow long before they make it wrong.
MAX_WIDTH = 1024
#: The name under which violations of the declared field types are reported.
DECLARED_TYPES = "declared_types"


class Encoding:
    """A model as z3 formulas over state variables (templates, substituted per step)."""

    def __init__(self, model: Model, properties: tuple[str, ...] | None = None) -> None:
        self.model = model
        self.state_class = type(model.initial_states[0])
        if not hasattr(self.state_class, "_fields"):
            raise SubsetError(
                f"{model.name}: the symbolic engine needs states that are modelcheck.State "
                "records with annotated fields"
            )
        self.types = field_types(self.state_class, model.spec)
        margin = 4  # room for intermediate values such as latest + 1 or 1 << (x + 1)
        needs = {name: _bits_needed(t) for name, t in self.types.items()}
        needed = max([*needs.values(), 8])
        if needed > MAX_WIDTH:
            widest = max(needs, key=lambda name: needs[name])
            raise SpecError(
                f"{model.name}: field {widest!r} needs {needed:,}-bit values at these "
                f"parameters ({_declared(self.types[widest])}), and the symbolic engine "
                f"works with at most {MAX_WIDTH:,} bits per value. Check smaller parameters "
                "symbolically, or use `modelcheck check` (explicit search) at this size."
            )
        self.width = needed + margin
        self.ctx = _Context(self.width)
        _CTX.append(self.ctx)
        with self.ctx.guard.active():
            self._encode(model, properties)

    def _encode(self, model: Model, properties: tuple[str, ...] | None) -> None:
        try:
            self._register_codes()
            self.pre = self._variables("")
            self.post = self._variables("'")
            self.act = z3.Int("act")
            self.wf = self._well_formed(self.pre)
            self.initials = [self._equals_state(self.pre, s) for s in model.initial_states]
            self.init = z3.Or(self.initials)
            #: Operations of the actions that may not compute Python's value (over ``pre``).
            self.wraps: list[_Wrap] = []
            #: The same for evaluating each property (over ``pre``, and ``post`` for actions).
            self.property_wraps: dict[str, list[_Wrap]] = {}
            #: Every @constraint over ``pre`` (true when there is none).
            self.constraint = self._constraint()
            self.transition, self.enabled = self._transition()
            if model.constraints:
                # As in every engine, a state outside the constraint is not
                # extended: a path leaves only states inside it.
                self.transition = z3.And(self.constraint, self.transition)
            # Only the properties asked for: one outside the subset that is not
            # asked for must not stop the others from being checked.
            self.properties = {
                p.name: self._property(p)
                for p in (*model.properties, *model.lemmas)
                if p.kind in ("invariant", "action", "terminal")
                and (properties is None or p.name in properties)
            }
        finally:
            _CTX.pop()

    def _register_codes(self) -> None:
        # Every declared enum value gets its code first, in declaration order.
        for ftype in self.types.values():
            for _, leaf in field_leaves("", ftype):
                if isinstance(leaf, EnumType):
                    for v in leaf.values:
                        self.ctx.code(v)

    # variables
    def _variables(self, suffix: str) -> dict[str, list[Any]]:
        out = {}
        for name, ftype in self.types.items():
            out[name] = [
                z3.Bool(leaf + suffix)
                if isinstance(t, BoolType)
                else z3.BitVec(leaf + suffix, self.width)
                for leaf, t in field_leaves(name, ftype)
            ]
        return out

    def flat(self, variables: dict[str, list[Any]]) -> list[Any]:
        """Every variable, in field order."""
        return [v for name in self.types for v in variables[name]]

    def at_step(self, j: int) -> dict[str, list[Any]]:
        """Fresh variables for the state after ``j`` steps."""
        return self._variables(f"@{j}")

    def _symbolic_state(self, variables: dict[str, list[Any]]) -> Any:
        values = {}
        for name, ftype in self.types.items():
            leaves = iter(zip(variables[name], field_leaves(name, ftype), strict=True))
            values[name] = self._build(ftype, leaves)
        return self.state_class(**values)

    def _build(self, ftype: FieldType, leaves: Any) -> Any:
        if isinstance(ftype, TupleType):
            return tuple(self._build(ftype.element, leaves) for _ in range(ftype.length))
        if isinstance(ftype, MapType):
            present, values = {}, {}
            for key in ftype.keys:
                present[key] = True if ftype.total else self._build(BoolType(), leaves)
                values[key] = self._build(ftype.value, leaves)
            return SymbolicMap(ftype.keys, present, values, absent_value(ftype.value), ftype.total)
        if isinstance(ftype, BagType):
            counts = {e: self._build(IntType(0, ftype.copies), leaves) for e in ftype.elements}
            return SymbolicBag(ftype.elements, counts, ftype.copies)
        var, _ = next(leaves)
        if isinstance(ftype, BoolType):
            return Sym(var, "bool")
        if isinstance(ftype, EnumType):
            if numeric_values(ftype.values):
                bounds = (min(ftype.values), max(ftype.values))
                return Sym(var, "int", bounds, values=ftype.values)
            return Sym(var, "enum", values=ftype.values)
        if isinstance(ftype, IntType):
            return Sym(var, "int", (ftype.low, ftype.high))
        return Sym(var, "int")

    def _well_formed(self, variables: dict[str, list[Any]]) -> Any:
        parts = []
        for name, ftype in self.types.items():
            for var, (_, leaf) in zip(variables[name], field_leaves(name, ftype), strict=True):
                if isinstance(leaf, IntType):
                    parts += [var >= leaf.low, var <= leaf.high]
                elif isinstance(leaf, BitsType):
                    mask = ((1 << (leaf.high + 1)) - 1) & ~((1 << leaf.low) - 1)
                    parts.append(var & z3.BitVecVal(~mask, self.width) == 0)
                elif isinstance(leaf, EnumType) and numeric_values(leaf.values):
                    parts.append(z3.Or([var == v for v in leaf.values]))
                elif isinstance(leaf, EnumType):
                    parts.append(z3.Or([var == self.ctx.code(v) for v in leaf.values]))
            if isinstance(ftype, MapType) and not ftype.total:
                # A key without a value keeps the default in its variables, so that a
                # state has one encoding (as the actions' next states do).
                width = 1 + len(field_leaves("", ftype.value))
                default = self._lower(ftype.value, absent_value(ftype.value), name)
                for i in range(len(ftype.keys)):
                    has, *value = variables[name][i * width : (i + 1) * width]
                    same = [v == d for v, d in zip(value, default, strict=True)]
                    parts.append(z3.Or(has, z3.And(same)))
        return z3.And(parts)

    def _lower(self, ftype: FieldType, value: Any, where: str) -> list[Any]:
        if isinstance(ftype, TupleType):
            if not isinstance(value, tuple) or len(value) != ftype.length:
                raise SubsetError(
                    f"{where}: expected a tuple of {ftype.length} values, got {value!r}"
                )
            out = []
            for i, item in enumerate(value):
                out.extend(self._lower(ftype.element, item, f"{where}[{i}]"))
            return out
        if isinstance(ftype, MapType):
            return self._lower_map(ftype, value, where)
        if isinstance(ftype, BagType):
            return self._lower_bag(ftype, value, where)
        return [_lowered(ftype, value, where)]

    def _lower_map(self, ftype: MapType, value: Any, where: str) -> list[Any]:
        if isinstance(value, SymbolicMap):
            present, values = value._present, value._values
        elif isinstance(value, FrozenMap):
            stray = [k for k in value if k not in ftype.keys]
            if stray:
                raise SubsetError(
                    f"{where} is given the key {stray[0]!r}, which is not one of its declared "
                    f"keys ({', '.join(map(repr, ftype.keys))})"
                )
            present = {k: k in value for k in ftype.keys}
            values = {k: value[k] if k in value else absent_value(ftype.value) for k in ftype.keys}
        else:
            raise SubsetError(f"{where} is declared a FrozenMap but is given {_shown(value)}")
        out = []
        for key in ftype.keys:
            if ftype.total:
                if present[key] is not True:
                    raise SubsetError(
                        f"{where} is declared MapOf(..., total=True) but key {key!r} may "
                        "have no value"
                    )
            else:
                out.append(_lowered(BoolType(), present[key], f"{where}[{key!r}] (has a value)"))
            out.extend(self._lower(ftype.value, values[key], f"{where}[{key!r}]"))
        return out

    def _lower_bag(self, ftype: BagType, value: Any, where: str) -> list[Any]:
        if isinstance(value, SymbolicBag):
            counts = value._counts
        elif isinstance(value, Bag):
            stray = [e for e in value if e not in ftype.elements]
            if stray:
                raise SubsetError(
                    f"{where} is given the element {stray[0]!r}, which is not one of its "
                    "declared elements"
                )
            counts = {e: value.count(e) for e in ftype.elements}
        else:
            raise SubsetError(f"{where} is declared a Bag but is given {_shown(value)}")
        return [
            _lowered(IntType(0, ftype.copies), counts[e], f"{where}[{e!r}]") for e in ftype.elements
        ]

    def _decode_enum(self, ftype: EnumType, number: int) -> Any:
        if numeric_values(ftype.values):
            return next((v for v in ftype.values if v == number), number)
        return self.ctx.values[number]

    def _equals_state(self, variables: dict[str, list[Any]], state: Any, where: str = "") -> Any:
        terms = self._leaf_terms(state, where)
        return z3.And([v == x for v, x in zip(self.flat(variables), terms, strict=True)])

    def _leaf_terms(self, state: Any, where: str = "") -> list[Any]:
        """The term of every leaf of ``state``, in field order."""
        terms = []
        for name, ftype in self.types.items():
            terms += self._lower(ftype, getattr(state, name), f"{where}{name}")
        return terms

    def _constraint(self) -> Any:
        parts = []
        pre = self._symbolic_state(self.pre)
        for con in self.model.constraints:
            what = f"{self.model.name}.{con.name}"
            paths = _Paths(self.wf)
            results = paths.run(lambda con=con: con.check(pre), what)
            parts.append(z3.Or([z3.And(c, _truth(con, r)) for c, r in results]))
            # Evaluated in every state reached, like the actions: it must be exact there.
            self.wraps += paths.wrap_list(what)
        return z3.And(parts) if parts else z3.BoolVal(True)

    # actions
    def _transition(self) -> tuple[Any, Any]:
        disjuncts, enabled = [], []
        pre_state = self._symbolic_state(self.pre)
        cls_name = self.model.name
        for act in self.model.actions:
            what = f"{cls_name}.{act.family} ({act.label})"
            paths = _Paths(self.wf)
            results = paths.run(lambda act=act: self._successors_of(act, pre_state), what)
            for cond, successors in results:
                if successors:
                    enabled.append(cond)
                for nxt in successors:
                    disjuncts.append(
                        z3.And(
                            cond,
                            self.act == act.index,
                            self._equals_state(self.post, nxt, f"{what}: "),
                        )
                    )
            self.wraps += paths.wrap_list(what)
        return z3.Or(disjuncts), z3.Or(enabled) if enabled else z3.BoolVal(False)

    def _successors_of(self, act: ActionInstance, pre_state: Any) -> list[Any]:
        """The successors one run of ``act`` gives from the symbolic ``pre_state``."""
        try:
            successors = act.successors(pre_state)  # Choice outcomes unwrapped
        except SubsetError as exc:
            name = getattr(exc, "modelcheck_domain", None)
            if name is None:
                raise
            raise SubsetError(
                f"{exc}; the domain of {name!r} is chosen in each state, and bmc and "
                "prove need it bounded: build it from a fixed range filtered by the "
                f"state (lambda self, s: [v for v in range(N) if <condition on s>]) "
                "or as range() of a field with a declared Range"
            ) from None
        for nxt in successors:
            if type(nxt) is not self.state_class:
                raise SpecError(
                    f"{self.model.name}.{act.family} ({act.label}) returned {nxt!r} "
                    f"({type(nxt).__name__}) instead of a {self.state_class.__name__} or None"
                )
        return successors

    def _property_paths(self, prop: PropertyDef) -> tuple[_Paths, list[tuple[Any, Any]]]:
        """The symbolic runs of a property: ``(paths, [(path condition, result)])``."""
        what = f"{self.model.name}.{prop.name}"
        pre = self._symbolic_state(self.pre)
        if prop.kind == "action":
            post = self._symbolic_state(self.post)
            paths = _Paths(z3.And(self.wf, self._well_formed(self.post)))
            return paths, paths.run(lambda: prop.check(pre, post), what)
        paths = _Paths(self.wf)
        return paths, paths.run(lambda: prop.check(pre), what)

    def _property(self, prop: PropertyDef) -> Any:
        what = f"{self.model.name}.{prop.name}"
        paths, results = self._property_paths(prop)
        formula = z3.Or([z3.And(c, _truth(prop, r)) for c, r in results])
        if prop.kind == "terminal":  # evaluated only where no action is enabled
            # ... and only in states inside the constraint, which alone are expanded.
            expanded = z3.And(z3.Not(self.enabled), self.constraint)
            self.property_wraps[prop.name] = paths.wrap_list(what, expanded)
            return z3.Or(self.enabled, z3.Not(self.constraint), formula)
        self.property_wraps[prop.name] = paths.wrap_list(what)
        return formula

    # per step
    def substitute(
        self,
        formula: Any,
        before: dict[str, list[Any]],
        after: dict[str, list[Any]] | None = None,
        act: Any = None,
    ) -> Any:
        """``formula`` over step variables instead of the templates."""
        pairs = list(zip(self.flat(self.pre), self.flat(before), strict=True))
        if after is not None:
            pairs += list(zip(self.flat(self.post), self.flat(after), strict=True))
        if act is not None:
            pairs.append((self.act, act))
        return z3.substitute(formula, pairs)

    def decode(self, model: Any, variables: dict[str, list[Any]]) -> Any:
        """The real state a z3 model assigns to ``variables``."""
        values = {}
        for name, ftype in self.types.items():
            leaves = iter(zip(variables[name], field_leaves(name, ftype), strict=True))
            values[name] = self._decode(model, ftype, leaves)
        return self.state_class(**values)

    def _decode(self, model: Any, ftype: FieldType, leaves: Any) -> Any:
        if isinstance(ftype, TupleType):
            return tuple(self._decode(model, ftype.element, leaves) for _ in range(ftype.length))
        if isinstance(ftype, MapType):
            pairs = {}
            for key in ftype.keys:
                has = True if ftype.total else self._decode(model, BoolType(), leaves)
                value = self._decode(model, ftype.value, leaves)
                if has:
                    pairs[key] = value
            return FrozenMap(pairs)
        if isinstance(ftype, BagType):
            counts = {
                e: self._decode(model, IntType(0, ftype.copies), leaves) for e in ftype.elements
            }
            return Bag.from_counts({e: n for e, n in counts.items() if n > 0})
        var, _ = next(leaves)
        value = model.eval(var, model_completion=True)
        if isinstance(ftype, BoolType):
            return z3.is_true(value)
        number = value.as_signed_long()
        if isinstance(ftype, EnumType):
            return self._decode_enum(ftype, number)
        return number


def _lowered(ftype: FieldType, value: Any, where: str) -> Any:
    """The term a field leaf of type ``ftype`` holds when an action gives it ``value``.

    Strict about Python types as well as values, so that a state the symbolic engine
    describes is the one the spec's concrete code builds (``1`` for a bool field is
    equal to ``True`` but not identical, and ``s.flag is True`` would tell them apart).
    """
    if isinstance(ftype, BoolType):
        if isinstance(value, bool):
            return z3.BoolVal(value)
        if isinstance(value, Sym) and value.kind == "bool":
            return value.term
        raise SubsetError(
            f"{where} is declared bool but is given {_shown(value)}; give it True or False"
        )
    if isinstance(ftype, EnumType) and not numeric_values(ftype.values):
        if isinstance(value, Sym):
            if value.kind != "enum":
                raise SubsetError(
                    f"{where} is declared OneOf{ftype.values!r} but is given a computed "
                    f"{'bool' if value.kind == 'bool' else 'int'}; give it one of the values"
                )
            return value.term
        declared = next((v for v in ftype.values if type(v) is type(value) and v == value), value)
        return _bv(_ctx().code(declared))  # an undeclared value gets a code outside the type
    # an int: Range, Bits, or a OneOf of plain ints
    if isinstance(value, Sym):
        if value.kind != "int":
            raise SubsetError(
                f"{where} is declared as an int but is given a computed "
                f"{'bool' if value.kind == 'bool' else 'non-int value'}; give it an int"
            )
        return value.term
    if type(value) is not int:
        raise SubsetError(
            f"{where} is declared as an int but is given {_shown(value)}; give it a plain int"
        )
    return _bv(value)


def _shown(value: Any) -> str:
    if isinstance(value, Sym):
        return f"a computed {value.kind}"
    return f"{value!r} ({type(value).__name__})"


def _truth(prop: PropertyDef | ConstraintDef, result: Any) -> Any:
    """The condition a property's result stands for; a result that is not a bool is an error."""
    if isinstance(result, bool):
        return z3.BoolVal(result)
    if isinstance(result, Sym) and result.kind == "bool":
        return result.term
    shown = f"a computed {result.kind}" if isinstance(result, Sym) else returned(result)
    raise SpecError(not_a_bool(prop, shown))


def encode(model: Model, properties: tuple[str, ...] | None = None) -> Encoding:
    """The z3 encoding of ``model`` (a :class:`SubsetError` if it is outside the subset).

    ``properties`` names the properties to encode (default: all of them).
    """
    return Encoding(model, properties)


# --- the encoding at a step of a run ---------------------------------------------------


def _unroll(enc: Encoding, solver: Any, states: list[Any], acts: list[Any]) -> None:
    j = len(acts)
    nxt = enc.at_step(j + 1)
    act = z3.Int(f"act@{j}")
    solver.add(enc.substitute(enc.transition, states[j], nxt, act))
    states.append(nxt)
    acts.append(act)


def _at(enc: Encoding, prop: PropertyDef, formula: Any, states: list[Any], d: int) -> Any:
    if prop.kind == "action":
        return enc.substitute(formula, states[d - 1], states[d])
    return enc.substitute(formula, states[d])


def _holds_at(enc: Encoding, prop: PropertyDef, states: list[Any], d: int) -> Any:
    return _at(enc, prop, enc.properties[prop.name], states, d)


def _wraps_at(
    enc: Encoding, props: list[PropertyDef], states: list[Any], d: int, actions: bool = True
) -> list[tuple[_Wrap, Any]]:
    """The recorded operations that run at depth ``d`` (of the actions, and of evaluating
    ``props``), each with when it wraps there."""
    out = [(w, enc.substitute(w.when, states[d])) for w in enc.wraps] if actions else []
    for prop in props:
        if prop.kind != "action" or d > 0:
            out += [(w, _at(enc, prop, w.when, states, d)) for w in enc.property_wraps[prop.name]]
    return out


def _which(solution: Any, wraps: list[tuple[_Wrap, Any]]) -> _Wrap | None:
    return next(
        (w for w, when in wraps if z3.is_true(solution.eval(when, model_completion=True))), None
    )


def _inexact(enc: Encoding, wrap: _Wrap) -> str:
    """``at file:line: code: `op` in Spec.x ...``: what goes wrong, where."""
    low, high = -(1 << (enc.width - 1)), (1 << (enc.width - 1)) - 1
    wide = f"computes a value outside the {enc.width}-bit encoding of ints ({low}..{high})"
    negative = "shifts by a negative count (Python raises ValueError)"
    problem = {">>": negative, "<<": f"{wide} or {negative}"}.get(wrap.op, wide)
    return f"at {wrap.where}: `{wrap.op}` in {wrap.what} {problem}"


def _fits(ftype: FieldType, value: Any, enc: Encoding) -> bool:
    if isinstance(ftype, TupleType):
        return all(_fits(ftype.element, v, enc) for v in value)
    if isinstance(ftype, MapType):
        return all(_fits(ftype.value, v, enc) for v in value.values())
    if isinstance(ftype, BagType):
        return all(0 <= n <= ftype.copies for _, n in value.items())
    if isinstance(ftype, IntType):
        return ftype.low <= value <= ftype.high
    if isinstance(ftype, BitsType):
        return value >= 0 and not value >> (ftype.high + 1) and not value & ((1 << ftype.low) - 1)
    if isinstance(ftype, EnumType):
        return value in ftype.values
    return True
