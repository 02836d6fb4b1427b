"""The symbolic engine: bounded model checking and k-induction with z3.

The only module that imports z3 (one concept, kept in one file on purpose
although it is long: the term wrappers, the encoding and the two engines
share z3's types and must not leak them).  It consumes a
:class:`~modelcheck.model.Model` like every engine, and runs the spec's own
action and property code on symbolic values (see :mod:`modelcheck.symbolic`):

* every field leaf becomes a z3 term: ``Bool`` for booleans, a bit-vector of
  one width ``W`` for ints, bit masks and enum constants (an enum constant is
  a small code), with the declared ranges as constraints;
* a Python ``if`` (``and``, ``or``, ``max`` ...) on a symbolic condition
  splits the run: the action is re-run once per feasible path, each path
  recording its conditions; an infeasible branch (checked with a solver
  under the declared ranges) is never taken;
* a map field (``MapOf``) is a "has a value" bool and the value's leaves per
  declared key, a bag (``BagOf``) a count per declared element; while the
  spec runs they are the symbolic maps and bags of
  :mod:`modelcheck.integrations.z3_containers`;
* an action instance becomes ``OR(path condition AND next = result)``, with
  ``act = index`` naming it, so a model of the formula says which action
  each step took.

Counterexamples are decoded into real states and re-executed by the spec's
concrete code, so every trace this module returns replays in the explicit
engine, and a disagreement between the two semantics is reported instead of
being hidden.

Ints are ``W``-bit two's complement, ``W`` four bits wider than the declared
bounds need, while Python's ints never wrap.  So every operation that can
compute a different value in ``W`` bits (``+``, ``-``, unary ``-``, ``*``,
``<<``, and a shift by a negative count, which Python rejects) records when
it does, on its path, if that can happen in some state of the declared
types; the bitwise operators and comparisons are exact.  ``bmc`` reports a
reachable one as a spec error with the run that leads there (exit 2);
``prove`` proves "no action's operation wraps" and "the declared types
hold" by induction together with the properties (a property's own
evaluation is part of its step) and, when it cannot, proves nothing and
names the operation and its line.  The guarantee: a verdict of ``holds`` or
``proved`` is one about the spec's Python semantics; the cost is that a
spec whose values can pass the width (or an unreachable state the lemmas
do not rule out that would) gets no answer until its bounds are widened.
Operations are checked where Python evaluates them: both arms of an
:func:`~modelcheck.symbolic.ite` are, so only an ``if`` guards one.
"""

from __future__ import annotations

import enum
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

try:
    import z3
except ImportError as exc:  # pragma: no cover - depends on the environment
    from modelcheck.errors import ModelcheckError

    # z3-solver is a default dependency, so this is a broken or partial install.
    raise ModelcheckError(
        f"the symbolic engine needs z3, which modelcheck installs but this Python cannot "
        f"import ({exc}); reinstall it with: pip install z3-solver"
    ) from exc

from modelcheck.containers import Bag, FrozenMap
from modelcheck.engines.bfs import CheckOptions, peak_memory_bytes
from modelcheck.engines.bfs import check as breadth_first
from modelcheck.errors import InternalError, SpecError, SpecRuntimeError
from modelcheck.model import (
    ActionInstance,
    ConstraintDef,
    Model,
    PropertyDef,
    not_a_bool,
    returned,
)
from modelcheck.properties import explain
from modelcheck.result import CheckResult, Statistics, Status, Verdict
from modelcheck.symbolic import (
    BagType,
    BitsType,
    BoolType,
    EnumType,
    FieldType,
    IntType,
    MapType,
    SubsetError,
    Symbolic,
    TupleType,
    field_types,
    guard,
)
from modelcheck.trace import Step, Trace
from modelcheck.wording import n_steps

_OWN_DIRS = (str(Path(__file__).resolve().parent.parent), str(Path(z3.__file__).resolve().parent))
#: More paths than this through one action or property is reported, not explored.
MAX_PATHS = 4096
#: The name under which violations of the declared field types are reported.
DECLARED_TYPES = "declared_types"
#: How many states the breadth-first search that cross-checks a "holds" or
#: "proved" may explore (a deterministic budget: the same on every machine).
CROSS_CHECK_STATES = 20_000


# --- where in the spec ------------------------------------------------------------------


def _user_frame_text(frames: list[traceback.FrameSummary]) -> str:
    for frame in reversed(frames):
        name = str(Path(frame.filename).resolve()) if not frame.filename.startswith("<") else ""
        if name and not name.startswith(_OWN_DIRS):
            code = (frame.line or "").strip()
            return f"{frame.filename}:{frame.lineno}" + (f": {code}" if code else "")
    return "(line unknown)"


def _here() -> str:
    return _user_frame_text(traceback.extract_stack())


# --- symbolic values --------------------------------------------------------------------


@attrs.frozen
class _Wrap:
    """An operation whose ``W``-bit result may not be Python's: who runs it, where, and when."""

    what: str  # "Spec.action (label)" or "Spec.property"
    op: str  # "*"
    where: str  # "file:line: code"
    when: Any  # over the template variables: true exactly when the result is not Python's


class _Infeasible(BaseException):
    """The current path cannot happen (every branch of a split is impossible).

    A ``BaseException``, so that a spec's own ``except Exception`` cannot swallow it.
    """


class _Context:
    """The encoding in progress: bit width, enum codes and the path being run."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.codes: dict[Any, int] = {}
        self.values: list[Any] = []
        self.paths: _Paths | None = None
        self.guard = guard.Guard()

    def code(self, value: Any) -> int:
        key = (type(value), value)
        if key not in self.codes:
            self.codes[key] = len(self.values)
            self.values.append(value)
        return self.codes[key]


_CTX: list[_Context] = []


def _ctx() -> _Context:
    return _CTX[-1]


def _outside(what: str) -> SubsetError:
    # Recorded as well as returned: a spec that catches the error (``except
    # Exception:`` around the operation) must not turn it into a result.
    error = SubsetError(f"outside the symbolic subset at {_here()}: {what}")
    guard.record(error)
    return error


def _numeric_values(values: tuple[Any, ...]) -> bool:
    """Whether a OneOf's values are plain ints (encoded as the ints themselves)."""
    return bool(values) and all(type(v) is int for v in values)


def _kinds_of(values: tuple[Any, ...]) -> set[type]:
    return {type(v) for v in values}


