"""The ``modelcheck`` command: a thin typer layer over the library.

Each command lives in its own module and registers itself on :data:`app`
(made in :mod:`modelcheck.cli.root`, which imports no command); this module
only assembles them.  Exit codes: 0 every property holds,
1 a property fails, 2 bad usage or an error in the spec, 3 incomplete.
"""

from __future__ import annotations

import typer

# Command modules register themselves on ``app`` when imported.
from modelcheck.cli import (  # noqa: F401
    check_cmd,
    explain_cmd,
    init_cmd,
    pin_cmd,
    simulate_cmd,
    sweep_cmd,
    symbolic_cmd,
    trace_cmd,
)
from modelcheck.cli.root import app


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
