"""What every command shares: error reporting, exit codes, progress, output."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from modelcheck.engines.bfs import Progress
from modelcheck.errors import ModelcheckError, SpecRuntimeError
from modelcheck.result import ExitCode


def err(text: str) -> None:
    """Write a line to stderr (errors and progress never go to stdout)."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn modelcheck errors into one clear message on stderr and exit code 2."""
    try:
        yield
    except ModelcheckError as exc:
        err(f"error: {exc}")
        if isinstance(exc, SpecRuntimeError) and exc.trace is not None:
            from modelcheck.render.text import render_trace

            err("\nThe run that reached the failing state:\n" + render_trace(exc.trace))
        raise typer.Exit(int(ExitCode.ERROR)) from None
    except OSError as exc:
        err(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        raise typer.Exit(int(ExitCode.ERROR)) from None
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:
        # Anything else is a bug in modelcheck, not a verdict: never exit 1 for it.
        err(
            f"internal error: {type(exc).__name__}: {exc}. This is a bug in modelcheck; "
            "please report it with the command that caused it (run with "
            "MODELCHECK_DEBUG=1 for the Python traceback)."
        )
        if os.environ.get("MODELCHECK_DEBUG"):
            import traceback

            traceback.print_exc()
        raise typer.Exit(int(ExitCode.ERROR)) from None


def color_allowed() -> bool:
    """Honour NO_COLOR and non-terminals."""
    return "NO_COLOR" not in os.environ and sys.stderr.isatty()


class ProgressLine:
    """A live one-line progress report on stderr (only on a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._status: Any = None
        self._last = 0.0

    def __enter__(self) -> ProgressLine:
        if self.enabled:
            from rich.console import Console

            console = Console(stderr=True, no_color=not color_allowed())
            self._status = console.status("exploring…")
            self._status.__enter__()
        return self

    def __call__(self, p: Progress) -> None:
        if self._status is None:
            return
        now = time.monotonic()
        if now - self._last < 0.2:
            return
        self._last = now
        self._status.update(
            f"{p.states:,} states  depth {p.depth}  {p.queued:,} queued  "
            f"{p.states_per_second:,.0f} states/s  {p.peak_memory_bytes / 2**20:,.0f} MiB"
        )

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(None, None, None)


def safe_name(text: str) -> str:
    """A file-name-safe version of a property name."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def output_path(path: Path) -> Path:
    """Check that ``path``'s folder can be written before a long run starts."""
    parent = path.parent if str(path.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise ModelcheckError(f"{path}: {parent} is not a folder")
    return path


# --- arguments and options shared by several commands ---------------------------------

SpecArg = Annotated[
    str,
    typer.Argument(metavar="SPEC", help="A spec file, PATH or PATH:SpecClass.", show_default=False),
]
TraceArg = Annotated[
    Path, typer.Argument(metavar="TRACE", help="A trace JSON file.", show_default=False)
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        metavar="NAME=VALUE",
        help="Set a spec parameter (repeatable); for a saved trace, override its parameters.",
    ),
]
PropertyOpt = Annotated[
    list[str] | None,
    typer.Option("--property", metavar="NAME", help="Check only this property (repeatable)."),
]
TraceDirOpt = Annotated[
    Path | None,
    typer.Option(metavar="DIR", help="Write each counterexample to DIR/<property>.json."),
]
