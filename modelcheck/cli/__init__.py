"""The ``modelcheck`` command: a thin typer layer over the library.

Each command lives in its own module and registers itself on :data:`app`;
this module only assembles them.  Exit codes: 0 every property holds,
1 a property fails, 2 bad usage or an error in the spec, 3 incomplete.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="modelcheck",
    help="Exhaustive model checker for plan-application protocols.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        from modelcheck import __version__

        typer.echo(f"modelcheck {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        help="Print the version and exit.",
        callback=_show_version,
        is_eager=True,
    ),
) -> None:
    """Exhaustive model checker for plan-application protocols."""


# Command modules register themselves on ``app`` when imported.
from modelcheck.cli import (  # noqa: E402, F401
    check_cmd,
    explain_cmd,
    init_cmd,
    simulate_cmd,
    symbolic_cmd,
    trace_cmd,
)


def main() -> None:
    """Console-script entry point."""
    from modelcheck import _startup

    _startup.started()
    code: int = 0
    try:
        app()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except KeyboardInterrupt:  # between commands' own handlers: nothing was running
        typer.echo("interrupted: stopped before the command finished.", err=True)
        code = 3
    _startup.answered(code)
    raise SystemExit(code)


__all__ = ["app", "main"]
