"""The spec API (what users write) and every mistake it reports, compiled via compile_spec."""

from __future__ import annotations

import attrs
import pytest
from toy_specs import BoundedQueue, Count, Counter, OperatorRepair, TwoProcessLock

from modelcheck import (
    Spec,
    SpecError,
    SpecRuntimeError,
    State,
    action,
    action_property,
    check,
    compile_spec,
    invariant,
    recoverable,
    terminal,
)

# --- the API -------------------------------------------------------------------------------


def test_a_spec_is_a_frozen_attrs_class_of_its_parameters():
    spec = Counter(n=3)
    assert spec.parameters == {"n": 3, "bad": -1, "explode_at": -1}
    assert attrs.has(Counter)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        spec.n = 4  # type: ignore[misc]
    assert Counter(n=3) == Counter(n=3)


def test_parameters_are_keyword_only():
    with pytest.raises(TypeError):
        Counter(3)  # type: ignore[misc]


def test_compile_spec_lists_one_action_instance_per_family_and_argument_in_order():
    model = compile_spec(TwoProcessLock())
    labels = [a.label for a in model.actions]
    assert labels == [
        "request(p=0)",
        "request(p=1)",
        "acquire(p=0)",
        "acquire(p=1)",
        "release(p=0)",
        "release(p=1)",
    ]
    assert [a.index for a in model.actions] == list(range(6))
    assert model.families == ("request", "acquire", "release")
    assert [a.actor for a in model.actions[:2]] == ["P0", "P1"]


def test_a_domain_may_name_an_int_parameter_meaning_range_of_it():
    class Many(Spec):
        k: int = 3

        def initial_states(self):
            return Count(0)

        @action(i="k")
        def bump(self, s, i):
            return None

    model = compile_spec(Many(k=4))
    assert [a.arguments for a in model.actions] == [{"i": i} for i in range(4)]


def test_a_domain_may_be_a_function_of_the_spec():
    model = compile_spec(BoundedQueue(alphabet=("x", "y", "z")))
    assert [a.label for a in model.actions] == ["put(v='x')", "put(v='y')", "put(v='z')", "get()"]


def test_an_action_with_two_parameters_ranges_over_their_product():
    class Pairs(Spec):
        def initial_states(self):
            return Count(0)

        @action(a=(0, 1), b=("x", "y", "z"))
        def pick(self, s, a, b):
            return None

    model = compile_spec(Pairs())
    assert len(model.actions) == 6
    assert model.actions[1].arguments == {"a": 0, "b": "y"}


def test_properties_are_compiled_in_declaration_order_with_kind_and_docstring():
    model = compile_spec(Counter())
    assert [(p.name, p.kind) for p in model.properties] == [
        ("never_bad", "invariant"),
        ("goes_up_by_one", "action"),
        ("stops_only_at_n", "terminal"),
        ("can_reach_n", "recoverable"),
    ]
    assert model.property("never_bad").doc == "The counter never shows the forbidden value."
    assert "Counter.never_bad" in model.property("never_bad").source


def test_recoverable_using_is_recorded_as_a_set_of_families():
    model = compile_spec(OperatorRepair())
    assert model.property("recovers").using is None
    assert model.property("recovers_automatically").using == frozenset({"fail", "restart"})


def test_recoverable_using_a_single_string_means_that_one_family():
    class One(OperatorRepair):
        @recoverable(using="restart")
        def restart_only(self, s):
            return s.healthy

    assert compile_spec(One()).property("restart_only").using == frozenset({"restart"})


def test_property_decorators_work_with_and_without_parentheses():
    class Both(Spec):
        def initial_states(self):
            return Count(0)

        @action()
        def noop(self, s):
            return None

        @invariant()
        def a(self, s):
            return True

        @terminal()
        def b(self, s):
            return True

        @action_property()
        def c(self, s, t):
            return True

    assert [p.kind for p in compile_spec(Both()).properties] == ["invariant", "terminal", "action"]


def test_an_unknown_property_name_gets_a_suggestion():
    model = compile_spec(Counter())
    with pytest.raises(SpecError, match=r"Did you mean 'never_bad'"):
        model.property("never_bda")


def test_a_subclass_inherits_actions_and_properties_and_may_override_them():
    class Faster(Counter):
        @action
        def inc(self, s):
            return Count(s.value + 2) if s.value < self.n else None

    model = compile_spec(Faster(n=4))
    assert [a.family for a in model.actions] == ["inc"]
    result = check(Faster(n=4))
    assert result.statistics.states == 3  # 0, 2, 4


def test_duplicate_initial_states_are_counted_once():
    class Twice(Counter):
        def initial_states(self):
            return [Count(0), Count(0), Count(1)]

    assert compile_spec(Twice()).initial_states == (Count(0), Count(1))


# --- mistakes in a spec ----------------------------------------------------------------------


def test_a_spec_without_actions_is_refused_with_the_fix():
    class Still(Spec):
        def initial_states(self):
            return Count(0)

    with pytest.raises(SpecError, match=r"Still declares no actions.*@action"):
        compile_spec(Still())


