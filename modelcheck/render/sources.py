"""Where a spec's properties and actions are defined, for reports a code host reads.

The JUnit and SARIF reports point at source lines: a violated property at
the line of its ``def``, each step of a counterexample at the ``def`` of
the action it took.  :func:`spec_sources` reads them once from the spec's
class (property and action family names are method names), so the
renderers stay pure functions of data.  A method whose source cannot be
found (a spec built with ``exec``, say) is simply left out; the reports then
give its name without a line.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from modelcheck.model import Model

_DEF = re.compile(r"\s*(async\s+)?def\s")


@attrs.frozen
class SourceLine:
    """A line of a source file: an absolute ``path`` and a 1-based ``line``."""

    path: str
    line: int

    def uri(self, root: Path | None) -> tuple[str, bool]:
        """``(uri, relative)``: a path relative to ``root`` when inside it, else a file URI."""
        path = Path(self.path)
        if root is not None:
            try:
                return path.resolve().relative_to(root.resolve()).as_posix(), True
            except ValueError:
                pass
        return path.resolve().as_uri(), False


@attrs.frozen
class PropertySource:
    """One property of the spec as the reports describe it."""

    name: str
    kind: str
    doc: str
    where: SourceLine | None


@attrs.frozen
class SpecSources:
    """Every property (declaration order, checked or not) and where each action is defined."""

    spec: str
    properties: tuple[PropertySource, ...]
    #: Action family name -> the line of its ``def``.
    actions: Mapping[str, SourceLine] = attrs.field(factory=dict)
    #: The ``initial_states`` method, where every trace starts.
    initial: SourceLine | None = None

    def property(self, name: str) -> PropertySource | None:
        """The property called ``name``, if the spec declares it."""
        return next((p for p in self.properties if p.name == name), None)


def source_line(fn: Any) -> SourceLine | None:
    """The file and the line of the ``def`` of ``fn`` (after its decorators), if known."""
    try:
        fn = inspect.unwrap(fn)
        path = inspect.getsourcefile(fn)
        lines, start = inspect.getsourcelines(fn)
    except (OSError, TypeError):
        return None
    if path is None:
        return None
    offset = next((i for i, text in enumerate(lines) if _DEF.match(text)), 0)
    return SourceLine(str(Path(path).resolve()), start + offset)


def spec_sources(model: Model) -> SpecSources:
    """Read the source lines of ``model``'s properties, actions and initial states."""
    cls = type(model.spec)
    properties = tuple(
        PropertySource(p.name, p.kind, p.doc, source_line(getattr(cls, p.name, None)))
        for p in model.properties
    )
    actions = {}
    for family in model.families:
        where = source_line(getattr(cls, family, None))
        if where is not None:
            actions[family] = where
    return SpecSources(
        spec=model.name,
        properties=properties,
        actions=actions,
        initial=source_line(getattr(cls, "initial_states", None)),
    )
