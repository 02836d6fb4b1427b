"""JUnit XML reports (``--junit FILE``): one test case per property, for any CI system.

Every CI system reads JUnit XML, so a model check shows up beside the unit
tests.  One ``<testsuite>`` per run, one ``<testcase>`` per property of the
spec, named by the property, with the spec class as its class name and the
file and line of the property's ``def``:

- *holds* (or, for ``simulate``, not violated in a finished simulation):
  a passing case;
- *violated*: a ``<failure>`` whose message is the reason and whose text is
  the counterexample as the text table;
- *unknown* (a limit or Ctrl-C stopped the search, ``prove`` could not
  prove it, a simulation stopped early): an ``<error type="incomplete">``
  with the reason.  An incomplete search is never reported as a pass;
- not checked (not selected with ``--property``, or a recoverability
  property under ``bmc``/``prove``/``simulate``): ``<skipped>`` with why.

So the report fails exactly when the command's exit code is not 0.  The
XML is deterministic apart from the ``time`` attributes; characters XML 1.0
cannot carry (a ``'\\0'`` in a state value) are written as ``\\x00``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from modelcheck.render.sources import SourceLine, SpecSources
from modelcheck.render.text import render_trace
from modelcheck.result import Status, Verdict
from modelcheck.spec import LIVENESS_KINDS

# Characters XML 1.0 forbids even as character references.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` with every character XML 1.0 cannot hold shown as a ``\\xNN`` escape."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _parameters(result: Any) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in result.parameters.items())


def _seconds(result: Any) -> float:
    statistics = getattr(result, "statistics", None)
    return statistics.seconds if statistics is not None else result.seconds


def _case_outcome(result: Any, verdict: Verdict | None, kind: str) -> tuple[str, str, str]:
    """``(outcome, message, text)``; outcome is passed, failure, error or skipped."""
    engine = result.engine
    if verdict is None:
        if (kind == "recoverable" or kind in LIVENESS_KINDS) and engine in ("bmc", "prove"):
            return "skipped", "not checked by the symbolic engine; use modelcheck check", ""
        return "skipped", "not selected (--property)", ""
    if verdict.status is Status.HOLDS:
        return "passed", "", ""
    if verdict.status is Status.VIOLATED:
        text = render_trace(verdict.counterexample) if verdict.counterexample else ""
        return "failure", verdict.reason or f"{verdict.property} is violated", text
    # Unknown.
    if engine == "simulate":
        if verdict.kind == "recoverable" or verdict.kind in LIVENESS_KINDS:
            return "skipped", verdict.reason, ""
        if result.stopped_by is None:
            # A finished simulation that found nothing: exit code 0, so a pass,
            # with what was (not) shown kept beside it.
            return "passed", verdict.reason, ""
    reason = verdict.reason or f"incomplete: the search was stopped by {result.stopped_by}"
    text = ""
    if verdict.counterexample is not None:
        text = "Counterexample to induction (not a reachable run):\n" + render_trace(
            verdict.counterexample
        )
    return "error", reason, text


def result_to_junit(
    result: Any, sources: SpecSources | None = None, root: Path | None = None
) -> str:
    """The JUnit XML report of a check, simulation, ``bmc`` or ``prove`` result.

    ``result`` is a :class:`~modelcheck.result.CheckResult` or a
    :class:`~modelcheck.engines.simulate.SimulationResult`.  With
    ``sources`` (:func:`~modelcheck.render.sources.spec_sources`) every
    property of the spec gets a case, unchecked ones skipped, and cases
    carry ``file`` (relative to ``root`` when inside it) and ``line``.
    """
    verdicts = {v.property: v for v in result.verdicts}
    if sources is not None:
        cases = [(p.name, p.kind, p.where) for p in sources.properties]
        known = {p.name for p in sources.properties}
        cases += [(v.property, v.kind, None) for v in result.verdicts if v.property not in known]
    else:
        cases = [(v.property, v.kind, None) for v in result.verdicts]

    seconds = _seconds(result)
    suite = ET.Element("testsuite")
    counts = {"failure": 0, "error": 0, "skipped": 0}
    properties = ET.SubElement(suite, "properties")
    for name, value in _suite_properties(result):
        ET.SubElement(properties, "property", name=name, value=xml_safe(str(value)))
    for name, kind, where in cases:
        outcome, message, text = _case_outcome(result, verdicts.get(name), kind)
        case = ET.SubElement(suite, "testcase", name=name, classname=result.spec)
        if where is not None:
            case.set("file", _file(where, root))
            case.set("line", str(where.line))
        if outcome == "passed":
            if message:
                ET.SubElement(case, "system-out").text = xml_safe(message)
            continue
        counts[outcome] += 1
        child = ET.SubElement(case, outcome, message=xml_safe(message))
        if outcome == "failure":
            child.set("type", kind)
        elif outcome == "error":
            child.set("type", "incomplete")
        if text:
            child.text = xml_safe(text)
    attributes = {
        "name": f"modelcheck {result.engine} {result.spec}({_parameters(result)})",
        "tests": str(len(cases)),
        "failures": str(counts["failure"]),
        "errors": str(counts["error"]),
        "skipped": str(counts["skipped"]),
        "time": f"{seconds:.3f}",
    }
    for key, value in attributes.items():
        suite.set(key, xml_safe(value))
    top = ET.Element("testsuites", name="modelcheck")
    for key in ("tests", "failures", "errors", "skipped", "time"):
        top.set(key, attributes[key])
    top.append(suite)
    ET.indent(top)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(top, encoding="unicode") + "\n"


def _file(where: SourceLine, root: Path | None) -> str:
    uri, relative = where.uri(root)
    return uri if relative else where.path


def _suite_properties(result: Any) -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = [("engine", result.engine)]
    items += [(f"parameter.{k}", repr(v)) for k, v in result.parameters.items()]
    items.append(("exit_code", int(result.exit_code)))
    items.append(("stopped_by", result.stopped_by or "-"))
    statistics = getattr(result, "statistics", None)
    if statistics is not None:
        items += [
            ("complete", str(result.complete).lower()),
            ("states", statistics.states),
            ("transitions", statistics.transitions),
            ("depth_steps", statistics.depth),
        ]
    else:
        items += [("runs", result.runs), ("steps", result.steps)]
    return items
