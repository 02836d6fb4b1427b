"""How the driver talks to its shards: in this process, or as actors on a Ray cluster.

Both give the same three operations, so the search (:mod:`.search`) is one
piece of code: call a method on every shard (or one), and *exchange* —
every shard's ``send`` method returns a head and one batch per shard, and
batch ``j`` of every sender goes to shard ``j``'s ``receive`` method.  On
Ray the batches stay in the object store: the driver passes references, so
a level's successors travel from shard to shard (through shared memory on
one machine) and never through the driver.

Only this module and :mod:`modelcheck.engines.cluster` import ``ray``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from modelcheck.engines.cluster.shard import Shard
from modelcheck.errors import ModelcheckError


class ShardLost(ModelcheckError):
    """A shard's process died (or its node left the cluster): the run cannot go on."""


class Shards(Protocol):
    """The shards of one run."""

    count: int

    def each(self, method: str, *args: Any) -> list[Any]: ...

    def each_with(self, method: str, args: Sequence[tuple[Any, ...]]) -> list[Any]: ...

    def one(self, shard: int, method: str, *args: Any) -> Any: ...

    def exchange(
        self, send: str, send_args: tuple[Any, ...], receive: str, receive_args: tuple[Any, ...]
    ) -> tuple[list[Any], list[Any]]: ...

    def restart(self) -> None:
        """Start every shard again, empty (after one was lost)."""
        ...

    def close(self) -> None: ...


class InProcess:
    """Shards as plain objects in this process (for tests and for one machine without Ray)."""

    def __init__(self, count: int, *args: Any) -> None:
        self.count, self.args = count, args
        self.shards = [Shard(i, count, *args) for i in range(count)]

    def restart(self) -> None:
        self.shards = [Shard(i, self.count, *self.args) for i in range(self.count)]

    def each(self, method: str, *args: Any) -> list[Any]:
        return [getattr(s, method)(*args) for s in self.shards]

    def each_with(self, method: str, args: Sequence[tuple[Any, ...]]) -> list[Any]:
        return [getattr(s, method)(*a) for s, a in zip(self.shards, args, strict=True)]

    def one(self, shard: int, method: str, *args: Any) -> Any:
        return getattr(self.shards[shard], method)(*args)

    def exchange(
        self, send: str, send_args: tuple[Any, ...], receive: str, receive_args: tuple[Any, ...]
    ) -> tuple[list[Any], list[Any]]:
        sent = self.each(send, *send_args)
        heads = [s[0] for s in sent]
        received = [
            getattr(shard, receive)(*receive_args, *(s[1 + j] for s in sent))
            for j, shard in enumerate(self.shards)
        ]
        return heads, received

    def close(self) -> None:
        self.shards = []


class OnRay:
    """Shards as Ray actors, spread over the cluster's nodes."""

    def __init__(self, address: str, count: int | None, *args: Any) -> None:
        import ray

        self.ray = ray
        self.started = False
        if not ray.is_initialized():
            try:
                if address == "local":
                    ray.init(
                        include_dashboard=False,
                        log_to_driver=False,
                        configure_logging=False,
                    )
                    self.started = True
                else:
                    ray.init(address=address, log_to_driver=False, configure_logging=False)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                where = "a local Ray instance" if address == "local" else f"Ray at {address}"
                raise ModelcheckError(
                    f"--ray: cannot start or join {where} ({exc}). Check the address "
                    "(the one `ray start --head` printed, e.g. 10.0.0.1:6379), or leave it "
                    "out to start a local instance."
                ) from None
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.count = count if count is not None else max(1, cpus)
        self.args = args
        self.actors: list[Any] = []
        self._start()

    def _start(self) -> None:
        actor = self.ray.remote(num_cpus=0, scheduling_strategy="SPREAD", max_restarts=0)(Shard)
        cache_folder = os.environ.get("MODELCHECK_CACHE_DIR")
        # Named, so that an operator (or a test) can find a run's shards in the cluster.
        run = uuid.uuid4().hex[:12]
        self.actors = [
            actor.options(name=f"modelcheck-{run}-shard-{i}").remote(
                i, self.count, *self.args, cache_folder
            )
            for i in range(self.count)
        ]
        self.each("memory")  # wait until every shard has loaded its kernel

    def restart(self) -> None:
        self._kill()
        self._start()

    def _kill(self) -> None:
        for a in self.actors:
            self.ray.kill(a)
        self.actors = []

    def _get(self, refs: Any) -> Any:
        try:
            return self.ray.get(refs)
        except self.ray.exceptions.RayActorError as exc:
            raise ShardLost(
                "a shard of the cluster search died (its process was killed, ran out of "
                f"memory, or its node left the cluster): {_first_line(exc)}. The run cannot go "
                "on without its states; run the check again (give the shards more memory, or "
                "more shards with --shards)."
            ) from None
        except self.ray.exceptions.RayTaskError as exc:
            raise exc.as_instanceof_cause() from None

    def each(self, method: str, *args: Any) -> list[Any]:
        return self._get([getattr(a, method).remote(*args) for a in self.actors])

    def each_with(self, method: str, args: Sequence[tuple[Any, ...]]) -> list[Any]:
        return self._get(
            [getattr(a, method).remote(*x) for a, x in zip(self.actors, args, strict=True)]
        )

    def one(self, shard: int, method: str, *args: Any) -> Any:
        return self._get(getattr(self.actors[shard], method).remote(*args))

    def exchange(
        self, send: str, send_args: tuple[Any, ...], receive: str, receive_args: tuple[Any, ...]
    ) -> tuple[list[Any], list[Any]]:
        n = self.count
        sent = [getattr(a, send).options(num_returns=n + 1).remote(*send_args) for a in self.actors]
        received = [
            getattr(a, receive).remote(*receive_args, *(s[1 + j] for s in sent))
            for j, a in enumerate(self.actors)
        ]
        heads = self._get([s[0] for s in sent])
        return heads, self._get(received)

    def close(self) -> None:
        self._kill()
        if self.started:
            self.ray.shutdown()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
