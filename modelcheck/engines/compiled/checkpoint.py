"""Checkpoints of a compiled search: the arrays it needs to go on, in one ``.npz`` file.

A checkpoint is taken where the search stands between two kernel calls: the
states stored so far (in BFS order), how many of them are expanded, the
start of each BFS level, the counters, the first violation of each
property, and (for recoverability) the edges recorded so far.  The visited
table is not saved: it is rebuilt from the states.  So a search resumed
from a checkpoint does exactly what the uninterrupted one would have done
next, and reaches the same counts, verdicts and traces.  Writing, the
identity check and the testing hook are :mod:`modelcheck.engines.checkpoints`'s.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from modelcheck.engines.checkpoints import FILES, KILL_ENV, refuse_mismatch, write
from modelcheck.errors import CheckpointError

#: The file in a checkpoint directory.
FILE = FILES["compiled"]
#: Bumped when the file's contents change meaning.
FORMAT = 1

__all__ = ["FILE", "FORMAT", "KILL_ENV", "load", "refuse_mismatch", "save"]


def save(
    folder: str | Path,
    manifest: dict[str, Any],
    arrays: dict[str, np.ndarray],
    engine: str = "compiled",
) -> None:
    """Write a checkpoint into ``folder`` atomically (``engine``: compiled, or the
    cluster search, which keeps the same kind of arrays per shard)."""
    text = np.frombuffer(json.dumps(manifest, sort_keys=True).encode(), np.uint8)
    write(folder, engine, lambda out: np.savez(out, manifest=text, **arrays))


def load(
    folder: str | Path, engine: str = "compiled"
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The manifest and arrays of ``engine``'s checkpoint in ``folder``."""
    path = Path(folder) / FILES[engine]
    if not path.is_file():
        whose = "the compiled engine" if engine == "compiled" else "a cluster search (--ray)"
        raise CheckpointError(
            f"no checkpoint of {whose} in {folder}: a run writes one there with "
            f"check --checkpoint {folder}"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        manifest = json.loads(arrays.pop("manifest").tobytes().decode())
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise CheckpointError(
            f"{path} is not a readable checkpoint ({exc}); it may be from an interrupted copy: "
            "start the run again without it"
        ) from None
    return manifest, arrays
