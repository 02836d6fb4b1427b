"""Immutable state records: :class:`State`.

A spec's state is a small record of named fields::

    class Counter(State):
        value: int
        done: bool = False

Why not an attrs class?  Exhaustive search spends most of its time building
successor states and looking them up in the visited set.  For a seven-field
record on CPython 3.11 we measured (``timeit``, one core): attrs ``frozen``
construction 0.54 µs, ``__hash__`` 0.16 µs, ``__eq__`` 0.14 µs, because attrs
generates those methods in Python.  A tuple-backed record does the same in
0.24 / 0.065 / 0.037 µs: hashing and equality run in C.  On dns-race that is
the difference between ~1.8x and ~1.4x the time of a hand-written BFS, so
states are tuple-backed records while specs (parameters) stay attrs classes.
Frozen attrs classes still work as states for every engine; they are slower.

Fields are read by name (``s.value``), never assigned; a new state is made
with the constructor or :meth:`State.replace`.  Item 0 of the underlying
tuple is a tag naming the class, so records of different classes never
compare equal, nor does a record and a plain tuple; do not index or iterate
a state, read its fields by name.  Field values must be hashable
and immutable (ints, bools, strings, tuples, frozensets, other states, and
the maps and bags of :mod:`modelcheck.containers`).
"""

from __future__ import annotations

import enum
import zlib
from collections.abc import Callable, Iterator
from functools import cache
from operator import itemgetter
from typing import (
    Annotated,
    Any,
    ClassVar,
    dataclass_transform,
    get_origin,
    get_type_hints,
)

from modelcheck.containers import Bag, FrozenMap

_MISSING: Any = object()


def _annotations_of(namespace: dict[str, Any]) -> dict[str, Any]:
    return dict(namespace.get("__annotations__", {}))


