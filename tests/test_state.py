"""State records: construction, immutability, equality, formatting."""

from __future__ import annotations

import copy
import pickle

import attrs
import pytest

from modelcheck import State
from modelcheck.state import format_value, is_frozen_state, state_fields


class Point(State):
    x: int
    y: int = 0


class Point3(Point):
    z: int = 0


def test_fields_are_read_by_name_in_declaration_order():
    p = Point(3, y=4)
    assert (p.x, p.y) == (3, 4)
    assert Point._fields == ("x", "y")
    assert p.to_dict() == {"x": 3, "y": 4}
    assert list(p.items()) == [("x", 3), ("y", 4)]


def test_a_field_with_a_default_may_be_omitted():
    assert Point(1) == Point(1, 0)


def test_a_missing_required_field_is_a_type_error():
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]


def test_fields_cannot_be_assigned():
    p = Point(1, 2)
    with pytest.raises(AttributeError):
        p.x = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        p.extra = 5  # type: ignore[attr-defined]


def test_replace_changes_only_the_named_fields_and_leaves_the_original_alone():
    p = Point(1, 2)
    q = p.replace(y=7)
    assert q == Point(1, 7)
    assert p == Point(1, 2)
    assert type(q) is Point


def test_replace_rejects_an_unknown_field():
    with pytest.raises(TypeError):
        Point(1, 2).replace(w=3)


def test_equal_states_hash_equal_and_deduplicate_in_a_set():
    assert Point(1, 2) == Point(x=1, y=2)
    assert hash(Point(1, 2)) == hash(Point(1, 2))
    assert len({Point(1, 2), Point(1, 2), Point(2, 1)}) == 2


def test_a_subclass_inherits_fields_and_adds_its_own_after_them():
    p = Point3(1, 2, 3)
    assert Point3._fields == ("x", "y", "z")
    assert p.replace(z=9).to_dict() == {"x": 1, "y": 2, "z": 9}


def test_repr_shows_class_and_fields():
    assert repr(Point(1, 2)) == "Point(x=1, y=2)"


def test_states_survive_copy_and_pickle():
    p = Point3(1, 2, 3)
    assert copy.deepcopy(p) == p
    restored = pickle.loads(pickle.dumps(p))
    assert restored == p
    assert type(restored) is Point3


def test_a_field_name_starting_with_underscore_is_refused_naming_the_field():
    with pytest.raises(TypeError, match=r"Bad\._hidden"):

        class Bad(State):
            _hidden: int


def test_a_required_field_after_a_defaulted_one_is_refused():
    with pytest.raises(TypeError, match=r"without a default follows"):

        class Bad(State):
            a: int = 0
            b: int


def test_states_of_different_classes_with_equal_values_are_different():
    class Request(State):
        n: int

    class Reply(State):
        n: int

    assert Request(1) != Reply(1)
    assert len(frozenset({Request(1), Reply(1)})) == 2


def test_is_frozen_state_accepts_state_records_and_frozen_attrs_only():
    @attrs.frozen
    class Frozen:
        a: int

    @attrs.define
    class Mutable:
        a: int

    assert is_frozen_state(Point(1))
    assert is_frozen_state(Frozen(1))
    assert not is_frozen_state(Mutable(1))
    assert not is_frozen_state((1, 2))
    assert not is_frozen_state({"a": 1})


def test_state_fields_reads_state_records_and_attrs_instances():
    @attrs.frozen
    class Frozen:
        a: int
        b: str

    assert state_fields(Point(1, 2)) == {"x": 1, "y": 2}
    assert state_fields(Frozen(1, "q")) == {"a": 1, "b": "q"}
    assert state_fields(42) is None


def test_format_value_sorts_sets_numbers_numerically_then_text():
    assert format_value(frozenset({10, 9, 1})) == "{1, 9, 10}"
    assert format_value(frozenset({"b", "a", "10", "9"})) == "{9, 10, a, b}"


def test_format_value_shows_strings_bare_and_tuples_with_python_syntax():
    assert format_value("Idle") == "Idle"
    assert format_value((1, "a")) == "(1, a)"
    assert format_value((1,)) == "(1,)"
    assert format_value(()) == "()"
    assert format_value(True) == "True"


def test_replace_refuses_positional_values_and_names_the_fix():
    with pytest.raises(TypeError, match=r"field names only, e\.g\. state\.replace\(x=\.\.\.\)"):
        Point(1, 2).replace(5)


def test_a_field_may_be_called_self():
    class Odd(State):
        self: int
        other: int = 0

    assert Odd(self=1).replace(self=2).to_dict() == {"self": 2, "other": 0}
