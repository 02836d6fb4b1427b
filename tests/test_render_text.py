"""Golden tests of the plain-text rendering (width 100, no colour)."""

from __future__ import annotations

import attrs
from toy_specs import Counter, TwoProcessLock

from modelcheck import Statistics, check
from modelcheck.render.text import changes, render_result, render_summary, render_trace

# The shortest mutual-exclusion failure of the broken lock, in BFS order: both
# request (p=0 first, declaration order), then both acquire.
LOCK_TRACE = """\
Counterexample to mutual_exclusion (invariant): 4 steps
  step  action        changes
     0  (initial)     pc=(think, think), owner=-1
     1  request(p=0)  pc[0]: think → wait
     2  request(p=1)  pc[1]: think → wait
     3  acquire(p=0)  pc[0]: wait → crit, owner: -1 → 0
     4  acquire(p=1)  pc[1]: wait → crit, owner: 0 → 1
  violated: mutual_exclusion is false where pc=(crit, crit)"""

# The hand-computed figures of the broken lock are not pinned elsewhere, so the
# summary is rendered from fixed statistics: only the layout is under test.
LOCK_SUMMARY = (
    (
        "TwoProcessLock(broken=True)\n"
        "explored 14 distinct states, 28 transitions, depth 6 steps, in 0.50 s "
        "(28 states/s, peak memory 64 MiB): complete\n"
        "engine: python\n"
    )
    + """
  property          kind       verdict
  mutual_exclusion  invariant  VIOLATED  (shortest counterexample: 4 steps)
  no_deadlock       terminal   holds"""
)


def lock_result():
    result = check(TwoProcessLock(broken=True))
    return attrs.evolve(result, statistics=Statistics(14, 28, 6, 0.5, 64 * 2**20))


def test_a_counterexample_renders_as_a_table_of_changed_fields():
    trace = lock_result().verdict("mutual_exclusion").counterexample
    assert render_trace(trace, width=100) == LOCK_TRACE


def test_the_summary_lists_statistics_and_one_line_per_property():
    assert render_summary(lock_result()) == LOCK_SUMMARY


def test_rendering_is_stable_across_runs():
    first = render_trace(check(TwoProcessLock(broken=True)).verdicts[0].counterexample)
    second = render_trace(check(TwoProcessLock(broken=True)).verdicts[0].counterexample)
    assert first == second == LOCK_TRACE


def test_the_full_result_ends_with_one_greppable_key_value_line():
    text = render_result(lock_result())
    last = text.splitlines()[-1]
    assert last == (
        "result=violated states=14 transitions=28 depth=6 complete=true "
        "violated=mutual_exclusion seconds=0.500"
    )
    assert LOCK_TRACE in text


def test_a_one_step_counterexample_says_step_not_steps():
    result = check(Counter(n=3, bad=1))
    assert "(shortest counterexample: 1 step)" in render_summary(result)
    assert render_trace(result.verdicts[0].counterexample).startswith(
        "Counterexample to never_bad (invariant): 1 step\n"
    )


def test_an_incomplete_result_says_what_stopped_it():
    result = check(Counter(n=100), max_states=5)
    assert "INCOMPLETE (stopped by max_states)" in render_summary(result)
    assert "unknown" in render_summary(result)
    assert "result=incomplete" in render_result(result)


def test_long_change_lists_wrap_under_the_changes_column():
    trace = lock_result().verdict("mutual_exclusion").counterexample
    lines = render_trace(trace, width=40).splitlines()
    # width 40 leaves 40 - (4 + 12 + 6) = 18 < 30 columns, so wrapping uses 30:
    # "pc[0]: wait → crit, owner: -1 → 0" (34 chars) splits after the comma.
    row = lines.index("     3  acquire(p=0)  pc[0]: wait → crit,")
    assert lines[row + 1] == " " * 22 + "owner: -1 → 0"


def test_changes_report_tuple_positions_and_whole_values():
    before = {"pc": ("a", "b"), "store": frozenset({1}), "n": 1}
    after = {"pc": ("a", "c"), "store": frozenset({1, 2}), "n": 1}
    assert changes(before, after) == [
        ("pc[1]", "b", "c"),
        ("store", frozenset({1}), frozenset({1, 2})),
    ]
