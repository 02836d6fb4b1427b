"""What the cluster search does differently when its shards run the spec's Python code.

The counterpart of :mod:`.compiled_plan` for any spec (outside the compiled
subset, or with ``engine="python"``): shards are
:class:`~.python_shard.PythonShard` objects built from the spec itself (each
compiles it into its model once), states are the spec's own objects (nothing
to encode or decode), owners come from a hash that is the same in every
process (:mod:`.owners`), and checkpoints are pickles, as the
Python engine's are (one file on the driver's machine: load only your own).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn

from modelcheck.engines import checkpoints
from modelcheck.engines.bfs import CheckOptions, _identity
from modelcheck.engines.cluster import Refused
from modelcheck.engines.cluster.owners import owner, stable_hash
from modelcheck.engines.cluster.python_shard import PER, PythonShard
from modelcheck.engines.iteration_order import probe_iteration_order
from modelcheck.model import Model, PropertyDef

#: The checkpoint file's engine (see :data:`modelcheck.engines.checkpoints.FILES`).
ENGINE = "cluster-python"


class PythonPlan:
    """The spec's Python code on every shard: ``State`` objects, a stable hash, pickles."""

    engine = "python"
    checkpoint_engine = ENGINE
    shard_class = PythonShard
    per = PER

    def __init__(self, model: Model, props: list[PropertyDef], options: CheckOptions) -> None:
        """Refuse (:class:`Refused`) what the Python shards cannot do as the Python engine."""
        self.started = time.perf_counter()
        if model.constraints:
            raise Refused(
                "the spec has a @constraint: the states outside it are checked after each "
                "level by the Python engine in one process"
            )
        # As the Python engine does before its search: counts must not depend on the seed.
        probe_iteration_order(model, options.max_states)
        for state in model.initial_states:
            try:
                stable_hash(state)
            except TypeError as exc:
                raise Refused(f"a state cannot be placed on a shard: {exc}") from None
        self.model, self.props = model, props
        self.names = tuple(p.name for p in props)
        self.kinds = tuple(p.kind for p in props)
        self.seconds = 0.0
        self.note = ""

    def start(self) -> None:
        """Nothing to compile: each shard compiles the spec into its model as it starts."""

    def shard_args(self) -> tuple[Any, ...]:
        """What every shard is built with after its index and the shard count."""
        return (self.model.spec, self.names, "recoverable" in self.kinds, None)

    def pickled_by_value(self) -> tuple[str, ...]:
        """The modules Ray must send by value: the spec's own (and its state classes'),
        which a worker may not be able to import (a file the CLI loaded, a test module)."""
        classes = [*type(self.model.spec).__mro__, *(type(s) for s in self.model.initial_states)]
        tops = {c.__module__: c.__module__.partition(".")[0] for c in classes}
        ours = sys.stdlib_module_names | {"modelcheck"}  # importable everywhere, by name
        return tuple(sorted(name for name, top in tops.items() if top not in ours))

    def identity(self, options: CheckOptions, shards: int) -> dict[str, Any]:
        """What a checkpoint must match to be resumed by this run."""
        return dict(_identity(self.model, options, self.props), engine=ENGINE, shards=shards)

    def initial(self) -> tuple[list[Any], int]:
        """The initial states, each once, and how many."""
        initial = list(dict.fromkeys(self.model.initial_states))
        return initial, len(initial)

    def decode(self, state: Any) -> Any:
        return state

    def lookup(self, state: Any, shards: int) -> tuple[int, Any]:
        """The shard that owns ``state`` and what its ``recovers_row`` is asked with."""
        return owner(state, shards), state

    def refuse(
        self, problem: tuple[int, int, str], row_of_number: Callable[[int], Any]
    ) -> NoReturn:
        """The spec's code raised (or a property gave no bool) at a reachable state: the
        Python engine in one process meets it first and reports it with its trace."""
        raise Refused(f"the spec's code failed at a reachable state: {problem[2]}")

    def recovery_failed(self, p: int) -> NoReturn:
        raise Refused(f"{self.model.name}.{self.names[p]} failed at a reachable state")

    # --- checkpoints: one pickle, as the Python engine's ---

    def save(
        self,
        folder: str,
        manifest: dict[str, Any],
        found: dict[int, tuple[Any, ...]],
        snapshots: list[dict[str, Any]],
    ) -> None:
        checkpoints.save_pickled(folder, manifest, (found, snapshots), ENGINE)

    def load(
        self, folder: str, expected: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> tuple[dict[str, Any], dict[int, tuple[Any, ...]], list[dict[str, Any]]]:
        """The checkpoint in ``folder``, once its manifest matches what ``expected`` makes
        of it (before its objects are unpickled)."""
        manifest, (found, snapshots) = checkpoints.load_pickled(folder, expected, ENGINE)
        return manifest, found, snapshots
