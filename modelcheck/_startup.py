"""Ctrl-C before the command line is ready, or after it has answered.

Python turns Ctrl-C into ``KeyboardInterrupt`` wherever the program is; in
the ~0.4 s it takes to import modelcheck, or while the interpreter tears
down a search's millions of states after the result is printed, that is a
traceback and exit code 130 instead of the documented codes.  While the
``modelcheck`` command starts, Ctrl-C exits 3 at once with one line; after
it has answered, Ctrl-C exits with the answer's code.  Imported as a
library (pytest, a notebook), nothing changes.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any


def _is_the_command() -> bool:
    if Path(sys.argv[0]).name == "modelcheck":  # the console script
        return True
    argv = list(getattr(sys, "orig_argv", sys.argv))
    for i, arg in enumerate(argv[:-1]):
        if arg == "-m":
            return argv[i + 1] == "modelcheck"
    return False


def _exit_on_interrupt(code: int, message: bytes) -> None:
    def handler(signum: int, frame: Any) -> None:
        if message:
            os.write(2, message)
        os._exit(code)

    signal.signal(signal.SIGINT, handler)


def guard_start() -> None:
    """From here until :func:`started`, Ctrl-C exits 3 quietly (only for the command)."""
    if _is_the_command():
        _exit_on_interrupt(3, b"interrupted: stopped while starting, before any work.\n")


def started() -> None:
    """The command is ready: Ctrl-C raises ``KeyboardInterrupt`` again, for the commands."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


def answered(code: int) -> None:
    """The result is out: Ctrl-C during tear-down exits with ``code``, silently."""
    sys.stdout.flush()
    sys.stderr.flush()
    _exit_on_interrupt(code, b"")


guard_start()  # on import: this module is the first thing modelcheck imports
