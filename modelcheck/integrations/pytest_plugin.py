"""The pytest plugin: every property of a spec as its own pytest test item.

One line in a test module::

    from modelcheck.integrations.pytest_plugin import spec_tests

    dns_race = spec_tests(DnsRace, enactors=2)

gives the items ``test_dns_race.py::DnsRace::active_plan_never_deleted``,
``...::applied_generation_monotonic`` and so on, one per property.  The
exhaustive search runs once, when the first of them runs, and only for the
properties that were selected (``-k``, ``-m``, node ids); every item then
reads its own verdict.  A violation fails with the counterexample table and
the ``modelcheck replay`` command for the saved trace; a search stopped by a
limit fails too, with the reason: an incomplete search never passes.

The plugin is registered through the ``pytest11`` entry point and stays out
of the way of suites that do not call :func:`spec_tests`: it collects no
files, and its only collection hook answers for :class:`SpecTests` objects
alone.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from modelcheck.engines.bfs import CheckOptions, check
from modelcheck.errors import ModelcheckError, PropertyViolation, SpecRuntimeError, closest
from modelcheck.model import Model, compile_spec
from modelcheck.render.text import render_summary, render_trace
from modelcheck.result import CheckResult, Status
from modelcheck.spec import Spec
from modelcheck.trace import save_trace
from modelcheck.wording import n_steps

__all__ = ["IncompleteSearch", "SpecTests", "spec_tests"]

#: How many pytest configurations have the plugin loaded right now (pytester
#: runs pytest inside pytest, so this is a count, not a flag).
_active = 0


class IncompleteSearch(ModelcheckError, AssertionError):
    """A limit stopped the search before it decided a property: the test fails, never passes."""


@attrs.frozen
class SpecTests:
    """What :func:`spec_tests` returns: a spec and how to check it, collected by the plugin."""

    spec: Spec | type[Spec]
    parameters: dict[str, Any]
    name: str | None = None
    properties: tuple[str, ...] | None = None
    max_states: int | None = None
    max_depth: int | None = None
    time_limit: float | None = None
    trace_dir: Path | None = None

    def build(self) -> Spec:
        """The spec instance (built at collection, so a bad parameter is a collection error)."""
        if isinstance(self.spec, Spec):
            return self.spec
        return self.spec(**self.parameters)

    @property
    def node_name(self) -> str:
        """The name of the collector node: ``name=``, else the spec class's name."""
        cls = self.spec if isinstance(self.spec, type) else type(self.spec)
        return self.name or cls.__name__


def spec_tests(
    spec: Spec | type[Spec],
    /,
    *,
    name: str | None = None,
    properties: Iterable[str] | str | None = None,
    max_states: int | None = None,
    max_depth: int | None = None,
    time_limit: float | None = None,
    trace_dir: str | Path | None = None,
    **parameters: Any,
) -> SpecTests:
    """Turn each property of ``spec`` into a pytest item; assign the result in a test module.

    ``spec`` is a spec class, built with ``parameters`` (``spec_tests(DnsRace,
    enactors=2)``), or an instance (``spec_tests(DnsRace(enactors=2))``; use
    that form for a parameter named like one of the options).  ``name`` names
    the collector node (default: the class name; give one when a module checks
    the same class twice).  ``properties`` limits the items to some properties;
    ``max_states``, ``max_depth`` and ``time_limit`` bound the search (a bound
    that stops it makes the undecided items fail); ``trace_dir`` is where
    counterexamples are saved (default: ``--modelcheck-trace-dir``, else
    ``MODELCHECK_TRACE_DIR``, else a ``modelcheck`` folder in pytest's
    temporary directory).
    """
    if os.environ.get("PYTEST_VERSION") and _active == 0:
        raise ModelcheckError(
            "spec_tests() needs the modelcheck pytest plugin, which this pytest run has not "
            "loaded, so its tests would silently not exist. It loads by itself when modelcheck "
            "is installed (pip install modelcheck); with PYTEST_DISABLE_PLUGIN_AUTOLOAD set, "
            "add -p modelcheck.integrations.pytest_plugin to the pytest command."
        )
    if not (isinstance(spec, Spec) or (isinstance(spec, type) and issubclass(spec, Spec))):
        raise ModelcheckError(
            f"spec_tests({spec!r}): give a spec class or instance (a subclass of modelcheck.Spec)."
        )
    if isinstance(spec, Spec) and parameters:
        raise ModelcheckError(
            f"spec_tests({type(spec).__name__}(...), {', '.join(parameters)}=...): parameters "
            "go with the spec class, e.g. spec_tests(MySpec, n=3), or into the instance you give."
        )
    if isinstance(properties, str):
        properties = (properties,)
    return SpecTests(
        spec,
        dict(parameters),
        name,
        None if properties is None else tuple(properties),
        max_states,
        max_depth,
        time_limit,
        None if trace_dir is None else Path(trace_dir),
    )