class Sym(Symbolic):
    """A symbolic int, bool or enum constant wrapping a z3 term."""

    __slots__ = ("domain", "kind", "term", "values")

    def __init__(
        self,
        term: Any,
        kind: str,
        domain: tuple[int, int] | None = None,
        values: tuple[Any, ...] | None = None,
    ) -> None:
        self.term = term
        self.kind = kind  # "int", "bool" or "enum"
        self.domain = domain
        #: The declared values an "enum" stands for (its term is their code), or the
        #: values of a OneOf of ints (its term is the int itself).
        self.values = values

    def __repr__(self) -> str:
        if not guard.called_by_library():
            raise _outside("repr() of a symbolic value (the text would not be about the value)")
        return f"Sym({self.term})"

    def __str__(self) -> str:
        raise _outside("str() of a symbolic value (the text would not be about the value)")

    # what Python evaluates without calling a value's methods (see modelcheck.symbolic.guard)
    def identical(self, other: Any) -> Any:
        if isinstance(other, Sym):
            if self.kind == other.kind == "bool":
                return Sym(self.term == other.term, "bool")  # True and False are singletons
            raise _outside(
                "`is` between two symbolic values: whether they are one object is not a "
                "question about their values; compare them with =="
            )
        if not guard.identity_safe(other):
            raise _outside(
                f"`is` with {type(other).__name__} {other!r}: whether equal "
                f"{type(other).__name__}s are one object is up to CPython; compare with =="
            )
        if self.kind == "bool":
            if other is True:
                return self
            if other is False:
                return Sym(z3.Not(self.term), "bool")
            return False
        if self.kind == "enum":
            return _among(self, [v for v in self.values or () if v is other])
        return False  # a plain int is never None, a bool, an enum member or a class

    def python_isinstance(self, classes: Any) -> Any:
        if self.kind == "bool":
            return isinstance(True, classes)
        if self.kind == "int":
            return isinstance(0, classes)
        values = self.values or ()
        return _among(self, [v for v in values if isinstance(v, classes)])

    def python_type(self) -> type:
        if self.kind == "bool":
            return bool
        if self.kind == "int":
            return int
        kinds = _kinds_of(self.values or ())
        if len(kinds) != 1:
            raise _outside(
                "type() of a symbolic value whose declared values are of different types "
                f"({', '.join(sorted(k.__name__ for k in kinds))}); use isinstance() or =="
            )
        return kinds.pop()

    # conversions that cannot be symbolic
    def __hash__(self) -> int:
        raise _outside(
            "a symbolic value is used as a set element or dict key (it has no hash); "
            "keep sets as bit masks (Bits, member, with_member) or tuples"
        )

    def __iter__(self) -> Any:
        raise _outside("iterating over a symbolic value; iterate over a fixed range instead")

    def __len__(self) -> int:
        raise _outside("len() of a symbolic value")

    def __int__(self) -> int:
        raise _outside("int() of a symbolic value")

    def __float__(self) -> float:
        raise _outside("float() of a symbolic value")

    def __format__(self, spec: str) -> str:
        raise _outside("formatting a symbolic value as text")

    def __bool__(self) -> bool:
        if self.kind == "bool":
            return _decide(self.term)
        if self.kind == "int":
            return _decide(self.term != 0)
        truthy = _among(self, [v for v in self.values or () if v])
        return truthy if isinstance(truthy, bool) else _decide(truthy.term)

    def __index__(self) -> int:
        if self.kind != "int" or self.domain is None:
            raise _outside(
                "indexing with a computed symbolic index; use modelcheck.symbolic.at(seq, i) "
                "or put(seq, i, value)"
            )
        low, high = self.domain
        for k in range(low, high + 1):
            if _decide(self.term == k):
                return k
        raise _Infeasible

    def ite(self, then: Any, otherwise: Any) -> Any:
        cond = _as_bool(self, "the condition of ite()")
        fields = getattr(type(then), "_fields", None)
        if fields is not None and type(then) is type(otherwise):
            return type(then)(
                **{f: self.ite(getattr(then, f), getattr(otherwise, f)) for f in fields}
            )
        if isinstance(then, tuple) and isinstance(otherwise, tuple):
            if len(then) != len(otherwise):
                raise _outside("ite() of two tuples of different lengths")
            return tuple(self.ite(a, b) for a, b in zip(then, otherwise, strict=True))
        return ite_terms(cond, then, otherwise)

    # arithmetic and bits
    def _num(self, other: Any, op: str, swap: bool = False) -> Any:
        if not _numeric(other):
            return NotImplemented
        a, b = _as_bv(self), _as_bv(other)
        if swap:
            a, b = b, a
        compute, exact = _OPERATORS[op]
        if exact is not None:
            _require_exact(exact(a, b), op)
        return Sym(compute(a, b), "int")

    def __add__(self, o: Any) -> Any:
        return self._num(o, "+")

    def __radd__(self, o: Any) -> Any:
        return self._num(o, "+", True)

    def __sub__(self, o: Any) -> Any:
        return self._num(o, "-")

    def __rsub__(self, o: Any) -> Any:
        return self._num(o, "-", True)

    def __mul__(self, o: Any) -> Any:
        return self._num(o, "*")

    def __rmul__(self, o: Any) -> Any:
        return self._num(o, "*", True)

    def __lshift__(self, o: Any) -> Any:
        return self._num(o, "<<")

    def __rlshift__(self, o: Any) -> Any:
        return self._num(o, "<<", True)

    def __rshift__(self, o: Any) -> Any:
        return self._num(o, ">>")

    def __rrshift__(self, o: Any) -> Any:
        return self._num(o, ">>", True)

    def __neg__(self) -> Any:
        a = _as_bv(self)
        _require_exact(z3.BVSNegNoOverflow(a), "unary -")
        return Sym(-a, "int")

    def __floordiv__(self, o: Any) -> Any:
        raise _outside("// on a symbolic value (floor division is not in the subset)")

    __rfloordiv__ = __mod__ = __rmod__ = __truediv__ = __rtruediv__ = __floordiv__

    def _logic(self, other: Any, bool_op: Callable[..., Any], op: str, swap: bool = False) -> Any:
        if isinstance(other, bool) or (isinstance(other, Sym) and other.kind == "bool"):
            if self.kind == "bool":
                return Sym(bool_op(_as_bool(self), _as_bool(other)), "bool")
        return self._num(other, op, swap)

    def __and__(self, o: Any) -> Any:
        return self._logic(o, z3.And, "&")

    def __rand__(self, o: Any) -> Any:
        return self._logic(o, z3.And, "&", True)

    def __or__(self, o: Any) -> Any:
        return self._logic(o, z3.Or, "|")

    def __ror__(self, o: Any) -> Any:
        return self._logic(o, z3.Or, "|", True)

    def __xor__(self, o: Any) -> Any:
        return self._logic(o, z3.Xor, "^")

    def __rxor__(self, o: Any) -> Any:
        return self._logic(o, z3.Xor, "^", True)

    def __invert__(self) -> Any:
        if self.kind == "bool":
            raise _outside("~ on a symbolic bool (in Python ~True is -2); write `not x`")
        return Sym(~_as_bv(self), "int")  # ~x = -x - 1 maps the W-bit range onto itself

    # comparisons
    def _cmp(self, other: Any, op: Callable[[Any, Any], Any]) -> Any:
        if not _numeric(other):
            return NotImplemented
        return Sym(op(_as_bv(self), _as_bv(other)), "bool")

    def __lt__(self, o: Any) -> Any:
        return self._cmp(o, lambda a, b: a < b)

    def __le__(self, o: Any) -> Any:
        return self._cmp(o, lambda a, b: a <= b)

    def __gt__(self, o: Any) -> Any:
        return self._cmp(o, lambda a, b: a > b)

    def __ge__(self, o: Any) -> Any:
        return self._cmp(o, lambda a, b: a >= b)

    def __eq__(self, other: object) -> Any:  # type: ignore[override]
        return _equal(self, other)

    def __ne__(self, other: object) -> Any:  # type: ignore[override]
        eq = _equal(self, other)
        return (not eq) if isinstance(eq, bool) else Sym(z3.Not(eq.term), "bool")


