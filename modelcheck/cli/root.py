"""The root ``modelcheck`` typer app, on which every command module registers itself.

Apart from :mod:`modelcheck.cli` so that a command module imports the app
without importing the package that imports every command module.
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
        from modelcheck._version import __version__

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
