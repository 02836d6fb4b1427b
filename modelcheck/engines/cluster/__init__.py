"""The cluster engine: a level-synchronous BFS, hash-partitioned over shards on Ray.

Importing this package imports neither Ray nor numba (:func:`ray_missing`
asks whether Ray is there); :mod:`.search` is the driver, :mod:`.transport`
how it talks to its shards (Ray actors, or plain objects in one process).
A shard runs the compiled engine's kernel on packed rows (:mod:`.shard`,
:mod:`.compiled_plan`) or, for any other spec, the spec's own Python code
on its ``State`` objects (:mod:`.python_shard`, :mod:`.python_plan`, placed
by :mod:`.owners`); :mod:`.stored` is what both keep the same way.
"""

from __future__ import annotations

from modelcheck.errors import ModelcheckError

#: What to install for --ray, said wherever Ray is missing.
INSTALL = "pip install 'modelcheck[ray]'"


def ray_missing() -> str | None:
    """Why Ray cannot be used from this Python, or None when it imports."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return f"Ray is not installed in this Python ({INSTALL} installs it)"
    return None


class Refused(ModelcheckError):
    """The cluster search cannot give the one-process answer for this check (the message
    says why); the caller runs the Python engine in one process instead."""
