"""The Hypothesis bridge: any spec as a Hypothesis stateful test (the only importer of Hypothesis).

One line in a pytest file turns a spec into a test::

    from modelcheck.integrations import hypothesis as modelcheck_hypothesis
    TestDnsRace = modelcheck_hypothesis.as_test_case(DnsRace(check_at_apply=True))

The generated :class:`~hypothesis.stateful.RuleBasedStateMachine` has one
rule per action family.  A rule is applicable only when some member of its
family is enabled, and draws the member's arguments from the family's
domain (``sampled_from`` its action instances, filtered to the enabled
ones), so a disabled action never runs and never counts as a failure.
Invariants are checked in every state, action properties on every step, the
terminal check in every state with no enabled action; there a no-op rule
(``no_action_enabled``) keeps Hypothesis going, since it refuses a machine
with no applicable rule.  Recoverability is a whole-graph property and is
left to the exhaustive check.

When a property fails, Hypothesis shrinks the run; then a breadth-first
search bounded to the shrunk run's length looks for a shortest
counterexample (:mod:`modelcheck.engines.shortest`).  The failure is raised
as a :class:`~modelcheck.errors.PropertyViolation` whose message is the
trace as a table, says whether it is *proven shortest* or *only shrunk*,
and names a JSON trace file that ``modelcheck replay`` accepts.

The same machine, given a :class:`~modelcheck.integrations.mbt.Binding`,
drives a real implementation in lock-step (:func:`mbt_test_case`).
"""

from __future__ import annotations

import inspect
import os
import tempfile
import unittest
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import attrs

try:
    from hypothesis import settings as Settings
    from hypothesis import strategies as st
    from hypothesis.stateful import (
        RuleBasedStateMachine,
        initialize,
        precondition,
        rule,
        run_state_machine_as_test,
    )
except ImportError as exc:  # pragma: no cover - depends on the environment
    from modelcheck.errors import ModelcheckError

    # hypothesis is a default dependency, so this is a broken or partial install.
    raise ModelcheckError(
        f"the Hypothesis bridge needs hypothesis, which modelcheck installs but this Python "
        f"cannot import ({exc}); reinstall it with: pip install hypothesis"
    ) from exc

from modelcheck.containers import Bag, FrozenMap
from modelcheck.engines.shortest import Counterexample, shortest_counterexample, violation_at_end
from modelcheck.errors import ModelcheckError, PropertyViolation, SpecRuntimeError
from modelcheck.integrations.mbt import Binding, LockStep, MbtFailure, run_trace
from modelcheck.model import ActionInstance, Model, compile_spec
from modelcheck.render.text import render_trace
from modelcheck.spec import Spec
from modelcheck.trace import Trace, save_trace
from modelcheck.wording import n_steps

__all__ = [
    "SpecMachine",
    "as_test_case",
    "bags",
    "frozen_maps",
    "mbt_state_machine",
    "mbt_test_case",
    "run",
    "run_mbt",
    "state_machine",
]


@attrs.frozen
class _Config:
    properties: tuple[str, ...] | None = None
    shortest: bool = True
    shortest_max_states: int | None = 1_000_000
    shortest_time_limit: float | None = 30.0
    trace_dir: Path | None = None