#: Each binary operator: the W-bit term, and the condition under which that term is the
#: value Python computes (None: always).  Python ints never wrap, W-bit terms do; the
#: bitwise operators and comparisons are exact on two's complement, and a right shift by
#: a count >= W gives the sign, as Python's does.  A negative shift count, which Python
#: rejects with ValueError, is read as a huge unsigned one by z3, so it is not exact either.
_OPERATORS: dict[str, tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any] | None]] = {
    "+": (
        lambda a, b: a + b,
        lambda a, b: z3.And(z3.BVAddNoOverflow(a, b, True), z3.BVAddNoUnderflow(a, b)),
    ),
    "-": (
        lambda a, b: a - b,
        lambda a, b: z3.And(z3.BVSubNoOverflow(a, b), z3.BVSubNoUnderflow(a, b, True)),
    ),
    "*": (
        lambda a, b: a * b,
        lambda a, b: z3.And(z3.BVMulNoOverflow(a, b, True), z3.BVMulNoUnderflow(a, b)),
    ),
    "<<": (lambda a, b: a << b, lambda a, b: z3.And(b >= 0, (a << b) >> b == a)),
    ">>": (lambda a, b: a >> b, lambda a, b: b >= 0),
    "&": (lambda a, b: a & b, None),
    "|": (lambda a, b: a | b, None),
    "^": (lambda a, b: a ^ b, None),
}


#: Constants a symbolic number is never equal to, whatever its value (Python's answer
#: is False without asking the constant's own ``__eq__`` anything that could differ).
_NEVER_A_NUMBER = (str, bytes, type(None), tuple, list, dict, set, frozenset, range)


def _among(x: Sym, values: list[Any]) -> Any:
    """The condition "``x`` is one of ``values``" (of its declared values), as a term."""
    if not values:
        return False
    if x.kind == "enum":
        codes = [_ctx().code(v) for v in values]
        return Sym(z3.Or([x.term == _bv(c) for c in codes]), "bool")
    return Sym(z3.Or([x.term == _bv(v) for v in values]), "bool")


def _number_of(value: Any) -> int | None:
    """``value`` as the int it equals, if it is a number equal to an int (else None)."""
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _equal(x: Sym, other: Any) -> Any:
    """``x == other`` with Python's meaning: a term, or a constant when that is the answer."""
    if isinstance(other, Sym):
        if x.kind == "enum" or other.kind == "enum":
            return _enum_equal(x, other)
        if x.kind == other.kind == "bool":
            return Sym(x.term == other.term, "bool")
        return Sym(_as_bv(x) == _as_bv(other), "bool")  # True == 1, as in Python
    if x.kind == "enum":
        matches = []
        for v in x.values or ():
            try:
                same = bool(v == other)
            except Exception:
                raise _outside(f"comparing a declared value {v!r} with {other!r} raised") from None
            if same:
                matches.append(v)
        return _among(x, matches)
    number = _number_of(other)
    if number is not None:
        if isinstance(other, float) and not other.is_integer():
            return False
        if x.kind == "bool" and number not in (0, 1):
            return False
        if x.kind == "bool":
            return x if number == 1 else Sym(z3.Not(x.term), "bool")
        if not -(1 << (_ctx().width - 1)) <= number < (1 << (_ctx().width - 1)):
            return False  # beyond the encoding, hence beyond every declared range
        return Sym(x.term == _bv(number), "bool")
    if (
        isinstance(other, float)
        or isinstance(other, _NEVER_A_NUMBER)
        or (isinstance(other, enum.Enum) and not isinstance(other, int))
    ):
        return False
    raise _outside(
        f"comparing a symbolic number with a {type(other).__name__} ({other!r}), whose own == "
        "the symbolic engine cannot run"
    )


def _enum_equal(x: Sym, y: Sym) -> Any:
    if x.kind != "enum":
        x, y = y, x
    pairs = []
    if y.kind == "enum":
        for v in x.values or ():
            for w in y.values or ():
                if v == w:
                    pairs.append(
                        z3.And(x.term == _bv(_ctx().code(v)), y.term == _bv(_ctx().code(w)))
                    )
    else:
        for v in x.values or ():
            number = _number_of(v)
            if number is None or (y.kind == "bool" and number not in (0, 1)):
                continue
            here = x.term == _bv(_ctx().code(v))
            if y.kind == "bool":
                pairs.append(z3.And(here, y.term if number == 1 else z3.Not(y.term)))
            else:
                pairs.append(z3.And(here, y.term == _bv(number)))
    return Sym(z3.Or(pairs), "bool") if pairs else False


def _require_exact(exact: Any, op: str) -> None:
    paths = _ctx().paths
    if paths is None:
        raise _outside(f"{op} on a symbolic value outside an action or property")
    paths.require(exact, op)


def _numeric(x: Any) -> bool:
    return (isinstance(x, Sym) and x.kind != "enum") or isinstance(x, int)


def _bv(value: int) -> Any:
    width = _ctx().width
    if not -(1 << (width - 1)) <= value < (1 << (width - 1)):
        raise _outside(f"the constant {value} does not fit the {width}-bit encoding")
    return z3.BitVecVal(value, width)


def _term(x: Any) -> Any:
    """The z3 term for a symbolic value or a constant (enum constants become codes)."""
    if isinstance(x, Sym):
        return x.term
    if isinstance(x, bool):
        return z3.BoolVal(x)
    if isinstance(x, int):
        return _bv(x)
    try:
        hash(x)
    except TypeError:
        raise _outside(f"the value {x!r} ({type(x).__name__}) cannot be encoded") from None
    return _bv(_ctx().code(x))


def _as_bool(x: Any, what: str = "a condition") -> Any:
    if isinstance(x, Sym):
        if x.kind == "bool":
            return x.term
        if x.kind == "int":
            return x.term != 0
        truthy = _among(x, [v for v in x.values or () if v])
        return truthy.term if isinstance(truthy, Sym) else z3.BoolVal(truthy)
    if isinstance(x, bool | int):
        return z3.BoolVal(bool(x))
    raise _outside(f"{x!r} used as {what}")


