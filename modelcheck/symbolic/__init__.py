"""The symbolic subset: bounded field types and helpers for concrete *and* symbolic code.

A spec is in the symbolic subset when every field of its state record has
a declared bounded type, given with :data:`typing.Annotated` so the
runtime representation does not change (the explicit engines still see
plain ints, strings and tuples)::

    class Counter(State):
        value: Annotated[int, Range(0, "n")]          # bounds may name parameters
        done: bool
        mode: Annotated[str, OneOf("idle", "busy")]   # a finite set of constants
        seen: Annotated[BitSet, Bits(0, "n")]         # an int bit mask over 0..n
        pc: Annotated[tuple[str, ...], Each("procs", OneOf("idle", "busy"))]
        votes: Annotated[FrozenMap, MapOf("procs", OneOf("yes", "no"))]
        network: Annotated[Bag, BagOf(messages, copies=2)]  # messages: finite

``bool``, ``Literal[...]`` and :class:`enum.Enum` annotations need no
metadata.  Actions and properties are ordinary Python.  The z3 engine runs
them on symbolic values: arithmetic, comparisons and bit operations build
terms; a Python ``if``/``and``/``or``/``not``/``max`` on a symbolic
condition splits the run into paths (each taken branch adds its condition
to the path), and a tuple indexed by a field with a declared range is split
into one path per index.  The helpers below (:func:`ite`, :func:`at`,
:func:`put`, :func:`member`, ...) do the same without splitting, and run at
plain-Python speed on concrete values.  The engine's ints have a fixed bit
width that follows the declared bounds; an operation whose value could pass
it is checked where it runs, never wrapped silently (both arms of
:func:`ite` run, as in Python: only an ``if`` keeps an operation from
running).

What is outside the subset (the z3 engine names the construct and its
line): fields without bounds, using a symbolic value as a set element or
dict key, iterating over it, converting it with ``int()``/``str()``, and
indexing with a computed symbolic index (use :func:`at` / :func:`put`).

This module does not import z3: the symbolic values are made by
:mod:`modelcheck.engines.z3`, which subclasses :class:`Symbolic`.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any, get_args, get_origin

import attrs

from modelcheck.errors import SpecError
from modelcheck.state import BITSET

#: A bound: an int, the name of a spec parameter, or a function of the spec.
Bound = int | str | Callable[[Any], int]


class SubsetError(SpecError):
    """A spec uses a construct outside the symbolic subset (names it and its line)."""


class Symbolic:
    """Base class of symbolic values (made by the z3 engine, never by specs).

    The helpers of this module call :meth:`ite` on a symbolic condition;
    everything else is ordinary operator overloading in the subclass.
    """

    __slots__ = ()

    def ite(self, then: Any, otherwise: Any) -> Any:  # pragma: no cover - abstract
        """``then`` where this condition holds, else ``otherwise``, as one term."""
        raise NotImplementedError

    # What Python evaluates without calling a value's methods; see modelcheck.symbolic.guard.
    def identical(self, other: Any) -> Any:  # pragma: no cover - abstract
        """``self is other`` with Python's meaning, or an "outside the subset" error."""
        raise NotImplementedError

    def python_isinstance(self, classes: Any) -> Any:  # pragma: no cover - abstract
        """``isinstance(self, classes)`` for the concrete values this value stands for."""
        raise NotImplementedError

    def python_type(self) -> type:  # pragma: no cover - abstract
        """``type(self)`` for the concrete values this value stands for."""
        raise NotImplementedError


# --- declared types ---------------------------------------------------------------------


@attrs.frozen
class Range:
    """An int between ``low`` and ``high`` inclusive (either may name a spec parameter)."""

    low: Bound
    high: Bound


@attrs.frozen
class OneOf:
    """One of a finite set of constants (strings, ints, enum members)."""

    values: tuple[Any, ...]

    def __init__(self, *values: Any) -> None:
        self.__attrs_init__(tuple(values))


@attrs.frozen
class Bits:
    """An int bit mask whose members are between ``low`` and ``high`` inclusive.

    Combine with :data:`modelcheck.state.BitSet` so traces show the mask as a
    set: ``Annotated[BitSet, Bits(1, "generations")]``.
    """

    low: Bound
    high: Bound


