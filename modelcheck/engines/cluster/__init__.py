"""The cluster engine: the compiled kernel's BFS, hash-partitioned over shards on Ray.

Importing this package imports neither Ray nor numba (:func:`ray_missing`
asks whether Ray is there); :mod:`.search` is the driver, :mod:`.shard` a
shard's work and :mod:`.transport` how the two talk (Ray actors, or plain
objects in one process for tests).
"""

from __future__ import annotations

#: What to install for --ray, said wherever Ray is missing.
INSTALL = "pip install 'modelcheck[ray]'"


def ray_missing() -> str | None:
    """Why Ray cannot be used from this Python, or None when it imports."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return f"Ray is not installed in this Python ({INSTALL} installs it)"
    return None
