"""Checking a spec over a grid of parameter values: one row per configuration, and where each
property first fails.

The grid is the Cartesian product of the values given per parameter, in the
order given, the last parameter varying fastest (as nested loops would).
Each configuration is an ordinary :func:`modelcheck.check`, so every engine
and option applies and every row is the answer ``check`` gives on its own.
The *smallest failing configuration* of a property is the one with the
fewest reachable states among those where it is violated (ties: the first
in grid order): the smallest model that shows the bug, which is usually the
one whose counterexample is easiest to read.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from modelcheck.api import check
from modelcheck.result import CheckResult, ExitCode, Status
from modelcheck.spec import Spec

__all__ = ["SweepResult", "SweepRow", "sweep"]


@attrs.frozen
class SweepRow:
    """One configuration of the grid and its check."""

    parameters: Mapping[str, Any]
    result: CheckResult

    def steps(self, prop: str) -> int | None:
        """The length of ``prop``'s counterexample here (None where it has none)."""
        trace = self.result.verdict(prop).counterexample
        return None if trace is None else len(trace.steps)


@attrs.frozen
class SweepResult:
    """Every configuration's check, in grid order."""

    spec: str
    names: tuple[str, ...]
    rows: tuple[SweepRow, ...]

    @property
    def properties(self) -> tuple[str, ...]:
        return tuple(v.property for v in self.rows[0].result.verdicts) if self.rows else ()

    def smallest_failing(self, prop: str) -> SweepRow | None:
        """The violating configuration with the fewest states (the first such in grid order)."""
        failing = [r for r in self.rows if r.result.verdict(prop).status is Status.VIOLATED]
        return min(failing, key=lambda r: r.result.statistics.states, default=None)

    @property
    def exit_code(self) -> ExitCode:
        """1 if a property fails anywhere, else 3 if a check is incomplete, else 0."""
        codes = {r.result.exit_code for r in self.rows}
        for code in (ExitCode.VIOLATED, ExitCode.INCOMPLETE):
            if code in codes:
                return code
        return ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        def cell(row: SweepRow) -> dict[str, Any]:
            st = row.result.statistics
            return {
                "parameters": {k: _plain(v) for k, v in row.parameters.items()},
                "states": st.states,
                "transitions": st.transitions,
                "depth": st.depth,
                "seconds": round(st.seconds, 6),
                "complete": row.result.complete,
                "stopped_by": row.result.stopped_by,
                "engine": row.result.engine,
                "verdicts": {
                    v.property: {"status": v.status.value, "steps": row.steps(v.property)}
                    for v in row.result.verdicts
                },
            }

        smallest = {}
        for prop in self.properties:
            row = self.smallest_failing(prop)
            smallest[prop] = None if row is None else cell(row) | {"steps": row.steps(prop)}
        return {
            "schema": "modelcheck-sweep",
            "schema_version": 1,
            "spec": self.spec,
            "swept": list(self.names),
            "exit_code": int(self.exit_code),
            "rows": [cell(r) for r in self.rows],
            "smallest_failing": smallest,
        }

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        props = self.properties
        writer.writerow(
            [*self.names, "states", "transitions", "depth", "complete", "seconds", "engine"]
            + [column for p in props for column in (p, f"{p}_steps")]
        )
        for row in self.rows:
            st = row.result.statistics
            writer.writerow(
                [_plain(row.parameters[n]) for n in self.names]
                + [st.states, st.transitions, st.depth, row.result.complete]
                + [f"{st.seconds:.6f}", row.result.engine]
                + [
                    cell
                    for p in props
                    for cell in (row.result.verdict(p).status.value, row.steps(p) or "")
                ]
            )
        return out.getvalue()


def sweep(
    make: Callable[..., Spec],
    grid: Mapping[str, Sequence[Any]],
    *,
    fixed: Mapping[str, Any] | None = None,
    each: Callable[[SweepRow], None] | None = None,
    **options: Any,
) -> SweepResult:
    """Check ``make(**fixed, **configuration)`` for every configuration of ``grid``.

    ``grid`` maps parameter names to the values to try; ``options`` are
    :func:`modelcheck.check`'s; ``each`` is called with every row as it is done.
    """
    names = tuple(grid)
    if any(len(values) == 0 for values in grid.values()):
        empty = next(n for n, v in grid.items() if len(v) == 0)
        raise ValueError(f"the grid gives parameter {empty!r} no values")
    rows = []
    spec_name = getattr(make, "__name__", type(make).__name__)
    for values in itertools.product(*(grid[n] for n in names)):
        parameters = dict(zip(names, values, strict=True))
        spec = make(**dict(fixed or {}), **parameters)
        row = SweepRow(parameters, check(spec, **options))
        spec_name = row.result.spec
        rows.append(row)
        if each is not None:
            each(row)
    return SweepResult(spec_name, names, tuple(rows))


def _plain(value: Any) -> Any:
    """A parameter value as JSON and CSV show it (an enum by its name)."""
    name = getattr(value, "name", None)
    return name if isinstance(name, str) and not isinstance(value, bool | int | str) else value