@attrs.frozen
class Each:
    """A tuple of ``length`` elements (e.g. one per process), each of type ``element``.

    ``element`` is a :class:`Range`, :class:`OneOf`, :class:`Bits`, ``bool``
    or another ``Each``.
    """

    length: Bound
    element: Any


#: A finite set of keys or elements: an iterable of constants, the name of a
#: spec parameter (an int ``n`` meaning ``range(n)``, or an iterable), or a
#: function of the spec returning an iterable.
Finite = str | Iterable[Any] | Callable[[Any], Iterable[Any]]


@attrs.frozen
class MapOf:
    """A :class:`~modelcheck.containers.FrozenMap` whose keys are among ``keys``.

    ``values`` is the type of every value (a :class:`Range`, :class:`OneOf`,
    ``bool``, ...).  ``total=True`` declares that every key always has a
    value (a function from the keys, as in TLA+), so reading ``m[k]`` never
    needs a path where ``k`` is missing::

        rm: Annotated[FrozenMap, MapOf("rms", OneOf("working", "prepared"), total=True)]
    """

    keys: Finite
    values: Any
    total: bool = False


@attrs.frozen
class BagOf:
    """A :class:`~modelcheck.containers.Bag` of ``elements``, at most ``copies`` of each.

    ``elements`` is a finite set of constants (messages, say): an iterable, a
    parameter name or a function of the spec; ``copies`` is a bound.
    """

    elements: Finite
    copies: Bound


# Resolved types: what the z3 engine encodes.


@attrs.frozen
class IntType:
    """A resolved :class:`Range`."""

    low: int
    high: int


@attrs.frozen
class BoolType:
    """``bool``."""


@attrs.frozen
class EnumType:
    """A resolved :class:`OneOf`."""

    values: tuple[Any, ...]


@attrs.frozen
class BitsType:
    """A resolved :class:`Bits`."""

    low: int
    high: int


@attrs.frozen
class TupleType:
    """A resolved :class:`Each`."""

    length: int
    element: Any


@attrs.frozen
class MapType:
    """A resolved :class:`MapOf`: its keys in canonical order."""

    keys: tuple[Any, ...]
    value: Any
    total: bool


@attrs.frozen
class BagType:
    """A resolved :class:`BagOf`: its elements in canonical order."""

    elements: tuple[Any, ...]
    copies: int


FieldType = IntType | BoolType | EnumType | BitsType | TupleType | MapType | BagType

_MARKERS = (Range, OneOf, Bits, Each, MapOf, BagOf)


def _parameter(spec: Any, name: str, where: str, what: str) -> Any:
    """The value of spec parameter ``name`` (``what`` names it in the error)."""
    params = spec.parameters
    if name not in params:
        from modelcheck.errors import closest

        raise SubsetError(
            f"{where}: {what} is not a parameter of {type(spec).__name__}.{closest(name, params)}"
        )
    return params[name]


def _bound(spec: Any, value: Bound, where: str) -> int:
    if isinstance(value, bool):
        raise SubsetError(f"{where}: a bound must be an int, a parameter name or a function")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        result = _parameter(spec, value, where, f"the bound {value!r}")
    else:
        result = value(spec)
    if not isinstance(result, int) or isinstance(result, bool):
        raise SubsetError(f"{where}: the bound {value!r} is {result!r}, not an int")
    return result


def _finite(spec: Any, value: Finite, where: str) -> tuple[Any, ...]:
    """The declared keys or elements, distinct and in canonical order."""
    from modelcheck.containers import canonical_key

    if isinstance(value, str):
        value = _parameter(spec, value, where, repr(value))
        if isinstance(value, int) and not isinstance(value, bool):
            value = range(value)
    elif callable(value):
        value = value(spec)
    try:
        items = tuple(dict.fromkeys(value))
        items = tuple(sorted(items, key=canonical_key))
    except TypeError as exc:
        raise SubsetError(f"{where}: not a finite set of constants ({exc})") from None
    if not items:
        raise SubsetError(f"{where}: the set is empty")
    return items