def _as_bv(x: Any) -> Any:
    if isinstance(x, Sym) and x.kind == "bool":
        return z3.If(x.term, _bv(1), _bv(0))
    return _term(x)


def ite_terms(cond: Any, then: Any, otherwise: Any) -> Any:
    """One if-then-else term for two values (symbolic or constant)."""
    if not isinstance(then, Sym) and not isinstance(otherwise, Sym) and then == otherwise:
        return then
    if then is None or otherwise is None or isinstance(then, tuple | frozenset | set):
        raise _outside("ite() of None or of collections other than same-length tuples")
    kinds = {v.kind for v in (then, otherwise) if isinstance(v, Sym)}
    if kinds == {"bool"} or (
        kinds <= {"bool"} and all(isinstance(v, bool | Sym) for v in (then, otherwise))
    ):
        return Sym(z3.If(cond, _as_bool(then), _as_bool(otherwise)), "bool")
    numbers = [
        (isinstance(v, Sym) and v.kind == "int") or type(v) is int for v in (then, otherwise)
    ]
    if all(numbers):
        return Sym(z3.If(cond, _term(then), _term(otherwise)), "int")
    if any(isinstance(v, Sym) and v.kind != "enum" for v in (then, otherwise)):
        raise _outside(
            "ite() of a symbolic number or bool and a value of another type; "
            "give both arms values of one declared type"
        )
    values: list[Any] = []
    for v in (then, otherwise):
        for item in v.values or () if isinstance(v, Sym) else (v,):
            if not any(type(item) is type(u) and item == u for u in values):
                values.append(item)
    return Sym(z3.If(cond, _enum_term(then), _enum_term(otherwise)), "enum", values=tuple(values))


def _enum_term(x: Any) -> Any:
    """The code term of a coded value: a symbolic enum's own, or a constant's code."""
    if isinstance(x, Sym):
        return x.term
    return _bv(_ctx().code(x))


# --- splitting a run into paths ---------------------------------------------------------


class _Paths:
    """Runs a function once per feasible path through its symbolic conditions."""

    def __init__(self, assumptions: Any) -> None:
        self.solver = z3.Solver()
        self.solver.add(assumptions)
        self.prefix: list[tuple[bool, bool]] = []  # (taken, other branch still to run)
        self.pos = 0
        self.conds: list[Any] = []
        #: Per path returned by :meth:`run`, its decisions: ``(condition, taken)``
        #: in the order the run made them (the compiled engine rebuilds the
        #: decision tree from them).
        self.decisions: list[list[tuple[Any, bool]]] = []
        self.taken: list[tuple[Any, bool]] = []
        self.lines: dict[str, int] = {}
        self.wraps: dict[tuple[str, str], list[Any]] = {}  # (op, file:line) -> when inexact

    def decide(self, cond: Any) -> bool:
        cond = z3.simplify(cond)
        if z3.is_true(cond):
            return True
        if z3.is_false(cond):
            return False
        if self.pos < len(self.prefix):
            taken = self.prefix[self.pos][0]
        else:
            can_true = self._feasible(cond)
            can_false = self._feasible(z3.Not(cond))
            if not (can_true or can_false):
                raise _Infeasible
            taken = can_true
            self.prefix.append((taken, can_true and can_false))
            if can_true and can_false:
                where = _here()
                self.lines[where] = self.lines.get(where, 0) + 1
        self.pos += 1
        self.taken.append((cond, taken))
        chosen = cond if taken else z3.Not(cond)
        self.conds.append(chosen)
        self.solver.add(chosen)
        return taken

    def _feasible(self, cond: Any) -> bool:
        return self.solver.check(cond) != z3.unsat

    def require(self, exact: Any, op: str) -> None:
        """Record when an operation on this path does not compute Python's value.

        Only an operation that can be inexact on this path, in a state of the
        declared types, is recorded (its condition is the path so far and
        not ``exact``); the engines check that no reachable state meets it.
        """
        exact = z3.simplify(exact)
        if z3.is_true(exact) or not self._feasible(z3.Not(exact)):
            return
        key = (op, _here())
        self.wraps.setdefault(key, []).append(z3.And(*self.conds, z3.Not(exact)))

    def wrap_list(self, what: str, extra: Any = None) -> list[_Wrap]:
        """The recorded operations as :class:`_Wrap` records (``extra``: a further condition)."""
        return [
            _Wrap(what, op, where, z3.Or(whens) if extra is None else z3.And(extra, z3.Or(whens)))
            for (op, where), whens in self.wraps.items()
        ]

    def run(self, fn: Callable[[], Any], what: str) -> list[tuple[Any, Any]]:
        """``[(path condition, result)]`` for every feasible path of ``fn()``."""
        results = []
        ctx = _ctx()
        while True:
            self.pos, self.conds, self.taken = 0, [], []
            self.solver.push()
            ctx.paths = self
            guard.take_pending()
            try:
                result = fn()
                caught = guard.take_pending()
                if caught is not None:  # the spec caught it, but it stands
                    raise caught
                results.append((z3.And(self.conds) if self.conds else z3.BoolVal(True), result))
                self.decisions.append(self.taken)
            except guard.Restart:
                # A function of the spec was instrumented as it was called: run this
                # path again from the start, with the same decisions.
                ctx.guard.resume()
                continue
            except _Infeasible:
                pass
            except SubsetError as exc:
                raise SubsetError(f"{what}: {exc}") from None
            except z3.Z3Exception as exc:
                where = _user_frame_text(traceback.extract_tb(exc.__traceback__))
                raise SubsetError(
                    f"{what}: outside the symbolic subset at {where}: z3 says {exc}"
                ) from None
            except SpecError:
                raise
            except Exception as exc:
                where = _user_frame_text(traceback.extract_tb(exc.__traceback__))
                raise SubsetError(
                    f"{what} raised {type(exc).__name__}: {exc} at {where} when run on "
                    "symbolic values; if it runs concretely, it uses a construct outside the "
                    "symbolic subset there (see modelcheck.symbolic)"
                ) from None
            finally:
                ctx.paths = None
                self.solver.pop()
            if len(results) > MAX_PATHS:
                busiest = sorted(self.lines.items(), key=lambda kv: -kv[1])[:3]
                raise SubsetError(
                    f"{what} has more than {MAX_PATHS} paths; the conditions that split "
                    f"most are at {', '.join(w for w, _ in busiest)}; use ite()/at()/put() "
                    "there to build one term instead of splitting"
                )
            while self.prefix and not self.prefix[-1][1]:
                self.prefix.pop()
            if not self.prefix:
                return results
            self.prefix[-1] = (not self.prefix[-1][0], False)


def _decide(cond: Any) -> bool:
    paths = _ctx().paths
    if paths is None:
        raise _outside("a condition on a symbolic value outside an action or property")
    return paths.decide(cond)


# --- the encoding of a model -----------------------------------------------------------


