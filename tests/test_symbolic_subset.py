"""The symbolic subset: declared types, the helpers, and clear errors outside the subset."""

from __future__ import annotations

import subprocess
import sys

import pytest
from dns_race import DnsRace
from symbolic_toys import ComputedIndex, Overflow, TwoProcessLock, Unbounded, UsesASet

from modelcheck import compile_spec
from modelcheck.symbolic import (
    BitsType,
    EnumType,
    IntType,
    SubsetError,
    TupleType,
    all_of,
    any_of,
    at,
    below,
    field_types,
    implies,
    ite,
    maximum,
    member,
    minimum,
    put,
    put_if,
    with_member,
    without_member,
)


def test_helpers_on_concrete_values_are_plain_python():
    assert ite(True, 1, 2) == 1 and ite(0, 1, 2) == 2
    assert maximum(3, 5) == 5 and minimum(3, 5) == 3
    assert at((4, 5, 6), 1) == 5
    assert put((4, 5, 6), 1, 9) == (4, 9, 6)
    assert put_if(False, (4, 5), 0, 9) == (4, 5) and put_if(True, (4, 5), 0, 9) == (9, 5)
    assert member(2, 0b100) and not member(1, 0b100)
    assert with_member(0b100, 1) == 0b110 and without_member(0b110, 2) == 0b010
    assert below(3) == 0b111 and below(0) == 0 and below(-2) == 0
    assert all_of(True, 1, True) and not all_of(True, False)
    assert any_of(False, True) and not any_of(False, 0)
    assert implies(False, False) and not implies(True, False)


def test_dns_race_declares_bounded_types_resolved_against_its_parameters():
    types = field_types(
        type(compile_spec(DnsRace()).initial_states[0]), DnsRace(enactors=3, generations=7)
    )
    assert types["latest"] == IntType(1, 7)
    assert types["store"] == BitsType(1, 7)
    assert types["pc"] == TupleType(3, EnumType(("Idle", "Applying", "Cleaning")))
    assert types["next"] == TupleType(3, IntType(0, 2))


def test_lemmas_are_kept_apart_from_the_properties_check_reports():
    model = compile_spec(DnsRace())
    assert [p.name for p in model.properties] == [
        "active_plan_never_deleted",
        "applied_generation_monotonic",
        "always_recoverable",
        "no_unexpected_deadlock",
    ]
    assert len(model.lemmas) == 3 and all(lemma.lemma for lemma in model.lemmas)


def test_lemmas_hold_in_every_reachable_state_of_small_configurations():

    for spec in (DnsRace(check_at_apply=True), DnsRace(check_at_apply=True, enactors=3)):
        model = compile_spec(spec)
        seen = set(model.initial_states)
        frontier = list(seen)
        while frontier:
            state = frontier.pop()
            for lemma in model.lemmas:
                assert lemma.check(state), (lemma.name, state)
            for _, nxt in model.successors(state):
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)


def test_the_symbolic_module_does_not_import_z3():
    code = "import modelcheck, modelcheck.symbolic, sys; print('z3' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _bmc(spec):
    from modelcheck.engines.z3 import bmc

    return bmc(compile_spec(spec), 4)


def test_a_field_without_bounds_is_named_with_the_fix():
    with pytest.raises(SubsetError, match=r"Plain\.value .*symbolic_toys\.py:\d+.*Range"):
        _bmc(Unbounded())


def test_a_symbolic_value_in_a_python_set_is_named_with_its_line():
    with pytest.raises(SubsetError) as info:
        _bmc(UsesASet())
    message = str(info.value)
    assert "UsesASet.inc" in message and "set element or dict key" in message
    assert "symbolic_toys.py:" in message and "seen = {s.value}" in message


def test_a_computed_symbolic_index_is_named_with_the_helper_to_use():
    with pytest.raises(SubsetError, match=r"computed symbolic index.*at\(seq, i\)") as info:
        _bmc(ComputedIndex())
    assert "s.values[s.i + 1]" in str(info.value)


def test_a_state_leaving_its_declared_range_is_reported_with_the_run():
    with pytest.raises(SubsetError, match=r"declared field types after 4 steps \(value=4\)"):
        _bmc(Overflow())


def test_specs_outside_the_subset_still_work_with_the_explicit_engine():
    from modelcheck import check

    assert check(Unbounded()).complete and check(UsesASet()).complete
    assert check(TwoProcessLock(broken=True)).violated
