"""Stuttering: action properties see self-loop steps; ``changing=`` gives TLA+'s ``[A]_v``."""

from __future__ import annotations

import pytest
from constraint_toys import Stutter

from modelcheck import Spec, SpecError, State, Status, action, action_property, check, compile_spec
from modelcheck.engines.simulate import SimulateOptions, simulate


def test_a_self_loop_is_a_step_that_action_properties_see():
    result = check(Stutter())
    ce = result.verdict("rises").counterexample
    assert [s.label for s in ce.steps] == ["idle()"]
    assert ce.final == ce.initial
    assert result.verdict("rises").reason == "rises is false on this step: level: 0 → 0"


def test_self_loops_count_as_transitions():
    # 6 states; idle in each (6), brighten from level 0 and 1 (4), switch in each (6).
    result = check(Stutter())
    assert (result.statistics.states, result.statistics.transitions) == (6, 16)


def test_changing_checks_only_the_steps_that_change_the_named_fields():
    result = check(Stutter())
    assert result.verdict("rises_when_it_changes").status is Status.HOLDS
    assert result.verdict("never_dims").status is Status.HOLDS


def test_changing_still_checks_a_step_that_changes_a_named_field():
    class Dims(Spec):
        def initial_states(self):
            return _Lamp(2, False)

        @action
        def dim(self, s):
            return s.replace(level=s.level - 1) if s.level > 0 else None

        @action
        def switch(self, s):
            return s.replace(on=not s.on)

        @action_property(changing="level")
        def rises(self, before, after):
            return after.level > before.level

    ce = check(Dims()).verdict("rises").counterexample
    assert [s.label for s in ce.steps] == ["dim()"]


class _Lamp(State):
    level: int
    on: bool


def test_changing_works_in_simulation_and_in_prove():
    model = compile_spec(Stutter())
    sim = simulate(model, SimulateOptions(runs=20, depth=20, properties=("rises_when_it_changes",)))
    assert sim.violated == ()
    from modelcheck.engines.z3 import prove

    proved = prove(model, 1, ("rises_when_it_changes", "never_dims", "rises"))
    assert proved.verdict("rises_when_it_changes").status is Status.HOLDS
    assert proved.verdict("never_dims").status is Status.HOLDS
    assert len(proved.verdict("rises").counterexample) == 1


def test_changing_names_a_field_that_does_not_exist_is_a_spec_error_with_a_suggestion():
    class Typo(Spec):
        def initial_states(self):
            return _Lamp(0, False)

        @action
        def switch(self, s):
            return s.replace(on=not s.on)

        @action_property(changing="levle")
        def rises(self, before, after):
            return after.level > before.level

    with pytest.raises(SpecError, match=r"names 'levle', which is not a field of _Lamp.*'level'"):
        compile_spec(Typo())


def test_changing_with_no_field_is_refused():
    with pytest.raises(TypeError, match="needs at least one field name"):
        action_property(changing=())