def _leaves(name: str, ftype: FieldType) -> list[tuple[str, FieldType]]:
    if isinstance(ftype, TupleType):
        out = []
        for i in range(ftype.length):
            out.extend(_leaves(f"{name}[{i}]", ftype.element))
        return out
    if isinstance(ftype, MapType):
        # Per declared key: whether it has a value (unless the map is total), then the value.
        out = []
        for key in ftype.keys:
            if not ftype.total:
                out.append((f"{name}[{key!r}]?", BoolType()))
            out.extend(_leaves(f"{name}[{key!r}]", ftype.value))
        return out
    if isinstance(ftype, BagType):
        return [(f"{name}[{e!r}]#", IntType(0, ftype.copies)) for e in ftype.elements]
    return [(name, ftype)]


def _default(ftype: FieldType) -> Any:
    """The value kept in the variables of a map key that has none (so equal maps encode alike)."""
    if isinstance(ftype, TupleType):
        return tuple(_default(ftype.element) for _ in range(ftype.length))
    if isinstance(ftype, MapType):
        return FrozenMap({k: _default(ftype.value) for k in ftype.keys} if ftype.total else {})
    if isinstance(ftype, BagType):
        return Bag()
    if isinstance(ftype, BoolType):
        return False
    if isinstance(ftype, IntType):
        return ftype.low
    if isinstance(ftype, BitsType):
        return 0
    return ftype.values[0]


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
        if _numeric_values(ftype.values):
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
            for _, leaf in _leaves("", ftype):
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
                for leaf, t in _leaves(name, ftype)
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
            leaves = iter(zip(variables[name], _leaves(name, ftype), strict=True))
            values[name] = self._build(ftype, leaves)
        return self.state_class(**values)

    def _build(self, ftype: FieldType, leaves: Any) -> Any:
        if isinstance(ftype, TupleType):
            return tuple(self._build(ftype.element, leaves) for _ in range(ftype.length))
        if isinstance(ftype, MapType):
            from modelcheck.integrations.z3_containers import SymbolicMap

            present, values = {}, {}
            for key in ftype.keys:
                present[key] = True if ftype.total else self._build(BoolType(), leaves)
                values[key] = self._build(ftype.value, leaves)
            return SymbolicMap(ftype.keys, present, values, _default(ftype.value), ftype.total)
        if isinstance(ftype, BagType):
            from modelcheck.integrations.z3_containers import SymbolicBag

            counts = {e: self._build(IntType(0, ftype.copies), leaves) for e in ftype.elements}
            return SymbolicBag(ftype.elements, counts, ftype.copies)
        var, _ = next(leaves)
        if isinstance(ftype, BoolType):
            return Sym(var, "bool")
        if isinstance(ftype, EnumType):
            if _numeric_values(ftype.values):
                bounds = (min(ftype.values), max(ftype.values))
                return Sym(var, "int", bounds, values=ftype.values)
            return Sym(var, "enum", values=ftype.values)
        if isinstance(ftype, IntType):
            return Sym(var, "int", (ftype.low, ftype.high))
        return Sym(var, "int")

    def _well_formed(self, variables: dict[str, list[Any]]) -> Any:
        parts = []
        for name, ftype in self.types.items():
            for var, (_, leaf) in zip(variables[name], _leaves(name, ftype), strict=True):
                if isinstance(leaf, IntType):
                    parts += [var >= leaf.low, var <= leaf.high]
                elif isinstance(leaf, BitsType):
                    mask = ((1 << (leaf.high + 1)) - 1) & ~((1 << leaf.low) - 1)
                    parts.append(var & z3.BitVecVal(~mask, self.width) == 0)
                elif isinstance(leaf, EnumType) and _numeric_values(leaf.values):
                    parts.append(z3.Or([var == v for v in leaf.values]))
                elif isinstance(leaf, EnumType):
                    parts.append(z3.Or([var == self.ctx.code(v) for v in leaf.values]))
            if isinstance(ftype, MapType) and not ftype.total:
                # A key without a value keeps the default in its variables, so that a
                # state has one encoding (as the actions' next states do).
                width = 1 + len(_leaves("", ftype.value))
                default = self._lower(ftype.value, _default(ftype.value), name)
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
        from modelcheck.integrations.z3_containers import SymbolicMap

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
            values = {k: value[k] if k in value else _default(ftype.value) for k in ftype.keys}
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
        from modelcheck.integrations.z3_containers import SymbolicBag

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
        if _numeric_values(ftype.values):
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
            leaves = iter(zip(variables[name], _leaves(name, ftype), strict=True))
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
    if isinstance(ftype, EnumType) and not _numeric_values(ftype.values):
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


# --- traces -----------------------------------------------------------------------------


def _trace(
    enc: Encoding,
    solution: Any,
    states: list[dict[str, list[Any]]],
    acts: list[Any],
    prop: PropertyDef | None,
    reason: str,
    replay_initial: bool,
) -> Trace:
    """Decode a path and re-run it with the spec's concrete code."""
    model = enc.model
    current = enc.decode(solution, states[0])
    if replay_initial and current not in model.initial_states:
        raise SpecError(
            f"{model.name}: the symbolic initial state {current!r} is not an initial state of "
            "the explicit model; the two semantics disagree (please report this)"
        )
    initial = current
    steps = []
    for j, act_var in enumerate(acts):
        if not model.within(current):
            raise SpecError(
                f"{model.name}: z3 extends {current!r} after {j} steps, but the spec's own "
                "code says it fails a constraint, and no state outside a constraint is "
                "extended. The concrete and symbolic runs of the constraint disagree: a "
                "construct in it behaves differently on z3 terms."
            )
        index = solution.eval(act_var, model_completion=True).as_long()
        act = model.actions[index]
        wanted = enc.decode(solution, states[j + 1])
        successors = act.successors(current)
        if wanted in successors:
            # A state-dependent choice or Choice outcome: the step's own arguments.
            act = model.step_action(act, current, wanted)
        else:
            raise SpecError(
                f"{model.name}: z3 says step {j + 1}, {act.label}, leads from {current!r} to "
                f"{wanted!r}, but the spec's code gives {successors!r}. The concrete and "
                "symbolic runs of the action disagree: a construct in it behaves differently "
                "on z3 terms (e.g. an overflow past the declared ranges)."
            )
        steps.append(Step(act.family, act.args, wanted, act.actor))
        current = wanted
    trace = Trace(
        initial,
        tuple(steps),
        spec=model.name,
        parameters=dict(model.parameters),
        violates=None if prop is None else prop.name,
        kind=None if prop is None else prop.kind,
        reason=reason,
    )
    if prop is not None:
        _confirm(
            model,
            prop,
            trace,
            "a counterexample" if replay_initial else "a counterexample to induction",
        )
    return trace


