"""A spec whose properties use what Python evaluates without asking the value.

``Probe`` reaches every combination of its fields (each ``set`` action puts
one field to one of its declared values), so a property's verdict is easy
to see by hand.  Its properties come in three groups, listed at the end:
those the symbolic engine supports with Python's meaning (its verdict must
equal breadth-first search's), those it must reject with their line, and
those that return something other than a bool.
"""

from __future__ import annotations

import enum
from typing import Annotated

from modelcheck import Spec, State, action, action_property, invariant
from modelcheck.symbolic import Each, OneOf, Range


class Color(enum.Enum):
    RED = 1
    BLUE = 2


TWO = 2
LETTER_A = "a"


class ProbeState(State):
    flag: bool
    n: Annotated[int, Range(0, 3)]
    mode: Annotated[object, OneOf("a", "b", None)]
    k: Annotated[int, OneOf(1, 2, 3)]
    color: Color
    pc: Annotated[tuple[int, ...], Each(2, Range(0, 1))]
    bumps: Annotated[int, Range(0, 2)]


VALUES = {
    "flag": (True, False),
    "n": (0, 1, 2, 3),
    "mode": ("a", "b", None),
    "k": (1, 2, 3),
    "color": (Color.RED, Color.BLUE),
}

#: Written as a lambda: the guard cannot instrument it, so it must be rejected.
IS_NONE = lambda x: x is None  # noqa: E731


class Probe(Spec):
    """Every field settable to every declared value; ``bump`` only while ``mode is None``."""

    def initial_states(self) -> ProbeState:
        return ProbeState(flag=True, n=0, mode="a", k=1, color=Color.RED, pc=(0, 0), bumps=0)

    @action(field=tuple(VALUES), i=range(4))
    def set(self, s: ProbeState, field: str, i: int) -> ProbeState | None:
        values = VALUES[field]
        if i >= len(values):
            return None
        return s.replace(**{field: values[i]})

    @action(j=range(2))
    def flip(self, s: ProbeState, j: int) -> ProbeState:
        pc = list(s.pc)
        pc[j] = 1 - pc[j]
        return s.replace(pc=tuple(pc))

    @action
    def bump(self, s: ProbeState) -> ProbeState | None:
        if s.mode is None and s.bumps < 2:
            return s.replace(bumps=s.bumps + 1)
        return None

    # --- supported: the symbolic verdict is Python's ------------------------------------

    @invariant
    def flag_is_not_false(self, s: ProbeState) -> bool:
        return s.flag is not False

    @invariant
    def flag_is_a_bool(self, s: ProbeState) -> bool:
        return isinstance(s.flag, bool)

    @invariant
    def mode_is_not_none(self, s: ProbeState) -> bool:
        return s.mode is not None

    @invariant
    def mode_differs_from_none(self, s: ProbeState) -> bool:
        return s.mode != None  # noqa: E711 - the == path, beside the `is` one

    @invariant
    def color_is_not_blue(self, s: ProbeState) -> bool:
        return s.color is not Color.BLUE

    @invariant
    def n_is_an_int(self, s: ProbeState) -> bool:
        return type(s.n) is int and s.n.__class__ is int

    @invariant
    def n_is_not_callable(self, s: ProbeState) -> bool:
        return not callable(s.n)

    @invariant
    def mode_is_a_string(self, s: ProbeState) -> bool:
        return isinstance(s.mode, str)

    @invariant
    def k_is_not_one(self, s: ProbeState) -> bool:
        return s.k != 1

    @invariant
    def k_is_below_three(self, s: ProbeState) -> bool:
        return s.k < 3

    @invariant
    def k_equals_true_only_when_one(self, s: ProbeState) -> bool:
        return s.k == True or s.k != 1  # noqa: E712 - True == 1 in Python

    @invariant
    def n_equals_a_float(self, s: ProbeState) -> bool:
        return s.n == 2.0 or s.n != 2

    @invariant
    def pc_is_not_none(self, s: ProbeState) -> bool:
        return s.pc is not None and all(x is not None for x in s.pc)

    @invariant
    def mode_is_truthy_unless_none(self, s: ProbeState) -> bool:
        return bool(s.mode) or s.mode is None

    @invariant
    def bumped_at_most_once(self, s: ProbeState) -> bool:
        return s.bumps < 2

    @invariant
    def mode_among_a_tuple(self, s: ProbeState) -> bool:
        return s.mode in (None, "a")  # `in` tries identity before ==

    @invariant
    def pc_is_a_nonempty_tuple(self, s: ProbeState) -> bool:
        return bool(s.pc) and len(s.pc) == 2  # a tuple's truth is its length

    @invariant
    def n_is_truthy_unless_zero(self, s: ProbeState) -> bool:
        return bool(s.n) or s.n == 0

    # --- outside the subset: rejected with the line --------------------------------------

    @invariant
    def n_is_two(self, s: ProbeState) -> bool:
        return s.n is not TWO

    @invariant
    def mode_is_letter_a(self, s: ProbeState) -> bool:
        return s.mode is not LETTER_A

    @invariant
    def n_has_an_id(self, s: ProbeState) -> bool:
        return id(s.n) > 0

    @invariant
    def n_repr(self, s: ProbeState) -> bool:
        return repr(s.n) != "2"

    @invariant
    def n_percent_r(self, s: ProbeState) -> bool:
        return "%r" % (s.n,) != "2"  # noqa: UP031 - the %r path, beside repr()

    @invariant
    def n_str(self, s: ProbeState) -> bool:
        return str(s.n) != "2"

    @invariant
    def n_f_string(self, s: ProbeState) -> bool:
        return f"{s.n}" != "2"

    @invariant
    def n_hashed(self, s: ProbeState) -> bool:
        return hash(s.n) != 2

    @invariant
    def mode_among_a_set(self, s: ProbeState) -> bool:
        return s.mode in {None, "a"}

    @invariant
    def mode_type(self, s: ProbeState) -> bool:
        return type(s.mode) is str

    @invariant
    def mode_matched(self, s: ProbeState) -> bool:
        match s.mode:
            case None:
                return False
            case _:
                return True

    @invariant
    def swallowed_error(self, s: ProbeState) -> bool:
        try:
            return int(s.n) >= 0
        except Exception:
            return False  # the subset error must not become this result

    @invariant
    def through_a_lambda(self, s: ProbeState) -> bool:
        return not IS_NONE(s.mode)

    @action_property
    def pc_is_the_same_object(self, s: ProbeState, t: ProbeState) -> bool:
        return t.pc is s.pc or t.pc != s.pc

    # --- results that are not bools -------------------------------------------------------

    @invariant
    def returns_a_generator(self, s: ProbeState) -> bool:
        return (x == 0 for x in s.pc)  # type: ignore[return-value] - a forgotten all()

    @invariant
    def returns_a_string(self, s: ProbeState) -> bool:
        return "False"  # type: ignore[return-value]

    @invariant
    def returns_none(self, s: ProbeState) -> bool:  # type: ignore[return] - forgotten return
        s.n == 0  # noqa: B015