class SpecMachine(RuleBasedStateMachine):
    """Base class of the generated state machines (one subclass per spec instance)."""

    model: ClassVar[Model]
    config: ClassVar[_Config]
    binding: ClassVar[Binding | None] = None

    def __init__(self) -> None:
        super().__init__()
        self.initial: Any = None
        self.state: Any = None
        self.steps: list[tuple[ActionInstance, Any]] = []
        #: family -> {label: (action, next states)} for the current state.
        self._enabled: dict[str, dict[str, tuple[ActionInstance, list[Any]]]] = {}
        self._lockstep: LockStep | None = None
        names = self.config.properties
        props = self.model.properties if names is None else [self.model.property(n) for n in names]
        # Recoverability needs the whole graph, a possibility is not a
        # property of one run, and liveness is about infinite runs (a fair
        # loop of the graph): none is checked here.
        self._props = [
            p for p in props if p.kind not in ("recoverable", "reachable") and not p.liveness
        ]
        #: Whether the current state fails a @constraint: no rule steps past it.
        self._outside = False

    # --- driven by the generated rules ------------------------------------------------

    def _start(self, initial: Any) -> None:
        self.initial = self.state = initial
        if self.binding is not None:
            self._lockstep = LockStep(self.binding, self.model, initial)
        self._refresh()
        if self._lockstep is None:
            self._check(None, initial)

    def _fire(self, act: ActionInstance, nxt: Any) -> None:
        before = self.state
        self.steps.append((act, nxt))
        self.state = nxt
        if self._lockstep is not None:
            self._lockstep.step(act, nxt)  # compares with the implementation, checks properties
        self._refresh()
        if self._lockstep is None:
            self._check(before, nxt)

    def _refresh(self) -> None:
        enabled: dict[str, dict[str, tuple[ActionInstance, list[Any]]]] = {}
        self._outside = bool(self.model.constraints) and not self.model.within(self.state)
        if self._outside:
            # Like every engine, the test does not extend a state outside the
            # constraint: no action rule is enabled (their preconditions read
            # this), and only the "stay" rule remains.
            self._enabled = enabled
            return
        for act in self.model.actions:
            try:
                # A labelled instance (values chosen from the state, Choice
                # outcomes) keeps each step's own arguments.
                successors = (
                    act.successors(self.state) if act.labelled is None else act.moves(self.state)
                )
            except Exception as exc:
                raise SpecRuntimeError(
                    f"{self.model.name}.{act.family} raised {type(exc).__name__}: {exc} when "
                    f"run as {act.label} after {n_steps(len(self.steps))} (the trace is attached).",
                    self.trace(),
                ) from exc
            if successors:
                enabled.setdefault(act.family, {})[act.label] = (act, successors)
        self._enabled = enabled

    def _check(self, before: Any, after: Any) -> None:
        terminal = not self._enabled and not self._outside
        for prop in self._props:
            reason = violation_at_end(self.model, prop, before, after, terminal)
            if reason is not None:
                trace = self.trace(prop.name, prop.kind, reason)
                raise PropertyViolation(
                    f"{self.model.name}: {prop.name} is violated after {n_steps(len(self.steps))}: "
                    f"{reason}",
                    trace,
                )

    def trace(
        self, violates: str | None = None, kind: str | None = None, reason: str = ""
    ) -> Trace:
        """The run so far, in the project's trace format."""
        return self.model.run_trace(self.initial, self.steps, violates, kind, reason)

    def teardown(self) -> None:
        """Release the system under test, if any."""
        if self._lockstep is not None:
            self._lockstep.close()


_RESERVED = set(dir(SpecMachine)) | {"state", "initial", "steps"}


def _family_rule(family: str, labels: list[str]) -> Any:
    domain = st.sampled_from(labels)

    def fire(self: SpecMachine, data: st.DataObject) -> None:
        enabled = self._enabled[family]
        if len(labels) == 1:
            label = labels[0]
        else:
            label = data.draw(domain.filter(enabled.__contains__), label=family)
        act, successors = enabled[label]
        if act.labelled is not None:
            act, successors = _draw_move(data, act, successors)
        nxt = (
            successors[0]
            if len(successors) == 1
            else data.draw(st.sampled_from(successors), label=f"{label} outcome")
        )
        self._fire(act, nxt)

    fire.__name__ = family if family not in _RESERVED else f"{family}_action"
    fire.__doc__ = f"Fire one enabled member of the action family {family!r}."
    return precondition(lambda self: family in self._enabled)(rule(data=st.data())(fire))


