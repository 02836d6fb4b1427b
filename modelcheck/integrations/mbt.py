"""Model-based testing: drive a real implementation in lock-step with a spec.

The user says how each action family maps to a call on the system under
test, and how to observe the system as a model state (or as an abstraction
of one)::

    binding = Binding(
        spec=DnsRace(),
        start=lambda: MySystem(...),                 # a fresh system per run
        actions={"plan": lambda sys: sys.planner.create_plan(),
                 "pickup": lambda sys, e: sys.enactors[e].pick_up(), ...},
        observe=lambda sys: DnsState(...),           # what the system looks like now
        stop=lambda sys: sys.close(),
    )

The model chooses which enabled action happens next; the harness applies it
to the model and to the system, observes the system, and fails on the first
step where the observation differs from the model state (a *divergence*) or
where the model state violates a property.  The failure shows both states
side by side at that step.

:func:`explore` runs every interleaving up to a depth, without Hypothesis;
:mod:`modelcheck.integrations.hypothesis` runs random, shrinking lock-step
tests.  Both use :class:`LockStep`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from modelcheck.engines.shortest import violation_at_end
from modelcheck.errors import PropertyViolation, SpecError, closest
from modelcheck.model import ActionInstance, Model, compile_spec
from modelcheck.spec import Spec
from modelcheck.state import format_value, state_fields
from modelcheck.trace import Trace


@attrs.frozen
class Binding:
    """How a spec maps onto a system under test."""

    spec: Spec
    #: Make a fresh system under test, in the state matching the initial model state.
    start: Callable[[], Any]
    #: For each action family, ``call(system, **arguments)`` performs that step on the system.
    actions: Mapping[str, Callable[..., Any]]
    #: ``observe(system)`` returns the model state the system is in (or an abstraction).
    observe: Callable[[Any], Any]
    #: ``abstract(model_state)`` gives what ``observe`` should return; identity by default.
    abstract: Callable[[Any], Any] | None = None
    #: ``stop(system)`` releases the system (close connections, delete files).
    stop: Callable[[Any], None] | None = None
    #: Property names to check on the model (``None``: every invariant, action and
    #: terminal property of the spec).
    properties: tuple[str, ...] | None = None

    def model(self) -> Model:
        """The compiled spec, after checking that every action family is mapped."""
        model = compile_spec(self.spec)
        families = model.families
        for name in self.actions:
            if name not in families:
                raise SpecError(
                    f"Binding.actions maps {name!r}, which is not an action family of "
                    f"{model.name}.{closest(name, families)} Its families: {', '.join(families)}."
                )
        missing = [f for f in families if f not in self.actions]
        if missing:
            raise SpecError(
                f"Binding.actions does not map {', '.join(missing)}: every action family of "
                f"{model.name} needs a call on the system under test (use a no-op lambda for "
                "an action the implementation performs by itself)."
            )
        return model


class MbtFailure(PropertyViolation):
    """The implementation diverged from the model, raised, or a property failed.

    ``kind`` is ``"divergence"``, ``"error"`` or ``"violation"``; ``trace`` is
    the model's run up to and including the failing step (for a violation it
    is a legal counterexample of the spec, which ``modelcheck replay``
    accepts); ``model_state`` and ``observed`` are the two sides at that step.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        trace: Trace,
        step: int,
        model_state: Any,
        observed: Any,
        property: str | None = None,
    ) -> None:
        super().__init__(message, trace)
        self.kind = kind
        self.step = step
        self.model_state = model_state
        self.observed = observed
        self.property = property


