"""What every command shares: error reporting, exit codes, progress, output."""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from modelcheck.engines.bfs import Progress
from modelcheck.errors import ModelcheckError, SpecRuntimeError, SpecWarning
from modelcheck.result import ExitCode
from modelcheck.trace import Trace, save_trace, write_text_atomic


def err(text: str) -> None:
    """Write a line to stderr (errors and progress never go to stdout)."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn modelcheck errors into one clear message on stderr and exit code 2.

    Warnings about the spec (:class:`~modelcheck.errors.SpecWarning`) are
    printed to stderr as ``warning: ...`` lines as they occur.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("always", SpecWarning)
        shown = warnings.showwarning

        def show(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
            if issubclass(category, SpecWarning):
                err(f"warning: {message}")
            else:
                shown(message, category, *args, **kwargs)

        warnings.showwarning = show
        with _errors_reported():
            yield


@contextmanager
def _errors_reported() -> Iterator[None]:
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
    except KeyboardInterrupt:
        # Searches catch Ctrl-C themselves and report what they found; this is
        # Ctrl-C anywhere else (loading the spec, writing files, rendering).
        err(
            "interrupted: stopped before the command finished (files are written "
            "atomically, so none is left half-written)."
        )
        raise typer.Exit(int(ExitCode.INCOMPLETE)) from None
    except (typer.Exit, typer.Abort):
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


def output_path(path: Path, option: str = "", *, folder: bool | None = None) -> Path:
    """Fail before a long run, not after it, when ``path`` cannot be written.

    ``option`` (e.g. ``"--json"``) goes into the message; ``folder`` says
    whether ``path`` is a file to write (False), a folder to write files into,
    created if missing (True), or either (None).  Writability is tried by
    creating and removing a file in the nearest existing folder: permission
    bits do not tell (root ignores them, /proc refuses new files anyway).
    """
    label = f"{option} {path}" if option else str(path)
    if path.is_symlink():  # written through, so the target's folder is what matters
        path = Path(os.path.realpath(path))
    if folder is not True and path.exists() and not (path.is_file() or path.is_dir()):
        # A terminal, pipe or device: streamed to, never replaced.
        if not os.access(path, os.W_OK):
            raise ModelcheckError(f"{label}: cannot be written to; choose another path.")
        return path
    if folder is False and path.is_dir():
        raise ModelcheckError(f"{label}: is a folder; give the name of a file to write.")
    if folder is True and path.exists() and not path.is_dir():
        raise ModelcheckError(
            f"{label}: exists and is not a folder; give a folder name (it is created if missing)."
        )
    existing = path if path.is_dir() else path.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ModelcheckError(
            f"{label}: {existing} is not a folder but a file, so nothing can be written under "
            "it; choose another path."
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=".modelcheck-probe-", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ModelcheckError(
            f"{label}: cannot create files in {existing} ({exc.strerror}); choose a folder "
            "you can write to."
        ) from None
    return path


def _missing_folder(folder: Path) -> Path | None:
    """The outermost folder of ``folder``'s chain that does not exist yet, if any."""
    missing = None
    while not folder.exists() and folder != folder.parent:
        missing, folder = folder, folder.parent
    return missing


def write_file(path: Path, text: str) -> None:
    """Write an output file atomically, saying so if it needed a new folder."""
    missing = _missing_folder(path.parent)
    write_text_atomic(path, text)
    if missing is not None:
        err(f"created folder {missing} for {path}")


#: The file in a --checkpoint folder that says how to run the check again.
RUN_FILE = "run.json"


def write_run_file(folder: Path, run: dict[str, object]) -> None:
    """Record, in a checkpoint folder, the command that ``modelcheck resume`` runs again."""
    import json

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelcheckError(
            f"--checkpoint {folder}: cannot create the folder ({exc.strerror or exc}); give a "
            "writable folder."
        ) from None
    write_text_atomic(folder / RUN_FILE, json.dumps(run, indent=2, sort_keys=True) + "\n")


def check_report_paths(junit_file: Path | None, sarif_file: Path | None) -> None:
    """Try the ``--junit`` and ``--sarif`` paths before the search (see :func:`output_path`)."""
    for path, option in ((junit_file, "--junit"), (sarif_file, "--sarif")):
        if path is not None:
            output_path(path, option, folder=False)


def write_ci_reports(
    result: Any, model: Any, junit_file: Path | None, sarif_file: Path | None
) -> None:
    """Write the JUnit and SARIF reports of ``result`` (each atomically), when asked for.

    File and line numbers point into the spec's source; SARIF paths are
    relative to the current folder (a CI job's checkout) when inside it.
    """
    if junit_file is None and sarif_file is None:
        return
    from modelcheck._version import __version__
    from modelcheck.render.junit import result_to_junit
    from modelcheck.render.sarif import render_sarif
    from modelcheck.render.sources import spec_sources

    sources = spec_sources(model)
    root = Path.cwd()
    if junit_file is not None:
        write_file(junit_file, result_to_junit(result, sources, root))
    if sarif_file is not None:
        write_file(sarif_file, render_sarif(result, sources, root, __version__))


def save_counterexamples(traces: Iterable[Trace], trace_dir: Path) -> None:
    """Write each trace to ``trace_dir/<property>.json`` (``--trace-dir``)."""
    missing = _missing_folder(trace_dir)
    written = 0
    for trace in traces:
        save_trace(trace, trace_dir / f"{safe_name(trace.violates or 'trace')}.json")
        written += 1
    if missing is not None and written:
        err(f"created folder {missing} for the counterexample traces")


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
    typer.Option(
        metavar="DIR",
        help="Write each counterexample (and reachable witness) to DIR/<property>.json.",
    ),
]
JsonOpt = Annotated[
    Path | None,
    typer.Option("--json", metavar="FILE", help="Write the result as JSON to this file."),
]
JunitOpt = Annotated[
    Path | None,
    typer.Option(
        "--junit",
        metavar="FILE",
        help="Write a JUnit XML report to this file: one test case per property.",
    ),
]
SarifOpt = Annotated[
    Path | None,
    typer.Option(
        "--sarif",
        metavar="FILE",
        help="Write a SARIF 2.1.0 report to this file: one result per violated property.",
    ),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress line and no trace tables.")
]


_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def memory_limit_bytes(text: str | None) -> int | None:
    """``--memory-limit``: ``8G``, ``500M``, ``1.5G``, plain bytes, or ``none``.

    Omitted, the limit is 90% of what the machine could give this process
    when the run starts (its resident memory plus the kernel's MemAvailable),
    so a search stops with its partial result before the kernel kills it.
    """
    if text is None:
        return _default_memory_limit()
    if text.strip().lower() in ("none", "off", "0"):
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if match is None or float(match.group(1)) <= 0:
        raise ModelcheckError(
            f"--memory-limit {text}: not a size; write a number with an optional unit, "
            "e.g. 8G, 500M or 1.5G (K, M, G, T are powers of 1024), or none for no limit."
        )
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def _default_memory_limit() -> int | None:
    from modelcheck.engines.bfs import resident_memory_bytes

    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            fields = dict(line.split(":", 1) for line in meminfo if ":" in line)
        available = int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None  # not Linux: no default limit
    return int(0.9 * (available + resident_memory_bytes()))
