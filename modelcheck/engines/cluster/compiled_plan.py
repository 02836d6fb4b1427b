"""What the cluster search does differently when its shards run the compiled kernel.

The driver (:mod:`.search`) is one piece of code for both kinds of shard;
this module is the compiled kind's part of it (:class:`CompiledPlan`): the
kernel the shards load (compiled once, into the disk cache their processes
load it from), states as packed rows (encoded and decoded by the layout),
owners by the kernel's own hash (:func:`.shard.owners`), and checkpoints as
one ``.npz`` file of every shard's arrays.  Importing it imports numba.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, NoReturn

import attrs
import numpy as np

from modelcheck.engines.bfs import CheckOptions
from modelcheck.engines.cluster.shard import Shard, owners, warm_up
from modelcheck.engines.compiled import cache, checkpoint, codegen
from modelcheck.engines.compiled import search as compiled
from modelcheck.model import Model, PropertyDef
from modelcheck.symbolic.program import NotCompilable

#: What a shard keeps in a checkpoint, per shard, as arrays named ``s{shard}_{name}``.
_SNAPSHOT = ("states", "number", "parent", "level", "edge_to", "edge_from", "edge_action")


class CompiledPlan:
    """The compiled kernel's shards: packed rows, the kernel's hash, ``.npz`` checkpoints."""

    engine = "compiled"
    checkpoint_engine = "cluster"
    shard_class = Shard

    def __init__(self, model: Model, props: list[PropertyDef]) -> None:
        """Extract and generate the kernel for ``props`` (raises :class:`NotCompilable`
        where it cannot give the one-process answer); :meth:`start` compiles it."""
        self.started = time.perf_counter()
        # The driver compiles no search of its own: only what the shards run, once, into
        # the disk cache their processes load it from (on this machine).
        self.prepared = compiled.prepare(model, props, compile_now=False)
        self.model = model
        self.layout = self.prepared.layout
        self.names: tuple[str, ...] = tuple(self.prepared.kernel.properties)
        self.kinds = tuple(model.property(n).kind for n in self.names)
        self.per = self.prepared.kernel.buffer  # keys: parent number * per + place
        self.seconds = 0.0
        self.note = ""

    def start(self) -> None:
        """Compile what the shards run (after a checkpoint to resume was accepted)."""
        kernel = self.prepared.kernel
        warm_up(cache.load(kernel.source), self.layout.words, len(kernel.properties))
        self.seconds = time.perf_counter() - self.started
        self.prepared = attrs.evolve(self.prepared, seconds=self.seconds)

    def shard_args(self) -> tuple[Any, ...]:
        """What every shard is built with after its index and the shard count."""
        kernel = self.prepared.kernel
        record = "recoverable" in self.kinds
        cache_folder = os.environ.get(cache.CACHE_ENV)
        return (kernel.source, self.layout.words, self.kinds, kernel.buffer, record, cache_folder)

    def pickled_by_value(self) -> tuple[str, ...]:
        """No module: a compiled shard is sent the kernel's source, never the spec."""
        return ()

    def identity(self, options: CheckOptions, shards: int) -> dict[str, Any]:
        """What a checkpoint must match to be resumed by this run."""
        identity = compiled._identity(self.model, options, self.prepared.kernel)
        return dict(identity, engine="cluster", shards=shards)

    def initial(self) -> tuple[np.ndarray, int]:
        """The initial states as rows, each once, and how many."""
        try:
            initial = list(dict.fromkeys(self.layout.encode(s) for s in self.model.initial_states))
        except ValueError as exc:
            raise NotCompilable(f"an initial state is not of the declared types: {exc}") from None
        rows = np.array(initial, np.int64).reshape(len(initial), self.layout.words)
        return rows, len(rows)

    def decode(self, row: np.ndarray) -> Any:
        return self.layout.decode(row)

    def lookup(self, state: Any, shards: int) -> tuple[int, Any]:
        """The shard that owns ``state`` and what its ``recovers_row`` is asked with."""
        words = np.array([self.layout.encode(state)], np.int64)
        return int(owners(words, shards)[0]), words[0]

    def refuse(
        self, problem: tuple[int, int, int], row_of_number: Callable[[int], Any]
    ) -> NoReturn:
        """The kernel could not expand a state exactly: hand the run back, saying why."""
        number, status, detail = problem
        if status == codegen.OUTSIDE_TYPES:
            row = row_of_number(number)
            slot = self.layout.slots[detail]
            raise NotCompilable(
                f"a successor of the reachable state {self.layout.decode(row)!r} gives "
                f"{slot.leaf.name} a value outside its declared type "
                f"({compiled._type_text(slot.leaf.ftype)}); the Python engine does not hold "
                "values to the declared types (declare a wider type to use the compiled engine)"
            )
        raise NotCompilable(compiled._inexact(self.prepared.program, self.names, detail))

    def recovery_failed(self, p: int) -> NoReturn:
        raise NotCompilable(
            f"{self.model.name}.{self.names[p]} computes a value that does not fit the "
            "compiled engine's integers in a reachable state"
        )

    # --- checkpoints: one .npz file, the first violations in its manifest ---

    def save(
        self,
        folder: str,
        manifest: dict[str, Any],
        found: dict[int, tuple[Any, ...]],
        snapshots: list[dict[str, Any]],
    ) -> None:
        manifest = dict(manifest, found={str(p): _found_to_json(f) for p, f in found.items()})
        arrays: dict[str, np.ndarray] = {}
        for i, snapshot in enumerate(snapshots):
            arrays |= {f"s{i}_{name}": value for name, value in snapshot.items()}
        checkpoint.save(folder, manifest, arrays, "cluster")

    def load(
        self, folder: str, expected: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> tuple[dict[str, Any], dict[int, tuple[Any, ...]], list[dict[str, Any]]]:
        """The checkpoint in ``folder``, once its manifest matches what ``expected`` makes
        of it."""
        manifest, arrays = checkpoint.load(folder, "cluster")
        checkpoint.refuse_mismatch(manifest, expected(manifest), folder)
        found = {int(p): _found_from_json(f) for p, f in manifest["found"].items()}
        shards = int(manifest.get("shards", 0))
        snapshots = [{n: arrays[f"s{i}_{n}"] for n in _SNAPSHOT} for i in range(shards)]
        return manifest, found, snapshots


def _found_to_json(found: tuple[Any, ...]) -> list[Any]:
    return [found[0], *(int(x) for x in found[1:3]), np.asarray(found[3]).tolist()]


def _found_from_json(found: list[Any]) -> tuple[Any, ...]:
    kind, a, b, c = found
    return (kind, a, b, c) if kind == "state" else (kind, a, b, np.array(c, np.int64))