def side_by_side(model_state: Any, observed: Any) -> str:
    """A table of the model state and the observed state, marking fields that differ."""
    left = model_state if isinstance(model_state, Mapping) else state_fields(model_state)
    right = observed if isinstance(observed, Mapping) else state_fields(observed)
    if left is None or right is None:
        mark = "" if model_state == observed else "   <- differs"
        return f"  model:    {model_state!r}\n  observed: {observed!r}{mark}"
    names = list(dict.fromkeys([*left, *right]))
    rows = [
        (n, _cell(left, n), _cell(right, n), left.get(n, _NO) != right.get(n, _NO)) for n in names
    ]
    w0 = max(len("field"), *(len(r[0]) for r in rows))
    w1 = max(len("model"), *(len(r[1]) for r in rows))
    w2 = max(len("observed"), *(len(r[2]) for r in rows))
    lines = [f"  {'field'.ljust(w0)}  {'model'.ljust(w1)}  observed"]
    for name, a, b, differs in rows:
        lines.append(
            f"  {name.ljust(w0)}  {a.ljust(w1)}  {b.ljust(w2)}"
            f"{'  <- differs' if differs else ''}".rstrip()
        )
    return "\n".join(lines)


_NO = object()


def _cell(fields: Mapping[str, Any], name: str) -> str:
    return format_value(fields[name]) if name in fields else "(absent)"


class LockStep:
    """One run of the model and the system under test, side by side.

    ``step(action, next_state)`` performs one model step on both and raises
    :class:`MbtFailure` on the first divergence, implementation error or
    property violation.  Always :meth:`close` it (it is a context manager).
    """

    def __init__(self, binding: Binding, model: Model, initial: Any) -> None:
        self.binding = binding
        self.model = model
        self.initial = initial
        self.state = initial
        self.steps: list[tuple[ActionInstance, Any]] = []
        names = binding.properties
        props = model.properties if names is None else [model.property(n) for n in names]
        # Whole-graph properties (recoverability, liveness) are not checked on one run.
        self._props = [p for p in props if p.kind != "recoverable" and not p.liveness]
        self._abstract = binding.abstract or (lambda s: s)
        self.system = binding.start()
        self._compare(None, "the initial state")
        self._check(None, initial)

    def __enter__(self) -> LockStep:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the system under test (idempotent)."""
        system, self.system = self.system, None
        if system is not None and self.binding.stop is not None:
            self.binding.stop(system)

    def step(self, act: ActionInstance, nxt: Any) -> None:
        """Apply ``act`` (leading to ``nxt`` in the model) to both sides and compare."""
        before = self.state
        self.steps.append((act, nxt))
        self.state = nxt
        try:
            self.binding.actions[act.family](self.system, **dict(act.args))
        except Exception as exc:
            self._fail(
                "error",
                f"the implementation raised {type(exc).__name__}: {exc}",
                observed=_safe_observe(self.binding, self.system),
            )
        self._compare(before, act.label)
        self._check(before, nxt)

    def trace(
        self, violates: str | None = None, kind: str | None = None, reason: str = ""
    ) -> Trace:
        """The model's run so far."""
        return self.model.run_trace(self.initial, self.steps, violates, kind, reason)

    def _compare(self, before: Any, where: str) -> None:
        try:
            observed = self.binding.observe(self.system)
        except Exception as exc:
            self._fail(
                "error",
                f"observing the implementation raised {type(exc).__name__}: {exc}",
                observed=None,
            )
        expected = self._abstract(self.state)
        if observed != expected:
            self._fail(
                "divergence", "the implementation diverged from the model", observed=observed
            )

    def _check(self, before: Any, after: Any) -> None:
        # A state outside a constraint is never extended, so it is no deadlock.
        terminal = self.model.within(after) and not self.model.successors(after)
        for prop in self._props:
            reason = violation_at_end(self.model, prop, before, after, terminal)
            if reason is not None:
                self._fail(
                    "violation",
                    f"{prop.name} ({prop.kind}) is violated: {reason}",
                    observed=self._abstract(after),
                    prop=prop.name,
                    prop_kind=prop.kind,
                    reason=reason,
                )

    def _fail(
        self,
        kind: str,
        what: str,
        *,
        observed: Any,
        prop: str | None = None,
        prop_kind: str | None = None,
        reason: str = "",
    ) -> None:
        n = len(self.steps)
        label = self.steps[-1][0].label if self.steps else "(initial state)"
        trace = self.trace(prop, prop_kind, reason)
        from modelcheck.render.text import render_trace  # only when failing

        message = (
            f"{self.model.name}: at step {n}, {label}: {what}.\n"
            f"Model state (abstracted) and observed implementation state after this step:\n"
            f"{side_by_side(self._abstract(self.state), observed)}\n\n"
            f"{render_trace(trace)}"
        )
        raise MbtFailure(
            message,
            kind=kind,
            trace=trace,
            step=n,
            model_state=self.state,
            observed=observed,
            property=prop,
        )