def test_an_action_whose_signature_does_not_match_its_domains_is_refused_naming_it():
    class Wrong(Spec):
        def initial_states(self):
            return Count(0)

        @action(e=(0, 1))
        def go(self, s):
            return None

    with pytest.raises(SpecError, match=r"Wrong\.go .*def go\(self, state, e\)") as info:
        compile_spec(Wrong())
    assert isinstance(info.value, TypeError)  # a spec mistake is also a TypeError


def test_an_action_parameter_with_a_different_name_from_its_domain_is_refused():
    class Wrong(Spec):
        def initial_states(self):
            return Count(0)

        @action(e=(0, 1))
        def go(self, s, p):
            return None

    with pytest.raises(SpecError, match=r"Wrong\.go"):
        compile_spec(Wrong())


def test_a_property_with_the_wrong_number_of_parameters_is_refused():
    class Wrong(Counter):
        @action_property
        def step_ok(self, s):
            return True

    expected = r"Wrong\.step_ok .* is an action property .*\(self, before, after\)"
    with pytest.raises(SpecError, match=expected):
        compile_spec(Wrong())


def test_a_method_marked_both_action_and_property_is_refused():
    class Wrong(Counter):
        @invariant
        @action
        def confused(self, s):
            return None

    with pytest.raises(SpecError, match=r"both as an action and as a property"):
        compile_spec(Wrong())


def test_a_domain_naming_an_unknown_parameter_is_refused_with_a_suggestion():
    class Wrong(Spec):
        enactors: int = 2

        def initial_states(self):
            return Count(0)

        @action(e="enactor")
        def go(self, s, e):
            return None

    with pytest.raises(SpecError, match=r"'enactor', which is not a parameter.*'enactors'"):
        compile_spec(Wrong())


def test_a_domain_naming_a_non_int_parameter_is_refused():
    class Wrong(Spec):
        flag: bool = True

        def initial_states(self):
            return Count(0)

        @action(e="flag")
        def go(self, s, e):
            return None

    with pytest.raises(SpecError, match=r"not a non-negative int"):
        compile_spec(Wrong())


def test_a_domain_with_an_unhashable_value_is_refused():
    class Wrong(Spec):
        def initial_states(self):
            return Count(0)

        @action(e=([1], [2]))
        def go(self, s, e):
            return None

    with pytest.raises(SpecError, match=r"unhashable value"):
        compile_spec(Wrong())


def test_recoverable_using_an_unknown_family_is_refused_with_a_suggestion():
    class Wrong(OperatorRepair):
        @recoverable(using=("restrat",))
        def typo(self, s):
            return s.healthy

    with pytest.raises(SpecError, match=r"Wrong\.typo.*'restrat'.*Did you mean 'restart'"):
        compile_spec(Wrong())


def test_a_spec_without_initial_states_method_is_refused():
    class NoStart(Spec):
        @action
        def go(self, s):
            return None

    with pytest.raises(SpecError, match=r"NoStart must define initial_states"):
        compile_spec(NoStart())


def test_a_spec_whose_initial_states_are_empty_is_refused():
    class Empty(Counter):
        def initial_states(self):
            return []

    with pytest.raises(SpecError, match=r"returned no state"):
        compile_spec(Empty())


def test_initial_states_that_raise_are_a_spec_runtime_error():
    class Broken(Counter):
        def initial_states(self):
            raise KeyError("oops")

    with pytest.raises(SpecRuntimeError, match=r"Broken\.initial_states raised KeyError"):
        compile_spec(Broken())


def test_a_mutable_state_is_refused_with_the_fix():
    @attrs.define
    class Mutable:
        value: int

    class Wrong(Counter):
        def initial_states(self):
            return [Mutable(0)]

    with pytest.raises(SpecError, match=r"not an immutable state record.*modelcheck.State"):
        compile_spec(Wrong())


def test_a_plain_dict_state_is_refused():
    class Wrong(Counter):
        def initial_states(self):
            return [{"value": 0}]

    with pytest.raises(SpecError, match=r"not an immutable state record"):
        compile_spec(Wrong())


def test_a_state_with_an_unhashable_field_is_refused_naming_tuple_and_frozenset():
    class Bag(State):
        items: list

    class Wrong(Counter):
        def initial_states(self):
            return Bag([1, 2])

    with pytest.raises(SpecError, match=r"unhashable field.*tuple instead of list"):
        compile_spec(Wrong())


def test_initial_states_of_two_types_are_refused():
    class Other(State):
        value: int

    class Wrong(Counter):
        def initial_states(self):
            return [Count(0), Other(1)]

    with pytest.raises(SpecError, match=r"two types.*Count and Other"):
        compile_spec(Wrong())


def test_compiling_something_that_is_not_a_spec_is_refused():
    with pytest.raises(SpecError, match=r"not a modelcheck spec"):
        compile_spec(object())  # type: ignore[arg-type]


def test_a_spec_parameter_without_a_default_is_refused_when_the_class_is_defined():
    from modelcheck import Spec, SpecError

    with pytest.raises(SpecError, match=r"Sized\.size: every spec parameter needs a default"):

        class Sized(Spec):
            size: int
