"""The exceptions modelcheck raises.

One root, :class:`ModelcheckError`; each subclass also inherits the builtin
that matches its meaning, so callers can catch either.

The ground floor: this module imports nothing of modelcheck, so every other
module can import it.  That is why the ``trace`` an error carries is typed
``Any`` here; it is a :class:`modelcheck.trace.Trace` or None.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


class ModelcheckError(Exception):
    """Root of every error modelcheck raises on purpose."""


class SpecError(ModelcheckError, TypeError):
    """A mistake in how a spec is written (found when it is scanned or run)."""


class SpecRuntimeError(SpecError):
    """A spec's action or property raised while the checker ran it.

    ``trace`` leads from an initial state to the state in which the failing
    code was called, so the failure can be reproduced.
    """

    def __init__(self, message: str, trace: Any = None) -> None:
        super().__init__(message)
        self.trace = trace


class InternalError(ModelcheckError, RuntimeError):
    """Two of modelcheck's own engines disagree: a bug in modelcheck, never a verdict."""


class ParameterError(ModelcheckError, ValueError):
    """A spec parameter is unknown or its value does not parse."""


class SpecLoadError(ModelcheckError, LookupError):
    """A spec file or spec class cannot be found or imported."""


class TraceFormatError(ModelcheckError, ValueError):
    """A trace file is not a valid modelcheck trace."""


class PropertyViolation(ModelcheckError, AssertionError):
    """A property fails; raised by the pytest-facing helpers, carries the trace."""

    def __init__(self, message: str, trace: Any = None) -> None:
        super().__init__(message)
        self.trace = trace


class SpecWarning(UserWarning):
    """Something in a spec is legal but almost surely a mistake (e.g. an empty action domain)."""


def closest(name: str, choices: Iterable[str]) -> str:
    """A " Did you mean ...?" suffix for an unknown ``name`` (empty if nothing is close)."""
    matches = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5)
    if not matches:
        return ""
    return " Did you mean " + " or ".join(repr(m) for m in matches) + "?"


class CheckpointError(ModelcheckError):
    """A checkpoint that cannot be written, read, or used for this run."""
