"""The compiled engine: the BFS over packed states, as numba-compiled code from the spec.

This package is the only one that imports numba; importing the package
itself does not (:func:`numba_missing` asks), so the engine selection can
fall back to the Python engine where numba is missing.
"""

from __future__ import annotations


def numba_missing() -> str | None:
    """Why the compiled engine cannot run in this Python, or None when numba imports."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return (
            "numba is not installed in this Python (pip install numba; modelcheck installs it "
            "where numba ships wheels)"
        )
    return None
