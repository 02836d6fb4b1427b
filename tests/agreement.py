"""The one check that two engines agree: what the differential tests hold every engine to."""

from __future__ import annotations

from modelcheck import CheckResult


def assert_same(reference: CheckResult, other: CheckResult) -> None:
    """``other`` (any engine) gives the Python engine's answer ``reference``: counts,
    transitions, depth, completeness, why it stopped, and every verdict as an object
    (status, and the very same first-found trace)."""
    r, o = reference.statistics, other.statistics
    assert (o.states, o.transitions, o.depth) == (r.states, r.transitions, r.depth)
    assert (other.stopped_by, other.complete) == (reference.stopped_by, reference.complete)
    assert other.symmetry == reference.symmetry
    for mine, theirs in zip(other.verdicts, reference.verdicts, strict=True):
        assert mine == theirs, mine.property
