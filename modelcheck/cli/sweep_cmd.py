"""``modelcheck sweep``: one check per configuration of a parameter grid, in one table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from modelcheck.cli.common import (
    JsonOpt,
    ParamOpt,
    PropertyOpt,
    QuietOpt,
    err,
    output_path,
    reported_errors,
    write_file,
)
from modelcheck.cli.loading import (
    build_spec,
    load_spec_class,
    parameter_types,
    parse_value,
    split_assignment,
)
from modelcheck.cli.root import app
from modelcheck.engines.bfs import ENGINES
from modelcheck.errors import ModelcheckError, ParameterError
from modelcheck.result import Status
from modelcheck.sweep import SweepResult, SweepRow, sweep

#: A grid larger than this is refused (a typo such as 1..10000 would run for days).
MAX_CONFIGURATIONS = 10_000


@app.command("sweep")
def sweep_command(
    target: Annotated[
        str, typer.Argument(metavar="SPEC", help="A spec file, PATH or PATH:SpecClass.")
    ],
    param: ParamOpt = None,
    prop: PropertyOpt = None,
    max_states: Annotated[
        int | None, typer.Option(min=1, metavar="N", help="Per configuration: at most N states.")
    ] = None,
    max_depth: Annotated[
        int | None, typer.Option(min=1, metavar="N", help="Per configuration: at most N deep.")
    ] = None,
    time_limit: Annotated[
        float | None,
        typer.Option(min=0.001, metavar="SECONDS", help="Per configuration: stop after this."),
    ] = None,
    engine: Annotated[
        str, typer.Option(metavar="ENGINE", help="auto (default), python or compiled.")
    ] = "auto",
    json_file: JsonOpt = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", metavar="FILE", help="Write the table as CSV.")
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Check the spec over a grid: -p name=v1,v2,... or -p name=lo..hi (ints), one row each."""
    with reported_errors():
        if engine not in ENGINES:
            raise ModelcheckError(
                f"--engine {engine}: unknown engine; choose one of {', '.join(ENGINES)}."
            )
        for path, option in ((json_file, "--json"), (csv_file, "--csv")):
            if path is not None:
                output_path(path, option, folder=False)
        cls = load_spec_class(target)
        grid = parse_grid(cls, param or [])
        fixed = {n: v[0] for n, v in grid.items() if len(v) == 1}
        swept = {n: v for n, v in grid.items() if len(v) > 1}
        size = 1
        for values in swept.values():
            size *= len(values)
        if size > MAX_CONFIGURATIONS:
            raise ParameterError(
                f"the grid has {size:,} configurations, more than {MAX_CONFIGURATIONS:,}; "
                "give fewer values per -p."
            )
        build_spec(cls, values=fixed)  # a bad fixed value is reported before any check
        options: dict[str, Any] = {
            "properties": tuple(prop) if prop else None,
            "max_states": max_states,
            "max_depth": max_depth,
            "time_limit": time_limit,
            "engine": engine,
        }

        def make(**values: Any) -> Any:
            return build_spec(cls, values=values)

        def each(row: SweepRow) -> None:
            if not quiet:
                shown = ", ".join(f"{k}={v}" for k, v in row.parameters.items() if k in swept)
                states = row.result.statistics.states
                err(f"checked {shown or 'the configuration'}: {states:,} states")

        result = sweep(make, swept, fixed=fixed, each=each, **options)
        if json_file is not None:
            write_file(json_file, json.dumps(result.to_json(), indent=2) + "\n")
        if csv_file is not None:
            write_file(csv_file, result.to_csv())
        typer.echo(render_sweep(result, fixed))
    raise typer.Exit(int(result.exit_code))


def parse_grid(cls: type, items: list[str]) -> dict[str, list[Any]]:
    """``-p`` items as a grid: name -> the values to try, in the order given."""
    types_ = parameter_types(cls)
    grid: dict[str, list[Any]] = {}
    for item in items:
        name, text = split_assignment(cls, item, types_, "-p enactors=2,3 or 2..4", "name=values")
        if name in grid:
            raise ParameterError(
                f"-p {item}: {name} is given twice; give all its values in one -p."
            )
        kind = types_[name]
        low, dots, high = text.partition("..")
        if dots and kind is int:
            start, stop = parse_value(name, low, int), parse_value(name, high, int)
            if start > stop:
                raise ParameterError(f"-p {item}: the range is empty; write low..high, low first.")
            values = list(range(start, stop + 1))
        elif dots:
            raise ParameterError(f"-p {item}: a range lo..hi is for int parameters; list values.")
        else:
            values = [parse_value(name, part.strip(), kind) for part in text.split(",")]
        if len(set(map(repr, values))) != len(values):
            raise ParameterError(f"-p {item}: a value is listed twice.")
        grid[name] = values
    return grid


def render_sweep(result: SweepResult, fixed: dict[str, Any]) -> str:
    """The table, then the smallest failing configuration of each property."""
    props = result.properties
    header = [*result.names, "states", *props, "seconds"]
    lines = [[str(h) for h in header]]
    for row in result.rows:
        cells = [str(row.parameters[n]) for n in result.names]
        cells.append(f"{row.result.statistics.states:,}")
        for p in props:
            verdict = row.result.verdict(p)
            steps = row.steps(p)
            cells.append(
                {"holds": "holds", "violated": "VIOLATED", "unknown": "unknown"}[
                    verdict.status.value
                ]
                + (f" ({steps})" if steps is not None else "")
                + ("" if row.result.complete else "*")
            )
        cells.append(f"{row.result.statistics.seconds:.2f}")
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    count = len(result.rows)
    title = f"{result.spec}: {count} configuration{'s' if count != 1 else ''}"
    if fixed:
        title += " with " + ", ".join(f"{k}={v}" for k, v in fixed.items())
    out = [title, ""]
    for line in lines:
        out.append("  " + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    out.append("")
    out.append("  (n): counterexample steps; *: that check stopped early (a limit)")
    out.append("")
    for p in props:
        row = result.smallest_failing(p)
        if row is None:
            kinds = {r.result.verdict(p).status for r in result.rows}
            says = "holds in every configuration" if kinds == {Status.HOLDS} else "never violated"
            out.append(f"{p}: {says}")
        else:
            shown = ", ".join(f"{k}={v}" for k, v in row.parameters.items()) or "(the only one)"
            out.append(
                f"{p}: smallest failing configuration {shown} "
                f"({row.result.statistics.states:,} states, {row.steps(p)} steps)"
            )
    return "\n".join(out)