def _confirm(model: Model, prop: PropertyDef, trace: Trace, what: str) -> None:
    """Re-run ``prop`` with the spec's own code where z3 says it fails; disagreeing is a bug."""
    states = trace.states
    final = states[-1]
    try:
        if prop.kind == "action":
            result = prop.check(states[-2], final) if len(states) > 1 else False
        elif prop.kind == "terminal":
            result = bool(model.successors(final)) or not model.within(final) or prop.check(final)
        else:
            result = prop.check(final)
    except Exception as exc:
        raise SpecRuntimeError(
            f"{prop.source or prop.name} raised {type(exc).__name__}: {exc} on the last state "
            f"of {what} the symbolic engine found",
            trace,
        ) from exc
    if result is False:
        return
    from modelcheck.render.text import render_trace

    raise InternalError(
        f"internal error: the symbolic engine gives {what} to {model.name}.{prop.name} "
        f"(verdict: violated after {n_steps(len(trace))}), but the spec's own code, run on the "
        f"same states, returns {result!r} (verdict: holds). The symbolic and concrete "
        "semantics of a construct disagree; this is a bug in modelcheck, not in the spec: "
        "please report it with the spec. No verdict is reported.\n" + render_trace(trace)
    )


def _cross_check(model: Model, result: CheckResult, budget: int) -> CheckResult:
    """Refuse to report "holds" where a bounded breadth-first search finds a violation."""
    names = tuple(v.property for v in result.verdicts if v.status is Status.HOLDS)
    if not names or budget <= 0:
        return result
    explicit = breadth_first(model, CheckOptions(properties=names, max_states=budget))
    for verdict in explicit.violated:
        from modelcheck.render.text import render_trace

        trace = verdict.counterexample
        within = "" if trace is None else f" in {n_steps(len(trace))}"
        raise InternalError(
            f"internal error: {result.engine} says {model.name}.{verdict.property} holds "
            f"(verdict: {'proved' if result.engine == 'prove' else 'holds'}), but a "
            f"breadth-first search finds a violation{within} (verdict: violated). This is a "
            "bug in modelcheck's symbolic engine, not in the spec: please report it with "
            "the spec. No verdict is reported."
            + ("" if trace is None else "\n" + render_trace(trace))
        )
    return result


def _reason(model: Model, prop: PropertyDef, trace: Trace) -> str:
    states = trace.states
    if prop.kind == "action":
        return explain(prop, states[-2], states[-1])
    if prop.kind == "terminal":
        return f"no action is enabled and {explain(prop, states[-1])}"
    return explain(prop, states[-1])


def _selected(model: Model, names: tuple[str, ...] | None) -> list[PropertyDef]:
    if names is None:
        return [p for p in model.properties if p.kind in ("invariant", "action", "terminal")]
    lemmas = {p.name: p for p in model.lemmas}
    props = [lemmas[n] if n in lemmas else model.property(n) for n in names]
    for p in props:
        if p.kind in ("recoverable", "reachable") or p.liveness:
            raise SpecError(
                f"{model.name}.{p.name} is a {p.kind} property, which the symbolic engine "
                "does not check; use modelcheck check (explicit search) for it."
            )
    return props


def _result(
    model: Model,
    engine: str,
    verdicts: list[Verdict],
    depth: int,
    started: float,
    complete: bool,
    stopped_by: str | None,
) -> CheckResult:
    stats = Statistics(0, 0, depth, time.perf_counter() - started, peak_memory_bytes())
    return CheckResult(
        spec=model.name,
        parameters=dict(model.parameters),
        verdicts=tuple(verdicts),
        statistics=stats,
        complete=complete,
        stopped_by=stopped_by,
        engine=engine,
    )