def _safe_observe(binding: Binding, system: Any) -> Any:
    try:
        return binding.observe(system)
    except Exception as exc:
        return f"(observing failed: {type(exc).__name__}: {exc})"


def run_trace(binding: Binding, trace: Trace, model: Model | None = None) -> None:
    """Drive the implementation along a model trace; raise :class:`MbtFailure` on failure."""
    model = model or binding.model()
    initial = next((s for s in model.initial_states if s == trace.initial), None)
    if initial is None:
        raise SpecError("the trace does not start in an initial state of the model")
    with LockStep(binding, model, initial) as run:
        for step in trace.steps:
            act = model.find_action(step.action, dict(step.args))
            if act is None or step.state not in act.successors(run.state):
                raise SpecError(f"{step.label} is not a legal step of {model.name} here")
            run.step(act, step.state)


@attrs.frozen
class Exploration:
    """What :func:`explore` ran (it raises on the first failure instead of returning)."""

    depth: int
    #: Distinct interleavings (maximal action sequences) executed.
    paths: int
    #: Steps performed on the implementation, replays included.
    steps: int
    #: Distinct model states met.
    states: int
    seconds: float


def explore(binding: Binding, depth: int) -> Exploration:
    """Run the implementation along every interleaving of the model up to ``depth`` steps.

    Every sequence of enabled actions of length ``depth`` (or shorter, when it
    reaches a terminal state) is executed in lock-step.  The search is
    depth-first: the first branch below a step continues on the live system,
    each other branch starts a fresh system and replays the steps above it.
    Raises :class:`MbtFailure` on the first failure.
    """
    if depth < 0:
        raise ValueError(f"depth must be >= 0, not {depth}")
    model = binding.model()
    started = time.perf_counter()
    walker = _Walker(binding, model, depth)
    try:
        for initial in model.initial_states:
            walker.restart(initial, [])
            walker.states.add(initial)
            walker.visit(initial)
    finally:
        walker.close()
    return Exploration(
        depth, walker.paths, walker.steps, len(walker.states), time.perf_counter() - started
    )


class _Walker:
    """The depth-first search of :func:`explore`, holding the one live run."""

    def __init__(self, binding: Binding, model: Model, depth: int) -> None:
        self.binding, self.model, self.depth = binding, model, depth
        self.run: LockStep | None = None
        self.path: list[tuple[ActionInstance, Any]] = []
        self.paths = self.steps = 0
        self.states: set[Any] = set()

    def restart(self, initial: Any, prefix: list[tuple[ActionInstance, Any]]) -> None:
        self.close()
        self.run = LockStep(self.binding, self.model, initial)
        for act, nxt in prefix:
            self.run.step(act, nxt)
            self.steps += 1

    def visit(self, state: Any) -> None:
        extend = len(self.path) < self.depth and self.model.within(state)
        successors = self.model.successors(state) if extend else []
        if not successors:
            self.paths += 1
            return
        for n, (act, nxt) in enumerate(successors):
            assert self.run is not None
            if n > 0:  # the live run went down the previous branch: rebuild it here
                self.restart(self.run.initial, self.path)
            self.run.step(act, nxt)  # type: ignore[union-attr]
            self.steps += 1
            self.states.add(nxt)
            self.path.append((act, nxt))
            self.visit(nxt)
            self.path.pop()

    def close(self) -> None:
        if self.run is not None:
            self.run.close()
            self.run = None
