"""The ``modelcheck`` command: a thin typer layer over the library.

Each command lives in its own module and registers itself on :data:`app`
(made in :mod:`modelcheck.cli.root`, which imports no command); this module
only assembles them.  Exit codes: 0 every property holds,
1 a property fails, 2 bad usage or an error in the spec, 3 incomplete.
"""

from __future__ import annotations

import sys
from pathlib import Path

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

#: Options whose value may be left out, and the value they then take.
OPTIONAL_VALUES = {"--ray": "local"}


def optional_values(args: list[str]) -> list[str]:
    """``--ray`` alone (last, or before another option or a spec file) as ``--ray=local``.

    (Typer has no options with an optional value; a spec file is never a cluster's
    address, so ``check --ray specs/x.py`` means a local instance too.)
    """
    out = []
    for i, arg in enumerate(args):
        following = args[i + 1] if i + 1 < len(args) else None
        if arg in OPTIONAL_VALUES and (
            following is None
            or following.startswith("-")
            or Path(following.partition(":")[0]).suffix == ".py"
        ):
            arg = f"{arg}={OPTIONAL_VALUES[arg]}"
        out.append(arg)
    return out


def main() -> None:
    """Console-script entry point."""
    from modelcheck import _startup

    _startup.started()
    code: int = 0
    try:
        app(args=optional_values(sys.argv[1:]))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except KeyboardInterrupt:  # between commands' own handlers: nothing was running
        typer.echo("interrupted: stopped before the command finished.", err=True)
        code = 3
    _startup.answered(code)
    raise SystemExit(code)


__all__ = ["app", "main"]
