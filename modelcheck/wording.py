"""Small helpers for messages that count things: "1 step", "2 steps"."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """``n`` and ``word``, in the plural unless ``n`` is 1 (``many`` if it is irregular)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def n_steps(n: int) -> str:
    """``"1 step"``, ``"0 steps"``, ``"12 steps"``."""
    return plural(n, "step")