SUPPORTED = (
    "flag_is_not_false",
    "flag_is_a_bool",
    "mode_is_not_none",
    "mode_differs_from_none",
    "color_is_not_blue",
    "n_is_an_int",
    "n_is_not_callable",
    "mode_is_a_string",
    "k_is_not_one",
    "k_is_below_three",
    "k_equals_true_only_when_one",
    "n_equals_a_float",
    "pc_is_not_none",
    "mode_is_truthy_unless_none",
    "bumped_at_most_once",
    "mode_among_a_tuple",
    "pc_is_a_nonempty_tuple",
    "n_is_truthy_unless_zero",
)
#: Property name -> a piece of the message that says why it is rejected.
REJECTED = {
    "n_is_two": "`is` with int 2",
    "mode_is_letter_a": "`is` with str 'a'",
    "n_has_an_id": "id() of a symbolic value",
    "n_repr": "repr() of a symbolic value",
    "n_percent_r": "repr() of a symbolic value",
    "n_str": "str() of a symbolic value",
    "n_f_string": "formatting a symbolic value as text",
    "n_hashed": "it has no hash",
    "mode_among_a_set": "set element or dict key",
    "mode_type": "type() of a symbolic value whose declared values are of different types",
    "mode_matched": "`match` on a symbolic value",
    "swallowed_error": "int() of a symbolic value",
    "through_a_lambda": "not a lambda",
    "pc_is_the_same_object": "`is` between tuples or states",
}
NOT_BOOL = {
    "returns_a_generator": "generator",
    "returns_a_string": "str 'False'",
    "returns_none": "NoneType None",
}
