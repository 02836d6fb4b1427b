"""What both engines' checkpoints share: one file per folder, written atomically, and its identity.

A checkpoint folder holds one checkpoint file, of the engine that wrote it
(:data:`FILES`).  It is written to a temporary file in the folder, flushed
to disk and renamed over the last one, so a run killed while it writes
leaves the previous checkpoint intact; what such a run leaves behind is
removed by the next one.  Each file starts with a manifest that names the
modelcheck version, the spec, its parameters, the options that decide the
answer and where the search stands; a checkpoint whose identity differs from
the run that resumes it is refused, saying which part differs.
"""

from __future__ import annotations

import os
import pickle
import signal
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from modelcheck.errors import CheckpointError

#: The checkpoint file of each engine.
FILES = {
    "compiled": "checkpoint.npz",
    "python": "checkpoint.pickle",
    "cluster": "checkpoint-cluster.npz",
}
#: Testing hook: ``after-N`` or ``during-N`` kills the process with SIGKILL right
#: after the N-th checkpoint of the run is in place, or halfway through writing it.
KILL_ENV = "MODELCHECK_CHECKPOINT_TEST_KILL"
_STALE = ".checkpoint-*.tmp"

__all__ = [
    "FILES",
    "KILL_ENV",
    "CheckpointError",
    "engine_of",
    "load_pickled",
    "refuse_mismatch",
    "save_pickled",
    "write",
]


def write(folder: str | Path, engine: str, fill: Callable[[BinaryIO], None]) -> None:
    """Write ``engine``'s checkpoint into ``folder`` atomically; ``fill`` writes its bytes."""
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
            fill(out)
            if kill == "during":
                out.flush()
                os.truncate(tmp, out.tell() // 2)
                os.kill(os.getpid(), signal.SIGKILL)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, folder / FILES[engine])
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for other, name in FILES.items():  # one checkpoint per folder: the newest
        if other != engine:
            (folder / name).unlink(missing_ok=True)
    clean(folder)
    if kill == "after":
        os.kill(os.getpid(), signal.SIGKILL)


def clean(folder: str | Path) -> None:
    """Remove what a run killed while it wrote a checkpoint left in ``folder``."""
    for stale in Path(folder).glob(_STALE):
        stale.unlink(missing_ok=True)


_written = 0


def _kill_at() -> str | None:
    """``"after"``/``"during"`` when the testing hook asks for this checkpoint to be the last."""
    global _written
    _written += 1
    when, _, count = os.environ.get(KILL_ENV, "").partition("-")
    if when in ("after", "during") and count.isdigit() and int(count) == _written:
        return when
    return None


def engine_of(folder: str | Path) -> str:
    """The engine whose checkpoint is in ``folder``."""
    for engine, name in FILES.items():
        if (Path(folder) / name).is_file():
            return engine
    raise CheckpointError(
        f"no checkpoint in {folder}: a run writes one there with check --checkpoint {folder}"
    )


def refuse_mismatch(manifest: dict[str, Any], expected: dict[str, Any], folder: str | Path) -> None:
    """Refuse a checkpoint whose identity (version, spec, parameters, options) differs."""
    names = {
        "format": "checkpoint format",
        "engine": "engine",
        "modelcheck": "modelcheck version",
        "spec": "spec",
        "source": "spec source (the spec's file changed)",
        "kernel": "spec or parameters (the generated kernel differs)",
        "parameters": "parameters",
        "options": "options",
    }
    for key, what in names.items():
        if manifest.get(key) != expected.get(key):
            raise CheckpointError(
                f"the checkpoint in {folder} is from another {what}: it has "
                f"{manifest.get(key)!r}, this run {expected.get(key)!r}. Resume it with what "
                "made it, or start the run again without resuming"
            )


#: Bumped when the Python engine's file changes meaning.
PYTHON_FORMAT = 1


def save_pickled(folder: str | Path, manifest: dict[str, Any], data: Any) -> None:
    """Write the Python engine's checkpoint: the manifest, then the search's objects."""

    def fill(out: BinaryIO) -> None:
        pickle.dump(manifest, out, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.dump(data, out, protocol=pickle.HIGHEST_PROTOCOL)

    write(folder, "python", fill)


def load_pickled(folder: str | Path, expected: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """The manifest and objects of the Python engine's checkpoint in ``folder``, once its
    manifest matches ``expected`` (a checkpoint is a pickle: load only your own)."""
    path = Path(folder) / FILES["python"]
    if not path.is_file():
        raise CheckpointError(
            f"no checkpoint of the Python engine in {folder}: a run writes one there with "
            f"check --checkpoint {folder}"
        )
    try:
        with path.open("rb") as file:
            manifest = pickle.load(file)
            if not isinstance(manifest, dict):
                raise ValueError("no manifest")
            refuse_mismatch(manifest, expected, folder)
            data = pickle.load(file)
    except CheckpointError:
        raise
    except Exception as exc:  # a truncated or foreign file: any unpickling error
        raise CheckpointError(
            f"{path} is not a readable checkpoint ({type(exc).__name__}: {exc}); it may be from "
            "an interrupted copy: start the run again without it"
        ) from None
    return manifest, data