class _Undecided(Exception):
    """z3 answered "unknown": interrupted (Ctrl-C), out of resources, or incomplete."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _sat(solver: Any, *assumptions: Any) -> bool:
    """Whether the assertions (and ``assumptions``) are satisfiable.

    z3 may also answer "unknown" (it turns Ctrl-C into exactly that, reason
    "canceled").  Comparing with ``== z3.sat`` would read "unknown" as
    "unsatisfiable" - a property proved, a violation missed - so every
    decision goes through here and an undecided query stops the engine.
    """
    answer = solver.check(*assumptions)
    if answer == z3.sat:
        return True
    if answer == z3.unsat:
        return False
    raise _Undecided(solver.reason_unknown())


def _undecided(
    model: Model,
    engine: str,
    props: list[PropertyDef],
    decided: dict[str, Verdict],
    started: float,
    undecided: _Undecided,
    depth: int,
) -> CheckResult:
    """The result of a run cut short by an undecided query: what was found, the rest unknown."""
    # z3 reports both Ctrl-C and its own timeout as "canceled".
    interrupted = undecided.reason == "canceled"
    why = (
        "stopped before z3 decided (interrupted, or a z3 timeout)"
        if interrupted
        else f"z3 could not decide a query ({undecided.reason})"
    )
    verdicts = [
        decided.get(p.name) or Verdict(p.name, p.kind, Status.UNKNOWN, reason=why) for p in props
    ]
    stopped_by = "interrupted" if interrupted else "solver_unknown"
    return _result(model, engine, verdicts, depth, started, False, stopped_by)


# --- bounded model checking -------------------------------------------------------------


Progress = Callable[[str], None]


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


def bmc(
    model: Model,
    depth: int,
    properties: tuple[str, ...] | None = None,
    progress: Progress | None = None,
    cross_check: int = CROSS_CHECK_STATES,
) -> CheckResult:
    """Search for a violation of each invariant, action and terminal property within ``depth``.

    Depths are tried in increasing order, so every counterexample is a
    shortest one.  A property with no violation within ``depth`` steps is
    ``unknown`` (bounded, not proved) unless no run is longer than the
    depth searched, in which case the search was complete and it holds.

    Every counterexample is re-run by the spec's own code, property
    included, and every "holds" is cross-checked by a breadth-first search
    of up to ``cross_check`` states; a disagreement raises
    :class:`~modelcheck.errors.InternalError` instead of giving a verdict.
    """
    started = time.perf_counter() - model.compile_seconds  # initial states included
    props = _selected(model, properties)
    found: dict[str, Verdict] = {}
    searched = [0]  # deepest depth fully searched, kept if z3 stops early
    try:
        result = _bmc(model, depth, props, progress, started, found, searched)
        return _cross_check(model, result, cross_check)
    except _Undecided as undecided:
        return _undecided(model, "bmc", props, found, started, undecided, searched[0])


def _bmc(
    model: Model,
    depth: int,
    props: list[PropertyDef],
    progress: Progress | None,
    started: float,
    found: dict[str, Verdict],
    searched: list[int],
) -> CheckResult:
    enc = encode(model, tuple(p.name for p in props))
    solver = z3.Solver()
    states = [enc.at_step(0)]
    acts: list[Any] = []
    solver.add(enc.substitute(enc.init, states[0]))
    complete = False
    reached = 0
    for d in range(depth + 1):
        reached = d
        if d > 0:
            _unroll(enc, solver, states, acts)
            if not _sat(solver):
                complete = True  # no run has d steps: every reachable state was checked
                reached = d - 1
                break
        _check_declared_types(enc, solver, states, acts, d)
        _check_wraps(enc, solver, states, acts, d, [p for p in props if p.name not in found])
        for prop in props:
            if prop.name in found or (prop.kind == "action" and d == 0):
                continue
            violation = z3.Not(_holds_at(enc, prop, states, d))
            if _sat(solver, violation):
                trace = _trace(
                    enc,
                    _first_in_bfs_order(enc, solver, states, acts, violation),
                    states,
                    acts,
                    prop,
                    "",
                    True,
                )
                trace = attrs.evolve(trace, reason=_reason(model, prop, trace))
                found[prop.name] = Verdict(
                    prop.name, prop.kind, Status.VIOLATED, trace, trace.reason
                )
        searched[0] = d
        if progress is not None:
            progress(f"bmc: depth {d} searched, {time.perf_counter() - started:.1f} s")
        if props and len(found) == len(props):
            break  # with no property left, only the declared types would be checked
    verdicts = [
        found.get(p.name)
        or Verdict(
            p.name,
            p.kind,
            Status.HOLDS if complete else Status.UNKNOWN,
            reason="" if complete else f"no violation within {n_steps(reached)} (bounded search)",
        )
        for p in props
    ]
    all_found = bool(props) and len(found) == len(props)
    return _result(
        model,
        "bmc",
        verdicts,
        reached,
        started,
        complete or all_found,
        None if complete or all_found else "max_depth",
    )


def _first_in_bfs_order(
    enc: Encoding, solver: Any, states: list[Any], acts: list[Any], goal: Any
) -> Any:
    """A model of ``goal`` whose run is the one breadth-first search would report.

    BFS numbers states in discovery order, which is the lexicographic order
    of their first shortest runs (initial states in order, then actions in
    the order the search tries them); at the shortest violating depth every
    run to a violation is a shortest run, so the run BFS reports is the
    lexicographically least one.  Fixing the initial state and then each
    step to the least choice that still reaches ``goal`` finds it.
    """
    model = enc.model
    order = [a.index for a in model.actions if not a.nondeterministic]
    order += [a.index for a in model.actions if a.nondeterministic]
    fixed = [goal]
    if len(enc.initials) > 1:
        inits = [enc.substitute(c, states[0]) for c in enc.initials]
        fixed.append(_least(solver, fixed, inits))
    for act in acts:
        fixed.append(_least(solver, fixed, [act == i for i in order]))
    if not _sat(solver, *fixed):  # pragma: no cover - each choice kept it satisfiable
        raise AssertionError("the least run to a violation vanished")
    return solver.model()


def _least(solver: Any, fixed: list[Any], choices: list[Any]) -> Any:
    # Binary search for the first choice that keeps ``fixed`` satisfiable.
    low, high = 0, len(choices) - 1
    while low < high:
        mid = (low + high) // 2
        if _sat(solver, *fixed, z3.Or(choices[: mid + 1])):
            high = mid
        else:
            low = mid + 1
    return choices[low]


def _check_declared_types(
    enc: Encoding, solver: Any, states: list[Any], acts: list[Any], d: int
) -> None:
    wf = enc.substitute(enc.wf, states[d])
    if _sat(solver, z3.Not(wf)):
        solution = solver.model()
        trace = _trace(enc, solution, states, acts, None, "", True)
        state = trace.final
        bad = [f"{k}={v!r}" for k, v in state.to_dict().items() if not _fits(enc.types[k], v, enc)]
        outside = (
            " (a state just past a @constraint is reached too, and its invariants are "
            "checked, so its values must fit the declarations)"
            if enc.model.constraints
            else ""
        )
        raise SubsetError(
            f"{enc.model.name}: a reachable state leaves the declared field types after "
            f"{n_steps(d)} ({', '.join(bad)}); widen the Range/Bits/OneOf declarations of "
            f"{enc.state_class.__name__}{outside}. Run: " + " → ".join(s.label for s in trace.steps)
        )
    solver.add(wf)


def _check_wraps(
    enc: Encoding,
    solver: Any,
    states: list[Any],
    acts: list[Any],
    d: int,
    props: list[PropertyDef],
) -> None:
    # Every operation the actions run in a state reached in d steps, and the properties
    # evaluated there, must compute Python's value: else the encoding no longer describes
    # the spec, from here on.  Only operations that can wrap in a state of the declared
    # types were recorded, so for most specs there is nothing to check.
    wraps = _wraps_at(enc, props, states, d)
    if not wraps or not _sat(solver, z3.Or([when for _, when in wraps])):
        return
    solution = solver.model()
    wrap = _which(solution, wraps)
    assert wrap is not None
    trace = _trace(enc, solution, states, acts, None, "", True)
    run = " → ".join(s.label for s in trace.steps) or "(the initial state)"
    raise SubsetError(
        f"{enc.model.name}: in a state reached after {n_steps(d)} ({trace.final!r}), the "
        f"symbolic encoding is not exact {_inexact(enc, wrap)}. The width follows the "
        f"declared bounds: widen a Range/Bits declaration of {enc.state_class.__name__}, or "
        f"keep intermediate values near the declared ranges. Run: {run}"
    )


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


# --- k-induction ------------------------------------------------------------------------


def prove(
    model: Model,
    k: int = 1,
    properties: tuple[str, ...] | None = None,
    progress: Progress | None = None,
    cross_check: int = CROSS_CHECK_STATES,
) -> CheckResult:
    """Prove invariant, action and terminal properties for every reachable state.

    Base case: :func:`bmc` to depth ``k`` (a violation there is a real,
    shortest counterexample).  Step: every property still standing, lemmas
    included, is assumed on ``k`` consecutive states of any path (reachable
    or not, loop-free) and checked on the next; a property whose step fails
    is dropped from the assumptions and the others are re-checked, until
    what remains is inductive together.  A property left unproved carries a
    counterexample to induction: a trace from a state satisfying every
    assumed invariant to one that breaks it.

    Two implicit invariants take part in every step: the declared field
    types, and "every operation the actions run computes Python's value"
    (no ``W``-bit wrap-around).  Like the properties they are assumed on the
    first ``k`` states and proved on the next, never assumed there; while
    either is unproved, nothing is (the encoding might not describe the
    spec), and every property is unknown with the reason.  Evaluating a
    property must not wrap either: that is part of the property's own step.

    As with :func:`bmc`, counterexamples are re-run concretely and a proof
    is only reported after a breadth-first search of up to ``cross_check``
    states finds no violation of it.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    started = time.perf_counter() - model.compile_seconds  # initial states included
    props = _selected(model, properties)
    lemmas = [p for p in model.lemmas if p not in props]
    base = bmc(model, k, tuple(p.name for p in [*props, *lemmas]), progress, cross_check=0)
    violated = {v.property: v for v in base.violated}
    if base.stopped_by in ("interrupted", "solver_unknown"):
        # Without the base case nothing can be proved.
        return attrs.evolve(
            base, engine="prove", verdicts=tuple(base.verdict(p.name) for p in props)
        )
    if base.complete and not violated:
        verdicts = [
            attrs.evolve(base.verdict(p.name), reason="every reachable state checked")
            for p in props
        ]
        return _cross_check(
            model, _result(model, "prove", verdicts, k, started, True, None), cross_check
        )
    try:
        result = _induction(model, k, props, lemmas, violated, progress, started)
        return _cross_check(model, result, cross_check)
    except _Undecided as undecided:
        return _undecided(model, "prove", props, violated, started, undecided, k)


