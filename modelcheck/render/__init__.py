"""Renderers: each turns a :class:`~modelcheck.result.CheckResult` into text.

``FORMATS`` maps the names accepted by ``--format`` to a function
``(result, quiet) -> str``.  Renderers only read results.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from modelcheck.result import CheckResult


def _text(result: CheckResult, quiet: bool) -> str:
    from modelcheck.render.text import render_result

    return render_result(result, traces=not quiet)


def _json(result: CheckResult, quiet: bool) -> str:
    from modelcheck.render.json import result_to_json

    return json.dumps(result_to_json(result), indent=2)


FORMATS: dict[str, Callable[[CheckResult, bool], str]] = {
    "text": _text,
    "json": _json,
}