def _resolve(spec: Any, marker: Any, where: str) -> FieldType:
    if marker is bool or marker is BoolType or isinstance(marker, BoolType):
        return BoolType()
    if isinstance(marker, Range):
        low, high = _bound(spec, marker.low, where), _bound(spec, marker.high, where)
        if low > high:
            raise SubsetError(f"{where}: Range({low}, {high}) is empty")
        return IntType(low, high)
    if isinstance(marker, OneOf):
        if not marker.values:
            raise SubsetError(f"{where}: OneOf() needs at least one value")
        return EnumType(marker.values)
    if isinstance(marker, Bits):
        low, high = _bound(spec, marker.low, where), _bound(spec, marker.high, where)
        if low < 0 or low > high:
            raise SubsetError(f"{where}: Bits({low}, {high}) needs 0 <= low <= high")
        return BitsType(low, high)
    if isinstance(marker, Each):
        length = _bound(spec, marker.length, where)
        if length < 0:
            raise SubsetError(f"{where}: Each length {length} is negative")
        return TupleType(length, _resolve(spec, marker.element, f"{where}[i]"))
    if isinstance(marker, MapOf):
        keys = _finite(spec, marker.keys, f"{where} keys")
        return MapType(keys, _resolve(spec, marker.values, f"{where}[k]"), bool(marker.total))
    if isinstance(marker, BagOf):
        copies = _bound(spec, marker.copies, where)
        if copies < 1:
            raise SubsetError(f"{where}: BagOf copies must be at least 1, not {copies}")
        return BagType(_finite(spec, marker.elements, f"{where} elements"), copies)
    if isinstance(marker, type) and issubclass(marker, enum.Enum):
        return EnumType(tuple(marker))
    if get_origin(marker) is typing.Literal:
        return EnumType(get_args(marker))
    raise SubsetError(f"{where}: {marker!r} is not a type of the symbolic subset")


def field_types(state_class: type, spec: Any) -> dict[str, FieldType]:
    """The resolved declared type of every field of ``state_class`` for ``spec``.

    Raises :class:`SubsetError` naming the first field without a bounded
    type, with the fix.
    """
    try:
        try:
            hints = typing.get_type_hints(state_class, include_extras=True)
        except NameError:
            # String annotations of a class whose module is not importable
            # (exec'd code): resolve them in the namespace the spec's code runs in.
            hints = _own_hints(state_class, getattr(type(spec).initial_states, "__globals__", {}))
    except Exception as exc:
        raise SubsetError(
            f"{state_class.__name__}: its field annotations cannot be resolved ({exc}); "
            "the symbolic engine needs them to know each field's type."
        ) from None
    result: dict[str, FieldType] = {}
    for name in getattr(state_class, "_fields", ()):
        where = f"{state_class.__name__}.{name}{_class_line(state_class)}"
        hint = hints.get(name)
        markers: list[Any] = []
        base = hint
        if get_origin(hint) is Annotated:
            base = get_args(hint)[0]
            markers = [m for m in hint.__metadata__ if isinstance(m, _MARKERS)]
            if not markers and BITSET in hint.__metadata__:
                raise SubsetError(
                    f"{where}: a BitSet needs the range of its members for the symbolic "
                    'engine: Annotated[BitSet, Bits(low, high)], e.g. Bits(1, "generations").'
                )
        if markers:
            result[name] = _resolve(spec, markers[-1], where)
        elif _container_name(base) is not None:
            kind = _container_name(base)
            if kind == "FrozenMap":
                needs = "the finite set of its keys and the type of its values"
                example = 'Annotated[FrozenMap, MapOf("keys", OneOf("a", "b"))]'
            else:
                needs = "the finite set of its elements and the most copies of each"
                example = 'Annotated[Bag, BagOf(messages, copies="n")]'
            raise SubsetError(
                f"{where}: a {kind} field needs its bounds for the symbolic engine: "
                f"{needs}, e.g. {example} (see modelcheck.symbolic)."
            )
        elif base is bool:
            result[name] = BoolType()
        elif (isinstance(base, type) and issubclass(base, enum.Enum)) or (
            get_origin(base) is typing.Literal
        ):
            result[name] = _resolve(spec, base, where)
        else:
            raise SubsetError(
                f"{where}: the field is declared as {_type_text(hint)}, which has no bounds; "
                "the symbolic engine needs a bounded type, e.g. "
                'Annotated[int, Range(0, "n")], bool, Annotated[str, OneOf("a", "b")], '
                'Annotated[BitSet, Bits(0, "n")] or '
                'Annotated[tuple[int, ...], Each("procs", Range(0, "n"))] '
                "(see modelcheck.symbolic)."
            )
    return result


def _container_name(hint: Any) -> str | None:
    from modelcheck.containers import Bag, FrozenMap

    origin = get_origin(hint) or hint
    if origin is FrozenMap:
        return "FrozenMap"
    if origin is Bag:
        return "Bag"
    return None