def _induction(
    model: Model,
    k: int,
    props: list[PropertyDef],
    lemmas: list[PropertyDef],
    violated: dict[str, Verdict],
    progress: Progress | None,
    started: float,
) -> CheckResult:
    standing = [p for p in [*props, *lemmas] if p.name not in violated]
    enc = encode(model, tuple(p.name for p in standing))
    solver = z3.Solver()
    states = [enc.at_step(0)]
    acts: list[Any] = []
    for _ in range(k):
        _unroll(enc, solver, states, acts)
    implicit = z3.And(enc.wf, *(z3.Not(w.when) for w in enc.wraps))
    for j in range(k):
        solver.add(enc.substitute(implicit, states[j]))
    if k > 1:  # loop-free paths only: makes the step stronger at no cost to soundness
        solver.add(z3.Distinct([_state_key(enc, s) for s in states]))
    failed: dict[str, Trace] = {}
    changed = True
    while changed:
        changed = False
        solver.push()
        for prop in standing:
            for d in range(k):
                if prop.kind != "action" or d > 0:
                    solver.add(_obligation_at(enc, prop, states, d))
        last = enc.substitute(implicit, states[k])
        if _sat(solver, z3.Not(last)):  # the encoding may stop describing the spec
            solution = solver.model()
            trace = _trace(enc, solution, states, acts, None, "", False)
            reason = _inexact_reason(enc, solution, trace, states, standing)
            for prop in standing:
                failed[prop.name] = attrs.evolve(
                    trace, violates=prop.name, kind=prop.kind, reason=reason
                )
            standing = []
        solver.add(last)  # proved from what is assumed (or nothing is left to prove)
        for prop in list(standing):
            if _sat(solver, z3.Not(_obligation_at(enc, prop, states, k))):
                solution = solver.model()
                trace = _trace(enc, solution, states, acts, prop, "", False)
                wrap = _which(solution, _wraps_at(enc, [prop], states, k, actions=False))
                if wrap is None:
                    reason = _cti_reason(model, prop, trace, standing, k)
                else:
                    reason = (
                        f"{_cti_start(prop, standing, k)}evaluating it is not exact "
                        f"{_inexact(enc, wrap)}. {_WRAP_FIX}"
                    )
                failed[prop.name] = attrs.evolve(trace, reason=reason)
                standing.remove(prop)
                changed = True
        solver.pop()
        if progress is not None:
            progress(
                f"prove: induction pass, {len(standing)} standing, "
                f"{time.perf_counter() - started:.1f} s"
            )
    proved = {p.name for p in standing}
    verdicts = []
    for p in props:
        if p.name in violated:
            verdicts.append(violated[p.name])
        elif p.name in proved:
            verdicts.append(
                Verdict(p.name, p.kind, Status.HOLDS, reason=f"proved by {k}-induction")
            )
        else:
            trace = failed[p.name]
            verdicts.append(Verdict(p.name, p.kind, Status.UNKNOWN, trace, trace.reason))
    complete = all(v.status is not Status.UNKNOWN for v in verdicts)
    return _result(
        model, "prove", verdicts, k, started, complete, None if complete else "induction"
    )


def _state_key(enc: Encoding, variables: dict[str, list[Any]]) -> Any:
    leaves = [
        z3.If(v, z3.BitVecVal(1, 1), z3.BitVecVal(0, 1)) if z3.is_bool(v) else v
        for v in enc.flat(variables)
    ]
    return z3.Concat(*leaves) if len(leaves) > 1 else leaves[0]


_CTI_FIX = (
    "State a lemma (@invariant(lemma=True)) that rules the first state out, or try a larger --k."
)
_WRAP_FIX = (
    "The width of ints follows the declared bounds: widen a Range/Bits declaration, or "
    "state a lemma (@invariant(lemma=True)) that rules the first state out."
)


def _cti_start(prop: PropertyDef | None, standing: list[PropertyDef], k: int) -> str:
    others = ", ".join(p.name for p in standing if p is not prop)
    if prop is not None:
        assumed = f"{prop.name} and {others or 'no other invariant'}"
    else:
        assumed = others or "the declared types"
    return (
        f"not proved: a counterexample to induction. From a state satisfying {assumed} "
        f"(possibly unreachable), {'1 step reaches' if k == 1 else f'{k} steps reach'} a state "
        "where "
    )


def _cti_reason(
    model: Model, prop: PropertyDef, trace: Trace, standing: list[PropertyDef], k: int
) -> str:
    return f"{_cti_start(prop, standing, k)}{_reason(model, prop, trace)}. {_CTI_FIX}"


def _obligation_at(enc: Encoding, prop: PropertyDef, states: list[Any], d: int) -> Any:
    """The property holds at depth ``d`` and evaluating it there does not wrap."""
    wraps = enc.property_wraps[prop.name]
    if not wraps:
        return _holds_at(enc, prop, states, d)
    return z3.And(
        _holds_at(enc, prop, states, d), *(z3.Not(_at(enc, prop, w.when, states, d)) for w in wraps)
    )


def _inexact_reason(
    enc: Encoding, solution: Any, trace: Trace, states: list[Any], standing: list[PropertyDef]
) -> str:
    # Why nothing is proved: a step from the assumptions leaves the declared types, or
    # reaches a state where an operation of an action is not exact.
    k = len(states) - 1
    start = _cti_start(None, standing, k)
    bad = [
        f"{n}={v!r}" for n, v in trace.final.to_dict().items() if not _fits(enc.types[n], v, enc)
    ]
    if bad:
        return (
            f"{start}a field leaves its declared type ({', '.join(bad)}); until the declared "
            "types are inductive, no property is proved. Widen the Range/Bits/OneOf "
            f"declarations of {enc.state_class.__name__}, or state a lemma "
            "(@invariant(lemma=True)) that rules the first state out."
        )
    wrap = _which(solution, _wraps_at(enc, [], states, k))
    assert wrap is not None
    return (
        f"{start}the symbolic encoding is not exact {_inexact(enc, wrap)}; until it is, no "
        f"property is proved. {_WRAP_FIX}"
    )


__all__ = ["DECLARED_TYPES", "Encoding", "Sym", "bmc", "encode", "prove"]
