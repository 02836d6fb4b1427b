"""Symbolic values as z3 terms: the subset's ints, bools and enum constants.

A :class:`Sym` wraps one z3 term: ``Bool`` for a bool, a bit-vector of the
encoding's width ``W`` for an int, a bit mask or an enum constant (an enum
constant is a small code).  Its operators build terms with Python's meaning;
an operation whose ``W``-bit value can differ from Python's is recorded on
the current path (see :mod:`modelcheck.engines.z3.paths`), and a Python
``if`` on a symbolic condition asks the path splitter which way to go.

The state of one encoding in progress (width, enum codes, the path being
run) is the innermost :class:`_Context` of ``_CTX``.
"""

from __future__ import annotations

import enum
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import attrs
import z3

from modelcheck.symbolic import SubsetError, Symbolic, guard

# Frames in these folders are modelcheck's or z3's, not the spec's (the
# folder of the modelcheck package, three levels up from this file).
_OWN_DIRS = (str(Path(__file__).resolve().parents[2]), str(Path(z3.__file__).resolve().parent))


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


class _PathRun(Protocol):
    """The path being run, as the values see it (:class:`~modelcheck.engines.z3.paths._Paths`)."""

    def decide(self, cond: Any) -> bool: ...

    def require(self, exact: Any, op: str) -> None: ...


class _Context:
    """The encoding in progress: bit width, enum codes and the path being run."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.codes: dict[Any, int] = {}
        self.values: list[Any] = []
        self.paths: _PathRun | None = None
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


def _decide(cond: Any) -> bool:
    paths = _ctx().paths
    if paths is None:
        raise _outside("a condition on a symbolic value outside an action or property")
    return paths.decide(cond)
