"""Results as values: verdicts, statistics and the outcome of a check."""

from __future__ import annotations

import enum
from typing import Any

import attrs

from modelcheck.trace import Trace


class Status(enum.StrEnum):
    """The verdict on one property."""

    HOLDS = "holds"
    VIOLATED = "violated"
    #: The search stopped (a limit, Ctrl-C, stop-at-first) before it could decide.
    UNKNOWN = "unknown"


class ExitCode(enum.IntEnum):
    """Process exit codes shared by every command."""

    OK = 0
    VIOLATED = 1
    ERROR = 2
    INCOMPLETE = 3


@attrs.frozen
class Verdict:
    """The verdict on one property, with a shortest counterexample when violated.

    A ``reachable`` property is the other way round: it holds with a
    shortest ``witness`` (a run to a state satisfying it), and is violated,
    without a trace, when a complete search finds no such state.
    """

    property: str
    kind: str
    status: Status
    counterexample: Trace | None = None
    #: Why the property fails, in words (which fields broke it).
    reason: str = ""
    #: For a ``reachable`` property that holds: a shortest run to a state satisfying it.
    witness: Trace | None = None


@attrs.frozen
class Statistics:
    """What a search measured."""

    states: int
    transitions: int
    #: The largest BFS depth reached (the diameter, for a complete search).
    depth: int
    seconds: float
    peak_memory_bytes: int
    #: Distinct states reached that fail a ``@constraint``: not counted in
    #: ``states`` and never expanded, as in TLC (their invariants are checked).
    constrained: int = 0
    #: Seconds spent before the search to compile the model (the compiled
    #: engine's extraction, code generation and JIT; 0 for the Python engine,
    #: whose ``seconds`` include its much shorter set-up).
    compile_seconds: float = 0.0
    #: Threads the search ran on (the compiled engine's ``workers``; 1 for Python).
    workers: int = 1
    #: Shards the cluster search was partitioned over (0: a one-process search).
    shards: int = 0
    #: With the fingerprint store: the estimated probability that two distinct
    #: states shared a fingerprint, so that one was never explored (the birthday
    #: bound ``n**2 / 2**65`` for ``n`` states); None for the exact store.
    collision_probability: float | None = None

    @property
    def states_per_second(self) -> float:
        """Distinct states found per second of search."""
        return self.states / self.seconds if self.seconds > 0 else float(self.states)


@attrs.frozen
class ActionCoverage:
    """How often one action instance was enabled and fired in a search.

    ``enabled`` counts the explored states in which the action had at least
    one successor; ``fired`` counts the steps it took (a nondeterministic
    action fires once per successor).  An action never enabled is almost
    always a bug in the spec.
    """

    label: str
    family: str
    enabled: int
    fired: int
    #: For an instance whose steps carry more arguments than it has (a
    #: state-dependent choice, a nondeterministic ``Choice`` label): each
    #: distinct tuple of those extra arguments seen on a step, in the order
    #: the search first took it.
    values: tuple[tuple[tuple[str, Any], ...], ...] = ()

    @property
    def value_labels(self) -> tuple[str, ...]:
        """``name=value, ...`` for each entry of :attr:`values`."""
        return tuple(", ".join(f"{k}={v!r}" for k, v in args) for args in self.values)

    #: An operator's action (``@action(operator=True)``): one that is never enabled
    #: draws no warning (a configuration may leave the operators out).
    operator: bool = False


@attrs.frozen
class CheckResult:
    """The outcome of an exhaustive check.

    ``complete`` is true only when every reachable state was explored; a
    property never "holds" in an incomplete result.
    """

    spec: str
    parameters: dict[str, Any]
    verdicts: tuple[Verdict, ...]
    statistics: Statistics
    complete: bool
    #: What stopped the search early: "max_states", "max_depth", "time_limit",
    #: "interrupted", "first_violation", or None for a complete search.
    stopped_by: str | None = None
    #: The engine that ran: "python" or "compiled" (the BFS engines), "simulate",
    #: "bmc" or "prove".
    engine: str = "python"
    #: What to know about the engine that ran: why the one asked for did not
    #: (e.g. the compiled engine, for a spec outside the symbolic subset), or
    #: that the compiled engine's kernel came from the disk cache.
    engine_note: str = ""
    #: Per action instance, in declaration order (only with ``coverage=True``).
    coverage: tuple[ActionCoverage, ...] = ()
    #: What the check found suspicious without it being a verdict: a vacuous
    #: ``leads_to``, fairness on an action never enabled, liveness that a
    #: reduction (a ``@constraint``) kept from being checked.
    warnings: tuple[str, ...] = ()
    #: The symmetry the search was reduced by (the spec's declaration, in
    #: words), or "" for an unreduced search.  When set, ``statistics.states``
    #: counts orbits of reachable states (one representative each), not states.
    symmetry: str = ""
    #: How the visited states were stored: "exact" (the states themselves) or
    #: "fingerprints" (64-bit fingerprints: a collision could have hidden a state,
    #: with the probability ``statistics.collision_probability``).
    store: str = "exact"

    @property
    def exact(self) -> bool:
        """Whether the search compared whole states (not fingerprints) to tell them apart."""
        return self.store == "exact"

    @property
    def reduced(self) -> bool:
        """Whether the counts are of orbits under a symmetry, not of states."""
        return bool(self.symmetry)

    @property
    def violated(self) -> tuple[Verdict, ...]:
        """The verdicts that found a violation."""
        return tuple(v for v in self.verdicts if v.status is Status.VIOLATED)

    @property
    def ok(self) -> bool:
        """True when the search was complete and every property holds."""
        return self.complete and all(v.status is Status.HOLDS for v in self.verdicts)

    @property
    def exit_code(self) -> ExitCode:
        """0 all hold, 1 a property fails, 3 incomplete (see :class:`ExitCode`)."""
        if self.violated:
            return ExitCode.VIOLATED
        if not self.ok:
            return ExitCode.INCOMPLETE
        return ExitCode.OK

    def verdict(self, name: str) -> Verdict:
        """The verdict on the property called ``name``."""
        for v in self.verdicts:
            if v.property == name:
                return v
        raise KeyError(f"no verdict for {name!r}; checked: {[v.property for v in self.verdicts]}")