def _draw_move(
    data: st.DataObject, act: ActionInstance, moves: list[tuple[Any, Any]]
) -> tuple[ActionInstance, list[Any]]:
    """Draw a step's arguments from those the state offers; the instance specialised to them."""
    offered = list(dict.fromkeys(args for args, _ in moves))
    args = (
        offered[0]
        if len(offered) == 1
        else data.draw(st.sampled_from(offered), label=f"{act.label} chooses")
    )
    return act.specialise(args), [t for a, t in moves if a == args]


def _no_action_enabled(self: SpecMachine) -> None:
    """No action is enabled, or the state is outside a constraint: stay.

    (The terminal check already ran on arrival.)"""


_no_action_enabled.__name__ = "no_action_enabled"


def _build(model: Model, config: _Config, binding: Binding | None) -> type[SpecMachine]:
    namespace: dict[str, Any] = {"model": model, "config": config, "binding": binding}
    by_family: dict[str, list[str]] = {}
    for act in model.actions:
        by_family.setdefault(act.family, []).append(act.label)
    for family, labels in by_family.items():
        fn = _family_rule(family, labels)
        namespace[fn.__name__] = fn
    initials = list(model.initial_states)
    if len(initials) == 1:

        def start(self: SpecMachine) -> None:
            self._start(initials[0])

        namespace["start"] = initialize()(start)
    else:

        def start_in(self: SpecMachine, initial: Any) -> None:
            self._start(initial)

        namespace["start"] = initialize(initial=st.sampled_from(initials))(start_in)
    stutter = precondition(lambda self: self.state is not None and not self._enabled)(
        rule()(_no_action_enabled)
    )
    namespace["no_action_enabled"] = stutter
    suffix = "MbtMachine" if binding is not None else "StateMachine"
    cls = type(f"{model.name}{suffix}", (SpecMachine,), namespace)
    cls.__doc__ = f"Hypothesis stateful test of {model.name}{_params(model)}."
    return cls


def _params(model: Model) -> str:
    return "(" + ", ".join(f"{k}={v!r}" for k, v in model.parameters.items()) + ")"


def _config(
    properties: Iterable[str] | str | None,
    shortest: bool,
    shortest_max_states: int | None,
    shortest_time_limit: float | None,
    trace_dir: str | Path | None,
) -> _Config:
    if isinstance(properties, str):
        properties = (properties,)
    return _Config(
        None if properties is None else tuple(properties),
        shortest,
        shortest_max_states,
        shortest_time_limit,
        None if trace_dir is None else Path(trace_dir),
    )


def state_machine(
    spec: Spec,
    *,
    properties: Iterable[str] | str | None = None,
    shortest: bool = True,
    shortest_max_states: int | None = 1_000_000,
    shortest_time_limit: float | None = 30.0,
    trace_dir: str | Path | None = None,
) -> type[SpecMachine]:
    """The spec as a ``RuleBasedStateMachine`` subclass (see the module docs).

    ``properties`` limits the properties checked; ``shortest`` turns the
    bounded search for a shortest counterexample on or off, within
    ``shortest_max_states`` states and ``shortest_time_limit`` seconds;
    ``trace_dir`` is where failing traces are saved (default: the
    ``MODELCHECK_TRACE_DIR`` environment variable, else a ``modelcheck-traces``
    folder in the temporary directory).
    """
    model = compile_spec(spec)
    for name in (properties,) if isinstance(properties, str) else properties or ():
        model.property(name)
    return _build(
        model,
        _config(properties, shortest, shortest_max_states, shortest_time_limit, trace_dir),
        None,
    )


def mbt_state_machine(
    binding: Binding,
    *,
    shortest: bool = True,
    shortest_max_states: int | None = 1_000_000,
    shortest_time_limit: float | None = 30.0,
    trace_dir: str | Path | None = None,
) -> type[SpecMachine]:
    """A machine that runs the spec and the implementation of ``binding`` in lock-step."""
    model = binding.model()
    return _build(
        model,
        _config(binding.properties, shortest, shortest_max_states, shortest_time_limit, trace_dir),
        binding,
    )


