"""Checkpoints of a compiled search: everything it needs to go on, in one file, written atomically.

A checkpoint is taken where the search stands between two kernel calls: the
states stored so far (in BFS order), how many of them are expanded, the
start of each BFS level, the counters, the first violation of each
property, and (for recoverability) the edges recorded so far.  The visited
table is not saved: it is rebuilt from the states.  So a search resumed
from a checkpoint does exactly what the uninterrupted one would have done
next, and reaches the same counts, verdicts and traces.

The file is ``DIR/checkpoint.npz``: written to a temporary file in ``DIR``,
flushed to disk and renamed over the last one, so a run killed while it
writes leaves the previous checkpoint intact.  Its manifest names the
modelcheck version, the kernel (a hash of its source, which has every
parameter of the spec baked in) and the options that decide the answer;
a checkpoint that does not match the run resuming it is refused.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from modelcheck.errors import CheckpointError

#: The file in a checkpoint directory.
FILE = "checkpoint.npz"
#: Bumped when the file's contents change meaning.
FORMAT = 1
#: Testing hook: ``after-N`` or ``during-N`` kills the process with SIGKILL right
#: after the N-th checkpoint of the run is in place, or halfway through writing it.
KILL_ENV = "MODELCHECK_CHECKPOINT_TEST_KILL"


__all__ = ["CheckpointError", "clean", "load", "refuse_mismatch", "save"]


def save(folder: str | Path, manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Write a checkpoint into ``folder`` atomically (see the module docstring)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".checkpoint-", suffix=".tmp")
    except OSError as exc:
        raise CheckpointError(
            f"cannot write a checkpoint to {folder} ({exc.strerror or exc}); give --checkpoint "
            "a writable folder"
        ) from None
    kill = _kill_at()
    try:
        with os.fdopen(fd, "wb") as out:
            text = np.frombuffer(json.dumps(manifest, sort_keys=True).encode(), np.uint8)
            np.savez(out, manifest=text, **arrays)
            if kill == "during":
                out.flush()
                os.truncate(tmp, out.tell() // 2)
                os.kill(os.getpid(), signal.SIGKILL)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, folder / FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    clean(folder)
    if kill == "after":
        os.kill(os.getpid(), signal.SIGKILL)


def clean(folder: str | Path) -> None:
    """Remove what a run killed while it wrote a checkpoint left in ``folder``."""
    for stale in Path(folder).glob(".checkpoint-*.tmp"):
        stale.unlink(missing_ok=True)


_written = 0


def _kill_at() -> str | None:
    """``"after"``/``"during"`` when the testing hook asks for this checkpoint to be the last."""
    global _written
    _written += 1
    hook = os.environ.get(KILL_ENV, "")
    when, _, count = hook.partition("-")
    if when in ("after", "during") and count.isdigit() and int(count) == _written:
        return when
    return None


def load(folder: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The manifest and arrays of the checkpoint in ``folder``."""
    path = Path(folder) / FILE
    if not path.is_file():
        where = "is not a folder" if Path(folder).exists() and not Path(folder).is_dir() else ""
        raise CheckpointError(
            f"no checkpoint in {folder}{' (it ' + where + ')' if where else ''}: a run writes "
            f"one there with check --checkpoint {folder} (the compiled engine writes them)"
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
    if manifest.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} has checkpoint format {manifest.get('format')!r}, this modelcheck reads "
            f"format {FORMAT}: start the run again"
        )
    return manifest, arrays


def refuse_mismatch(manifest: dict[str, Any], expected: dict[str, Any], folder: str | Path) -> None:
    """Refuse a checkpoint whose identity (version, kernel, spec, options) differs."""
    names = {
        "modelcheck": "modelcheck version",
        "kernel": "spec or parameters (the generated kernel differs)",
        "spec": "spec",
        "parameters": "parameters",
        "options": "options",
    }
    for key, what in names.items():
        if manifest.get(key) != expected.get(key):
            raise CheckpointError(
                f"the checkpoint in {folder} is from another {what}: it has "
                f"{manifest.get(key)!r}, this run {expected.get(key)!r}. Resume it with what "
                "made it, or start the run again without --resume"
            )
