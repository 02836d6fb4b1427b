"""Renderers: each turns a :class:`~modelcheck.result.CheckResult` into text.

``FORMATS`` maps the names accepted by ``--format`` to a function
``(result, quiet) -> str``.  A renderer that also needs the compiled model
(``dot`` explores the state graph again) is listed in ``NEEDS_MODEL`` and
takes it as the keyword ``model``; :func:`render` passes it.  Renderers only
read results.
"""

from __future__ import annotations

# Not ``import json``: importing the submodule modelcheck.render.json binds
# the name ``json`` in this package's namespace, shadowing the stdlib module.
import json as _stdlib_json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from modelcheck.errors import ModelcheckError
from modelcheck.result import CheckResult

if TYPE_CHECKING:
    from modelcheck.model import Model


def _text(result: CheckResult, quiet: bool) -> str:
    from modelcheck.render.text import render_result

    return render_result(result, traces=not quiet)


def _json(result: CheckResult, quiet: bool) -> str:
    from modelcheck.render.json import result_to_json

    return _stdlib_json.dumps(result_to_json(result), indent=2)


def _mermaid(result: CheckResult, quiet: bool) -> str:
    from modelcheck.render.mermaid import result_to_mermaid

    return result_to_mermaid(result).rstrip("\n")


def _dot(result: CheckResult, quiet: bool, model: Model | None = None) -> str:
    from modelcheck.render.dot import render_dot

    if model is None:
        raise ModelcheckError(
            "the dot format draws the state graph and needs the model: call "
            "modelcheck.render.render('dot', result, quiet, model) or render.dot.render_dot"
        )
    return render_dot(model, result).rstrip("\n")


FORMATS: dict[str, Callable[..., str]] = {
    "text": _text,
    "json": _json,
    "mermaid": _mermaid,
    "dot": _dot,
}

#: Formats whose renderer takes the compiled model as the keyword ``model``.
NEEDS_MODEL = frozenset({"dot"})


def render(name: str, result: CheckResult, quiet: bool = False, model: Any = None) -> str:
    """Render ``result`` in the format ``name`` (one of :data:`FORMATS`)."""
    if name in NEEDS_MODEL:
        return FORMATS[name](result, quiet, model=model)
    return FORMATS[name](result, quiet)