# --- running and reporting -----------------------------------------------------------------


def _default_settings() -> Settings:
    # A run of a machine is one "example": no per-example deadline, since a
    # lock-step run on a real database legitimately takes a while.
    return Settings(deadline=None)


def _run(machine: type[SpecMachine], settings: Settings | None) -> None:
    try:
        run_state_machine_as_test(machine, settings=settings or _default_settings())
    except PropertyViolation as exc:
        raise _report(machine, exc) from exc
    except BaseExceptionGroup as group:  # several distinct failures: report the first of ours
        ours = [e for e in group.exceptions if isinstance(e, PropertyViolation)]
        if not ours:
            raise
        raise _report(machine, ours[0]) from group


def run(spec: Spec, *, settings: Settings | None = None, **options: Any) -> None:
    """Run the spec as a Hypothesis stateful test now; raise on failure.

    ``options`` are those of :func:`state_machine`.  A failure raises
    :class:`~modelcheck.errors.PropertyViolation` (an ``AssertionError``)
    carrying the reported trace.
    """
    _run(state_machine(spec, **options), settings)


def run_mbt(binding: Binding, *, settings: Settings | None = None, **options: Any) -> None:
    """Run a lock-step model-based test now; raise :class:`MbtFailure` on failure."""
    _run(mbt_state_machine(binding, **options), settings)


def _test_case(machine: type[SpecMachine], settings: Settings | None) -> type[unittest.TestCase]:
    class SpecTestCase(unittest.TestCase):
        def runTest(self) -> None:
            _run(machine, settings)

    SpecTestCase.__name__ = SpecTestCase.__qualname__ = f"{machine.__name__}TestCase"
    SpecTestCase.__doc__ = machine.__doc__
    return SpecTestCase


def as_test_case(
    spec: Spec, *, settings: Settings | None = None, **options: Any
) -> type[unittest.TestCase]:
    """A ``unittest.TestCase`` class pytest collects: ``TestX = as_test_case(X())``.

    ``settings`` are Hypothesis settings (default: Hypothesis' defaults
    without a deadline); ``options`` are those of :func:`state_machine`.
    """
    return _test_case(state_machine(spec, **options), settings)


def mbt_test_case(
    binding: Binding, *, settings: Settings | None = None, **options: Any
) -> type[unittest.TestCase]:
    """A ``unittest.TestCase`` running the lock-step model-based test of ``binding``."""
    return _test_case(mbt_state_machine(binding, **options), settings)


def _trace_dir(config: _Config) -> Path:
    if config.trace_dir is not None:
        return config.trace_dir
    env = os.environ.get("MODELCHECK_TRACE_DIR")
    return Path(env) if env else Path(tempfile.gettempdir()) / "modelcheck-traces"


