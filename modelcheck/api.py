"""Library entry points: check a spec instance in one call."""

from __future__ import annotations

from typing import Any

from modelcheck.engines.bfs import CheckOptions, ProgressCallback
from modelcheck.engines.selection import check as _check
from modelcheck.errors import PropertyViolation
from modelcheck.model import compile_spec
from modelcheck.result import CheckResult
from modelcheck.spec import Spec


def check(spec: Spec, *, progress: ProgressCallback | None = None, **options: Any) -> CheckResult:
    """Explore every reachable state of ``spec`` and return the verdicts.

    ``options`` are the fields of :class:`CheckOptions` (``properties``,
    ``max_states``, ``max_depth``, ``time_limit``, ``stop_at_first``,
    ``engine="auto" | "python" | "compiled"``, ``symmetry=True`` to explore one
    state per orbit of the spec's :class:`~modelcheck.spec.Symmetry`,
    ``ray="local"`` or ``ray="HOST:PORT"`` with ``shards=N`` for the cluster
    search on Ray, ``store="fingerprints"`` to keep 64-bit fingerprints instead
    of states: a few bytes a state, but not an exact search)::

        result = check(DnsRace(check_at_apply=True))
        assert result.ok
    """
    names = options.get("properties")
    if names is not None:
        # properties="x" names one property, not the letters of "x".
        options["properties"] = (names,) if isinstance(names, str) else tuple(names)
    return _check(compile_spec(spec), CheckOptions(**options), progress)


def assert_holds(spec: Spec, **options: Any) -> CheckResult:
    """Like :func:`check`, but raise :class:`PropertyViolation` (an ``AssertionError``).

    For pytest: the message contains the shortest counterexample as a table.
    An incomplete search also fails, since nothing was proved.
    """
    from modelcheck.render.text import render_trace  # rendering only when failing

    result = check(spec, **options)
    for verdict in result.violated:
        trace = verdict.counterexample
        table = render_trace(trace) if trace is not None else verdict.reason
        raise PropertyViolation(f"{result.spec}: {verdict.property} is violated.\n{table}", trace)
    if not result.ok:
        raise PropertyViolation(
            f"{result.spec}: the search was incomplete (stopped by {result.stopped_by}); "
            "nothing was proved"
        )
    return result