def _own_hints(state_class: type, namespace: dict[str, Any]) -> dict[str, Any]:
    # Like typing.get_type_hints for the record's fields only, evaluating each
    # class's string annotations in its module, or else in ``namespace``.
    import inspect
    import sys

    hints: dict[str, Any] = {}
    fields = set(getattr(state_class, "_fields", ()))
    for klass in reversed(state_class.__mro__):
        module = sys.modules.get(klass.__module__)
        where = vars(module) if module is not None else namespace
        for name, hint in inspect.get_annotations(klass).items():
            if name in fields:
                # The annotation is the spec author's own code, as for get_type_hints.
                hints[name] = eval(hint, dict(where)) if isinstance(hint, str) else hint
    return hints


def _type_text(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _class_line(cls: type) -> str:
    import inspect

    try:
        return f" ({inspect.getsourcefile(cls)}:{inspect.getsourcelines(cls)[1]})"
    except (OSError, TypeError):
        return ""


# --- helpers: plain Python on concrete values, single terms on symbolic ones ------------


def ite(cond: Any, then: Any, otherwise: Any) -> Any:
    """``then if cond else otherwise``, without splitting paths when ``cond`` is symbolic."""
    if isinstance(cond, Symbolic):
        return cond.ite(then, otherwise)
    return then if cond else otherwise


def maximum(a: Any, b: Any) -> Any:
    """``max(a, b)`` as one term."""
    return ite(a >= b, a, b)


def minimum(a: Any, b: Any) -> Any:
    """``min(a, b)`` as one term."""
    return ite(a <= b, a, b)


def all_of(*conditions: Any) -> Any:
    """``a and b and ...`` as one term (every condition is evaluated)."""
    result: Any = True
    for c in conditions:
        result = ite(c, result, False)
    return result


def any_of(*conditions: Any) -> Any:
    """``a or b or ...`` as one term."""
    result: Any = False
    for c in conditions:
        result = ite(c, True, result)
    return result


def implies(a: Any, b: Any) -> Any:
    """``not a or b`` as one term."""
    return ite(a, b, True)


def at(values: Sequence[Any], i: Any) -> Any:
    """``values[i]``; a symbolic ``i`` gives one if-then-else term over the positions."""
    if not isinstance(i, Symbolic):
        return values[i]
    result = values[-1]
    for k in range(len(values) - 2, -1, -1):
        result = ite(i == k, values[k], result)
    return result


def put(values: tuple[Any, ...], i: Any, value: Any) -> tuple[Any, ...]:
    """``values`` with position ``i`` replaced by ``value`` (a new tuple)."""
    if not isinstance(i, Symbolic):
        changed = list(values)
        changed[i] = value
        return tuple(changed)
    return tuple(ite(i == k, value, v) for k, v in enumerate(values))


def put_if(cond: Any, values: tuple[Any, ...], i: Any, value: Any) -> tuple[Any, ...]:
    """:func:`put` where ``cond`` holds, else ``values`` unchanged (a conditional write)."""
    if not isinstance(cond, Symbolic) and not isinstance(i, Symbolic):
        return put(values, i, value) if cond else values
    return tuple(ite(all_of(cond, i == k), value, v) for k, v in enumerate(values))


def member(x: Any, bits: Any) -> Any:
    """Whether ``x`` is in the bit mask ``bits``."""
    return (bits >> x) & 1 == 1


def with_member(bits: Any, x: Any) -> Any:
    """The bit mask ``bits`` with ``x`` added."""
    return bits | (1 << x)


def without_member(bits: Any, x: Any) -> Any:
    """The bit mask ``bits`` with ``x`` removed."""
    return bits & ~(1 << x)


def below(n: Any) -> Any:
    """The bit mask of every natural ``< n`` (empty when ``n <= 0``)."""
    return ite(n > 0, (1 << maximum(n, 0)) - 1, 0)


__all__ = [
    "BagOf",
    "Bits",
    "Each",
    "FieldType",
    "MapOf",
    "OneOf",
    "Range",
    "SubsetError",
    "Symbolic",
    "all_of",
    "any_of",
    "at",
    "below",
    "field_types",
    "implies",
    "ite",
    "maximum",
    "member",
    "minimum",
    "put",
    "put_if",
    "with_member",
    "without_member",
]
