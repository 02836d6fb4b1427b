"""``modelcheck pin``: a found counterexample becomes a pytest regression test, in one command."""

from __future__ import annotations

import ast
import datetime
import keyword
import os
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from modelcheck.cli.common import SpecArg, TraceArg, err, reported_errors, write_file
from modelcheck.cli.loading import load_spec_class, model_for_trace
from modelcheck.cli.root import app
from modelcheck.errors import ModelcheckError
from modelcheck.trace import json_text, load_trace, trace_to_json
from modelcheck.trace_replay import replay

EXPECTATIONS = ("fails", "holds")


@app.command("pin")
def pin_command(
    target: SpecArg,
    trace_file: TraceArg,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", metavar="FILE", help="The test file to write (test_*.py)."),
    ],
    expect: Annotated[
        str,
        typer.Option(
            metavar="fails|holds",
            help="fails (default): the test asserts the property still fails on the run; "
            "holds: that a fix made the run illegal or the property hold.",
        ),
    ] = "fails",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write a pytest test that replays a saved counterexample against the spec."""
    with reported_errors():
        if expect not in EXPECTATIONS:
            raise ModelcheckError(f"--expect {expect}: choose fails or holds.")
        if output.suffix != ".py" or not output.name.startswith("test_"):
            raise ModelcheckError(
                f"-o {output}: pytest collects files named test_*.py; name it like "
                f"{output.parent / ('test_' + output.stem.removeprefix('test_') + '.py')}."
            )
        if output.exists() and not force:
            raise ModelcheckError(f"-o {output}: the file exists; give --force to replace it.")
        trace = load_trace(trace_file)
        if trace.violates is None or trace.kind == "reachable":
            raise ModelcheckError(
                f"{trace_file} is not a counterexample (it names no violated property); pin "
                "the trace of a property that fails, as written by check --trace-dir."
            )
        cls = load_spec_class(target)
        outcome = replay(model_for_trace(target, trace, None), trace)
        fails_now = outcome.legal and bool(outcome.property_fails)
        if expect == "fails" and not fails_now:
            why = outcome.message if not outcome.legal else "the property holds on it"
            raise ModelcheckError(
                f"{trace.violates} does not fail on this run of the spec now ({why}); to pin "
                "the fix instead, give --expect holds."
            )
        if expect == "holds" and fails_now:
            raise ModelcheckError(
                f"{trace.violates} still fails on this run; --expect holds pins a fix, so fix "
                "the spec first (or pin the failure with --expect fails)."
            )
        spec_file = Path(target.partition(":")[0]).resolve()
        text = test_source(cls.__name__, spec_file, output, trace, trace_file, expect)
        write_file(output, text)
        err(f"wrote {output}: run it with pytest {output}")


def test_source(
    cls_name: str, spec_file: Path, output: Path, trace: Any, source: Path, expect: str
) -> str:
    """The text of the regression test."""
    arguments = []
    for name, value in trace.parameters.items():
        shown = repr(value)
        try:
            ast.literal_eval(shown)
        except (ValueError, SyntaxError):
            raise ModelcheckError(
                f"the trace's parameter {name}={shown} cannot be written as a Python literal, "
                "so the test could not rebuild the spec; pin a run with plain parameters."
            ) from None
        arguments.append(f"{name}={shown}")
    folder = os.path.relpath(spec_file.parent, output.resolve().parent)
    module = spec_file.stem
    if not module.isidentifier() or keyword.iskeyword(module):
        raise ModelcheckError(
            f"{spec_file.name}: the test imports the spec by its file name, which is not a "
            "Python module name; rename the file (e.g. with underscores)."
        )
    prop = trace.violates
    test_name = re.sub(r"\W", "_", prop)
    if expect == "fails":
        claim = f"{prop} ({trace.kind}) still fails on it"
        body = (
            "    assert outcome.legal, outcome.message\n"
            "    assert outcome.property_fails, outcome.property_reason\n"
        )
        name = f"test_{test_name}_fails_on_the_pinned_run"
    else:
        claim = f"the fix holds: the run is no longer legal, or {prop} holds on it"
        body = (
            "    assert not (outcome.legal and outcome.property_fails), (\n"
            '        "the pinned counterexample fails again: " + outcome.property_reason\n'
            "    )\n"
        )
        name = f"test_{test_name}_no_longer_fails_on_the_pinned_run"
    today = datetime.date.today().isoformat()
    trace_text = json_text(trace_to_json(trace))
    if "'''" in trace_text:  # pragma: no cover - JSON never holds three quotes in a row
        raise ModelcheckError("the trace cannot be embedded in a Python string")
    return f'''"""Regression test written by `modelcheck pin` on {today} from {source.name}.

It replays this {len(trace.steps)}-step run of {cls_name}, embedded below, against
the spec and asserts that {claim}.
"""

import json
import sys
from pathlib import Path

from modelcheck import compile_spec, replay
from modelcheck.trace import trace_from_json

sys.path.insert(0, str((Path(__file__).parent / {folder!r}).resolve()))
from {module} import {cls_name}  # noqa: E402

SPEC = {cls_name}({", ".join(arguments)})
TRACE = trace_from_json(json.loads(r\'\'\'{trace_text}\'\'\'))


def {name}():
    outcome = replay(compile_spec(SPEC), TRACE)
{body}'''
