"""What the cluster driver needs of the kind of shard it runs, and the checkpoints it writes.

:class:`Plan` is what differs between compiled shards
(:mod:`.compiled_plan`) and Python shards (:mod:`.python_plan`): the shard
class, how a stored row becomes a state, which shard owns a state, what a
shard's problems mean, and the checkpoint format.  :class:`Saver` writes a
run's checkpoints through its plan, between levels.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NoReturn, Protocol

from modelcheck.engines.bfs import CheckOptions
from modelcheck.engines.checkpoints import clean
from modelcheck.engines.cluster.transport import Shards
from modelcheck.errors import CheckpointError

#: A checkpoint as a plan loads it: its manifest, the first violations, every shard's snapshot.
Saved = tuple[dict[str, Any], dict[int, tuple[Any, ...]], list[dict[str, Any]]]


class Plan(Protocol):
    """What the driver needs of the kind of shard it runs (see the module docstring)."""

    #: ``CheckResult.engine``: "compiled" or "python".
    engine: str
    #: The engine whose checkpoint file it writes (:data:`checkpoints.FILES`).
    checkpoint_engine: str
    #: The shard class, built as ``shard_class(index, count, *shard_args())``.
    shard_class: type
    #: The selected properties, in the order the shards number them, and their kinds.
    names: tuple[str, ...]
    kinds: tuple[str, ...]
    #: The most successors of one state: keys are parent number * per + place.
    per: int
    #: Seconds spent compiling before the search; a note for the engine line.
    seconds: float
    note: str

    def start(self) -> None: ...

    def shard_args(self) -> tuple[Any, ...]: ...

    def pickled_by_value(self) -> tuple[str, ...]: ...

    def identity(self, options: CheckOptions, shards: int) -> dict[str, Any]: ...

    def initial(self) -> tuple[Any, int]: ...

    def decode(self, row: Any) -> Any: ...

    def lookup(self, state: Any, shards: int) -> tuple[int, Any]: ...

    def refuse(self, problem: Any, row_of_number: Callable[[int], Any]) -> NoReturn: ...

    def recovery_failed(self, p: int) -> NoReturn: ...

    def save(
        self,
        folder: str,
        manifest: dict[str, Any],
        found: dict[int, tuple[Any, ...]],
        snapshots: list[dict[str, Any]],
    ) -> None: ...

    def load(self, folder: str, expected: Callable[[dict[str, Any]], dict[str, Any]]) -> Saved: ...


def resumed_shards(manifest: dict[str, Any], asked: int | None, folder: str) -> int:
    """The shard count of a resumed run: the checkpoint's (states are placed by it)."""
    had = int(manifest.get("shards", 0))
    if asked is not None and asked != had:
        raise CheckpointError(
            f"the checkpoint in {folder} was written by {had} shards, and this run asks for "
            f"{asked}: each shard's states are its part of the hash space, so a resumed run "
            f"has the same number of shards; resume with --shards {had} (or leave it out)"
        )
    return had


class Saver:
    """Writes the cluster's checkpoints, when asked for, at most every ``checkpoint_every``
    minutes: every shard's snapshot and the driver's counters, in one file."""

    def __init__(
        self, options: CheckOptions, identity: dict[str, Any], plan: Plan, cluster: Shards
    ) -> None:
        self.folder, self.resumed = options.checkpoint, options.resume
        self.every = 60 * options.checkpoint_every
        self.identity, self.plan, self.cluster = identity, plan, cluster
        self.written = False
        self.since = time.monotonic()
        if self.folder is not None:
            clean(self.folder)

    def between_levels(self, position: dict[str, Any], found: dict[int, Any]) -> None:
        if self.folder is not None and time.monotonic() - self.since >= self.every:
            self.save(position, found)

    def save(self, position: dict[str, Any], found: dict[int, Any]) -> None:
        if self.folder is None:
            return
        manifest = dict(self.identity, **position)
        self.plan.save(self.folder, manifest, found, self.cluster.each("snapshot"))
        self.written = True
        self.since = time.monotonic()

    def last(self) -> Saved | None:
        """The checkpoint this run wrote last, or else the one it resumed (None: neither)."""
        for folder in (self.folder if self.written else None, self.resumed):
            if folder is not None:
                return self.plan.load(folder, lambda _: self.identity)
        return None