class _StateMeta(type):
    """Turns annotated fields into read-only properties of a tuple subclass."""

    def __new__(
        mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> _StateMeta:
        inherited: list[str] = []
        inherited_defaults: dict[str, Any] = {}
        for base in bases:
            inherited.extend(f for f in getattr(base, "_fields", ()) if f not in inherited)
            inherited_defaults.update(getattr(base, "_defaults", {}))
        own: list[str] = []
        defaults = dict(inherited_defaults)
        for field, annotation in _annotations_of(namespace).items():
            if str(annotation).startswith(("ClassVar", "typing.ClassVar")):
                continue
            if field.startswith("_"):
                raise TypeError(
                    f"{name}.{field}: state field names may not start with '_' "
                    "(they would clash with the record's own methods); rename the field."
                )
            if field not in inherited:
                own.append(field)
            if field in namespace:
                defaults[field] = namespace.pop(field)
        fields = tuple(inherited + own)
        # A field without a default may not follow one with a default.
        seen_default = False
        for field in fields:
            if field in defaults:
                seen_default = True
            elif seen_default:
                raise TypeError(
                    f"{name}.{field}: a field without a default follows a field with one; "
                    "move it before the fields that have defaults."
                )
        namespace["__slots__"] = ()
        namespace["_fields"] = fields
        namespace["_defaults"] = defaults
        # Item 0 is the class tag; fields follow.
        for i, field in enumerate(fields, start=1):
            namespace[field] = _field_reader(i, f"State field {field!r}.")
        cls = super().__new__(mcs, name, bases, namespace, **kwargs)
        cls._tag = _class_tag(cls)
        if fields:
            _install_constructors(cls, fields, defaults)
        return cls


_TAGS: dict[int, type] = {}

try:
    # The C descriptor namedtuple uses: reading a field costs 14 ns instead of
    # 24 ns with property(itemgetter(i)) (timeit, CPython 3.11), and actions
    # read fields millions of times.  It is private, so fall back if it goes.
    from collections import _tuplegetter as _field_reader  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - other Pythons

    def _field_reader(index: int, doc: str) -> Any:
        return property(itemgetter(index), doc=doc)


def _class_tag(cls: type) -> int:
    """A small int naming ``cls``, the same in every run of the same program.

    Stored as item 0 of every instance, it keeps states of different classes
    with equal field values apart (and apart from plain tuples) while hashing
    and comparison stay in C.  An int rather than the class object or its
    name, because both of those hash differently from run to run, and sets of
    states must iterate in the same order every time.
    """
    tag = zlib.crc32(f"{cls.__module__}.{cls.__qualname__}".encode())
    while tag in _TAGS and _TAGS[tag] is not cls:
        tag += 1
    _TAGS[tag] = cls
    return tag


def _install_constructors(cls: Any, fields: tuple[str, ...], defaults: dict[str, Any]) -> None:
    # Generated once per class so construction costs one Python call plus a
    # C-level tuple creation; a generic ``*args`` loop would be ~2x slower.
    params = []
    env: dict[str, Any] = {
        "_tuple_new": tuple.__new__,
        "_MISSING": _MISSING,
        "_TAG": cls._tag,
        "_CLS": cls,
        "_positional": _replace_positional,
    }
    for field in fields:
        if field in defaults:
            env[f"_d_{field}"] = defaults[field]
            params.append(f"{field}=_d_{field}")
        else:
            params.append(field)
    values = ", ".join(fields)
    # ``replace`` runs once per step of a search, so its shape is chosen for
    # speed (timeit, seven fields, two changed: 300 ns -> 260 ns): fields are
    # positional-or-keyword parameters, because CPython fills missing ones
    # from a tuple of defaults but missing keyword-only ones by dict lookups;
    # the leading positional-only ``_args`` catches (and refuses) any
    # positional use, so callers must still name the fields.
    kept = ", ".join(f"_state[{i}] if {f} is _MISSING else {f}" for i, f in enumerate(fields, 1))
    source = (
        f"def __new__(_cls, {', '.join(params)}):\n"
        f"    return _tuple_new(_cls, (_TAG, {values}))\n"
        f"def replace(_state, _args=_MISSING, /, {', '.join(f + '=_MISSING' for f in fields)}):\n"
        f"    if _args is not _MISSING:\n"
        f"        _positional(_state)\n"
        f"    return _tuple_new(_CLS, (_TAG, {kept}))\n"
    )
    # The source is built from validated identifiers only.
    exec(compile(source, "<modelcheck state>", "exec"), env)
    new = env["__new__"]
    new.__qualname__ = f"{cls.__qualname__}.__new__"
    cls.__new__ = new
    replace = env["replace"]
    replace.__qualname__ = f"{cls.__qualname__}.replace"
    replace.__doc__ = "A copy of this state with the given fields changed."
    cls.replace = replace


def _replace_positional(state: State) -> None:
    name = type(state).__name__
    raise TypeError(
        f"{name}.replace() takes field names only, e.g. state.replace("
        f"{state._fields[0]}=...); positional values would be ambiguous."
    )


@dataclass_transform(frozen_default=True)
class State(tuple, metaclass=_StateMeta):  # type: ignore[misc]
    """Base class of immutable, hashable state records (see the module docs)."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}
    _tag: ClassVar[int] = 0

    def replace(self, **changes: Any) -> State:  # replaced per class
        """A copy of this state with the given fields changed."""
        raise NotImplementedError

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={v!r}" for f, v in zip(self._fields, self[1:], strict=True))
        return f"{type(self).__name__}({inner})"

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self[1:])

    def to_dict(self) -> dict[str, Any]:
        """The fields as an ordered ``{name: value}`` dict."""
        return dict(zip(self._fields, self[1:], strict=True))

    def items(self) -> Iterator[tuple[str, Any]]:
        """``(name, value)`` pairs in declaration order."""
        return zip(self._fields, self[1:], strict=True)


class _BitSetMeaning:
    """``Annotated`` metadata: this int field is a set of small naturals, bit i for i."""

    def __repr__(self) -> str:
        return "BitSet"


BITSET = _BitSetMeaning()

#: A set of small naturals kept as an int bit mask (bit ``i`` set when ``i`` is
#: a member).  Engines see the int, which is far cheaper to build, hash and
#: store than a frozenset; traces, JSON and messages show it as a set.
BitSet = Annotated[int, BITSET]


def bits_to_set(bits: int) -> frozenset[int]:
    """The members of a bit mask: ``0b1010`` gives ``{1, 3}``."""
    return frozenset(i for i in range(bits.bit_length()) if bits >> i & 1)


@cache
def display_converters(cls: type) -> dict[str, Callable[[Any], Any]]:
    """For a state class, ``{field: function}`` turning stored values into shown ones.

    Only fields annotated with a display meaning (:data:`BitSet`) appear.
    Annotations are resolved lazily so that ``from __future__ import
    annotations`` works; unresolvable annotations simply mean "show as is".
    """
    try:
        hints = get_type_hints(cls, include_extras=True)
    except Exception:
        return {}
    converters: dict[str, Callable[[Any], Any]] = {}
    for field in getattr(cls, "_fields", ()):
        hint = hints.get(field)
        if get_origin(hint) is Annotated and any(m is BITSET for m in hint.__metadata__):
            converters[field] = bits_to_set
    return converters


def shown_value(cls: type, field: str, value: Any) -> Any:
    """``value`` of ``field`` as people should see it (bit masks as sets)."""
    convert = display_converters(cls).get(field)
    return value if convert is None else convert(value)


def state_fields(state: object) -> dict[str, Any] | None:
    """``{field: value}`` for a :class:`State` or an attrs instance, else ``None``.

    Values are as shown to people (see :data:`BitSet`); this is what traces,
    JSON files and renderers use.
    """
    if isinstance(state, State):
        fields = state.to_dict()
        for name, convert in display_converters(type(state)).items():
            fields[name] = convert(fields[name])
        return fields
    fields = getattr(type(state), "__attrs_attrs__", None)
    if fields is not None:
        return {a.name: getattr(state, a.name) for a in fields}
    return None


def is_frozen_state(state: object) -> bool:
    """Whether ``state`` is a record the engines can use (immutable and named)."""
    if isinstance(state, State):
        return True
    cls = type(state)
    if getattr(cls, "__attrs_attrs__", None) is None:
        return False
    # attrs marks frozen classes by installing its own __setattr__.
    return getattr(cls.__setattr__, "__name__", "") == "_frozen_setattrs"


def format_value(value: Any) -> str:
    """A short, deterministic text for a field value (sets sorted, strings bare).

    A string is shown bare unless that would hide something: an empty string,
    or one with a newline, a tab, a NUL or another unprintable character, is
    shown quoted with escapes (``'\\x00'``), so a table stays one row per step.
    """
    if isinstance(value, str):
        return value if value.isprintable() and value else repr(value)
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return repr(value)
        except ValueError:  # more digits than Python converts to text
            return f"<an int of {value.bit_length():,} bits>"
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, frozenset | set):
        items = sorted((format_value(v) for v in value), key=_natural_key)
        return "{" + ", ".join(items) + "}"
    if isinstance(value, tuple) and not isinstance(value, State):
        inner = ", ".join(format_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={format_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, FrozenMap):
        # Keys are in canonical order already (the same in every run).
        return (
            "{" + ", ".join(f"{format_value(k)}: {format_value(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, Bag):
        return "{" + ", ".join(_copies(e, n) for e, n in value.items()) + "}"
    if value is ABSENT:
        return "-"
    return repr(value)


def _copies(element: Any, n: int) -> str:
    text = format_value(element)
    return text if n == 1 else f"{text} ×{n}"


class _Absent:
    """The "value" of a map key that has none, in per-key trace diffs (shown as ``-``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "-"


#: What a per-key diff shows for a key a :class:`FrozenMap` does not hold.
ABSENT: Any = _Absent()


def _natural_key(text: str) -> tuple[int, int | str]:
    # Numbers in numeric order, then everything else alphabetically.
    try:
        return (0, int(text))
    except ValueError:
        return (1, text)