def _spec_file(model: Model) -> str:
    try:
        path = Path(inspect.getsourcefile(type(model.spec)) or "")
    except TypeError:
        return "SPEC_FILE"
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _file_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def _report(machine: type[SpecMachine], exc: PropertyViolation) -> PropertyViolation:
    """Turn Hypothesis' shrunk failure into our report: shortest if provable, saved as JSON."""
    model, config = machine.model, machine.config
    shrunk = exc.trace
    if shrunk is None or (shrunk.violates is None and not isinstance(exc, MbtFailure)):
        return exc
    folder = _trace_dir(config)
    stem = _file_name(f"{model.name}-{shrunk.violates or 'divergence'}")
    is_violation = shrunk.violates is not None
    ce = Counterexample(shrunk, False, len(shrunk), "only shrunk (no shortest search)")
    detail = str(exc)
    if is_violation and config.shortest:
        ce = shortest_counterexample(
            model,
            shrunk,
            max_states=config.shortest_max_states,
            time_limit=config.shortest_time_limit,
        )
        if ce.proven_shortest and machine.binding is not None and ce.trace is not shrunk:
            ce, detail = _confirm_on_implementation(machine.binding, model, ce, shrunk, detail)
    try:
        path = folder / f"{stem}.json"
        save_trace(ce.trace, path)
        saved = f"Saved to {path}; replay it with:\n  modelcheck replay {_spec_file(model)} {path}"
        if len(ce.trace) != len(shrunk):
            shrunk_path = folder / f"{stem}-shrunk.json"
            save_trace(shrunk, shrunk_path)
            saved += f"\n(Hypothesis' shrunk run, {n_steps(len(shrunk))}: {shrunk_path})"
    except OSError as err:
        saved = f"(could not save the trace: {err})"
    what = shrunk.violates if is_violation else "lock-step agreement with the implementation"
    header = (
        f"{model.name}{_params(model)}: {what} fails. Hypothesis found and shrank a run of "
        f"{n_steps(ce.found_steps)}; the trace below has {n_steps(len(ce.trace))}, {ce.how}."
    )
    if isinstance(exc, MbtFailure) or machine.binding is not None:
        body = detail
        if ce.trace is not shrunk and not isinstance(exc, MbtFailure):
            body = render_trace(ce.trace)
    else:
        body = render_trace(ce.trace)
    message = f"{header}\n\n{body}\n\n{saved}"
    if isinstance(exc, MbtFailure):
        return MbtFailure(
            message,
            kind=exc.kind,
            trace=ce.trace,
            step=exc.step,
            model_state=exc.model_state,
            observed=exc.observed,
            property=exc.property,
        )
    return PropertyViolation(message, ce.trace)


def _confirm_on_implementation(
    binding: Binding, model: Model, ce: Counterexample, shrunk: Trace, detail: str
) -> tuple[Counterexample, str]:
    """Check that the implementation also fails along the shortest model trace."""
    try:
        run_trace(binding, ce.trace, model)
    except MbtFailure as failure:
        return ce, str(failure)
    except ModelcheckError:
        pass
    fallback = attrs.evolve(
        ce,
        trace=shrunk,
        proven_shortest=False,
        how="only shrunk (the implementation did not fail along the model's shortest trace)",
    )
    return fallback, detail


# --- strategies for the state values of modelcheck.containers -------------------------------
#
# The machines above never draw field values (they run the spec's own
# actions), so they need no strategy for maps and bags.  These are for tests
# of a spec's helpers, or of an implementation's decoding of model states:
# ``st.from_type(FrozenMap[str, int])`` and ``st.from_type(Bag[str])`` work
# once this module is imported.


def frozen_maps(
    keys: st.SearchStrategy[Any], values: st.SearchStrategy[Any], *, max_size: int = 8
) -> st.SearchStrategy[FrozenMap[Any, Any]]:
    """Strategy for :class:`~modelcheck.containers.FrozenMap` values (shrinks towards ``{}``)."""
    return st.dictionaries(keys, values, max_size=max_size).map(FrozenMap)


def bags(
    elements: st.SearchStrategy[Any], *, max_distinct: int = 8, max_copies: int = 3
) -> st.SearchStrategy[Bag[Any]]:
    """Strategy for :class:`~modelcheck.containers.Bag` values with up to ``max_copies`` each."""
    counts = st.dictionaries(elements, st.integers(1, max_copies), max_size=max_distinct)
    return counts.map(Bag.from_counts)


def _from_type(kind: Any, arity: int) -> Any:
    from typing import get_args

    def resolve(hint: Any) -> st.SearchStrategy[Any]:
        args = get_args(hint)
        parts = [st.from_type(a) for a in args] if len(args) == arity else [st.integers()] * arity
        return frozen_maps(*parts) if kind is FrozenMap else bags(*parts)

    return resolve


st.register_type_strategy(FrozenMap, _from_type(FrozenMap, 2))
st.register_type_strategy(Bag, _from_type(Bag, 1))