# --- hooks ---------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--modelcheck-trace-dir``: where failing items save their counterexamples."""
    parser.getgroup("modelcheck").addoption(
        "--modelcheck-trace-dir",
        metavar="DIR",
        default=None,
        help="save the counterexamples of failing modelcheck items here "
        "(default: MODELCHECK_TRACE_DIR, else pytest's temporary folder).",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``modelcheck`` marker that every property item carries."""
    global _active
    _active += 1
    config.addinivalue_line(
        "markers", "modelcheck: a property of a spec checked by modelcheck (spec_tests)"
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    """Forget this configuration (see :data:`_active`)."""
    global _active
    _active -= 1


def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> SpecCollector | None:
    """Collect a :class:`SpecTests` object; leave everything else to pytest."""
    if not isinstance(obj, SpecTests):
        return None
    return SpecCollector.from_parent(collector, name=obj.node_name, tests=obj)


# --- nodes ---------------------------------------------------------------------------------


class SpecCollector(pytest.Collector):
    """One spec with its parameters: its properties are the children; it runs the search."""

    def __init__(self, *, tests: SpecTests, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tests = tests
        self.model: Model | None = None
        self._outcome: CheckResult | BaseException | None = None

    def collect(self) -> Iterator[PropertyItem]:
        """One item per property (those named by ``properties=``, if given)."""
        try:
            self.model = compile_spec(self.tests.build())
            wanted = self.tests.properties
            names = [p.name for p in self.model.properties]
            if not names:  # no items would be a module that silently tests nothing
                raise ModelcheckError(
                    f"{self.model.name} declares no property, so there is nothing to test; "
                    "add an @invariant (or another property) to the spec."
                )
            for prop in wanted or ():
                if prop not in names:
                    raise ModelcheckError(
                        f"properties={wanted!r}: {self.model.name} has no property {prop!r}."
                        f"{closest(prop, names)} Its properties: {', '.join(names)}."
                    )
        except (ModelcheckError, TypeError, ValueError) as exc:
            raise self.CollectError(f"{self.nodeid}: {exc}") from None
        for prop in self.model.properties:
            if wanted is None or prop.name in wanted:
                item = PropertyItem.from_parent(self, name=prop.name)
                item.add_marker("modelcheck")
                yield item

    def result(self) -> CheckResult:
        """The search, run once for all the selected items of this spec."""
        if self._outcome is None:
            assert self.model is not None
            selected = [item.name for item in self.session.items if item.parent is self] or None
            options = CheckOptions(
                properties=None if selected is None else tuple(selected),
                max_states=self.tests.max_states,
                max_depth=self.tests.max_depth,
                time_limit=self.tests.time_limit,
            )
            try:
                self._outcome = check(self.model, options)
            except ModelcheckError as exc:
                self._outcome = exc
        if isinstance(self._outcome, BaseException):
            raise self._outcome
        if self._outcome.stopped_by == "interrupted":
            raise KeyboardInterrupt  # Ctrl-C stops the pytest session, not only this search
        return self._outcome

    def teardown(self) -> None:
        """Drop the result (and its traces) once the spec's items have run."""
        self._outcome = None

    def trace_dir(self) -> Path:
        """Where this spec's counterexamples are saved."""
        if self.tests.trace_dir is not None:
            return self.tests.trace_dir
        option = self.config.getoption("--modelcheck-trace-dir")
        if option:
            return Path(option)
        env = os.environ.get("MODELCHECK_TRACE_DIR")
        if env:
            return Path(env)
        # What the tmp_path_factory fixture returns; a plugin has no fixture request here.
        factory = getattr(self.config, "_tmp_path_factory", None)
        if factory is None:  # pragma: no cover - tmpdir plugin disabled
            import tempfile

            return Path(tempfile.gettempdir()) / "modelcheck-traces"
        return factory.getbasetemp() / "modelcheck"

    def replay_target(self) -> str:
        """``FILE:Class`` for ``modelcheck replay``, the file relative to where pytest started."""
        assert self.model is not None
        cls = type(self.model.spec)
        try:
            path = Path(inspect.getsourcefile(cls) or "SPEC_FILE").resolve()
        except TypeError:
            return f"SPEC_FILE:{cls.__name__}"
        try:
            shown = path.relative_to(self.config.invocation_params.dir)
        except ValueError:
            shown = path
        return f"{shown}:{cls.__name__}"


class PropertyItem(pytest.Item):
    """One property of a spec: passes when the complete search says it holds."""

    parent: SpecCollector

    def runtest(self) -> None:
        """Read this property's verdict from the spec's one search."""
        collector = self.parent
        result = collector.result()
        verdict = result.verdict(self.name)
        title = f"{result.spec}({_parameters(result.parameters)})"
        if verdict.status is Status.VIOLATED:
            trace = verdict.counterexample
            lines = [f"{title}: {self.name} ({verdict.kind}) is violated."]
            if trace is None:
                lines.append(verdict.reason)
                raise PropertyViolation("\n".join(lines))
            lines += ["", render_trace(trace), "", self._save(trace)]
            raise PropertyViolation("\n".join(lines), trace)
        if verdict.status is not Status.HOLDS or not result.complete:
            st = result.statistics
            raise IncompleteSearch(
                f"{title}: {self.name} ({verdict.kind}) was not decided: the search stopped "
                f"({result.stopped_by}) after {st.states} distinct states, depth "
                f"{n_steps(st.depth)}, before it explored every reachable state, so nothing "
                f"is proved. {_advice(result.stopped_by)}\n\n{render_summary(result)}"
            )

    def _save(self, trace: Any) -> str:
        folder = self.parent.trace_dir()
        path = folder / (_file_name(self.nodeid) + ".json")
        try:
            save_trace(trace, path)
        except OSError as exc:
            return f"(could not save the trace to {path}: {exc.strerror or exc})"
        return (
            f"Saved to {path}; replay it with:\n"
            f"  modelcheck replay {self.parent.replay_target()} {path}"
        )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:
        """Our failures are their message (the table), never a traceback into the plugin."""
        exc = excinfo.value
        if isinstance(exc, SpecRuntimeError) and exc.trace is not None:
            return f"{exc}\n\nThe run that reached the failing state:\n{render_trace(exc.trace)}"
        if isinstance(exc, ModelcheckError):
            return str(exc)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """Reported as ``Spec::property`` in the test module."""
        return self.path, None, f"{self.parent.name}::{self.name}"


def _parameters(parameters: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in parameters.items())


def _file_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


_ADVICE = {
    "max_states": "Raise max_states in spec_tests(...), or remove it.",
    "max_depth": "Raise max_depth in spec_tests(...), or remove it.",
    "time_limit": "Raise time_limit in spec_tests(...), or remove it.",
    "out_of_memory": "Check smaller parameters, or bound the search with max_states.",
}


def _advice(stopped_by: str | None) -> str:
    return _ADVICE.get(stopped_by or "", "")
