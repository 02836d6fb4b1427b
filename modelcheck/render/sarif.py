"""SARIF 2.1.0 reports (``--sarif FILE``): violated properties as code-scanning alerts.

Code hosts (GitHub code scanning, GitLab, Azure DevOps) and editors read
SARIF, the OASIS format for the results of analysis tools.  The report has
one run with:

- one *rule* per property of the spec (its id is the property's name, its
  description the property's docstring, its ``kind`` a property);
- one *result* per violated property: level ``error``, the reason as its
  message, and as its location the file and line of the property's
  ``def``, so the host shows the alert on the property;
- the counterexample as a *code flow*: one thread-flow location per state of
  the trace, the initial state at ``initial_states`` and every step at the
  ``def`` of the action it took, each with the step's label and changes,
  and last the property's line with why it fails there;
- an *invocation* with the exit code; an incomplete search is
  ``executionSuccessful: false`` and every undecided property is a
  warning notification with the reason (never silence, never a pass).

Paths inside ``root`` (the current folder for the CLI, i.e. the checkout a
CI job runs in) are written relative to it with the base id ``SRCROOT``,
which is how code hosts match them to files in the repository.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modelcheck.render.sources import SourceLine, SpecSources
from modelcheck.render.text import fields_of, trace_rows
from modelcheck.result import Status
from modelcheck.state import format_value
from modelcheck.trace import Trace

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
ROOT_ID = "SRCROOT"


def _location(
    where: SourceLine | None, root: Path | None, message: str = "", logical: str = ""
) -> dict[str, Any]:
    location: dict[str, Any] = {}
    if where is not None:
        uri, relative = where.uri(root)
        artifact: dict[str, Any] = {"uri": uri}
        if relative:
            artifact["uriBaseId"] = ROOT_ID
        location["physicalLocation"] = {
            "artifactLocation": artifact,
            "region": {"startLine": where.line},
        }
    if logical:
        location["logicalLocations"] = [{"fullyQualifiedName": logical, "kind": "function"}]
    if message:
        location["message"] = {"text": message}
    return location


def _rule(prop: Any) -> dict[str, Any]:
    summary = prop.doc.strip().splitlines()[0] if prop.doc.strip() else ""
    rule: dict[str, Any] = {
        "id": prop.name,
        "shortDescription": {"text": summary or f"{prop.kind} {prop.name}"},
        "defaultConfiguration": {"level": "error"},
        "properties": {"kind": prop.kind, "tags": ["model-checking", prop.kind]},
    }
    if prop.doc.strip():
        rule["fullDescription"] = {"text": prop.doc.strip()}
    return rule


def _code_flow(trace: Trace, sources: SpecSources, root: Path | None) -> dict[str, Any]:
    spec = sources.spec
    rows = trace_rows(trace)
    states = trace.states
    locations = []
    for (number, label, items), state, step in zip(rows, states, (None, *trace.steps), strict=True):
        if step is None:
            where, logical = sources.initial, f"{spec}.initial_states"
            text = f"initial state: {', '.join(items)}"
        else:
            where, logical = sources.actions.get(step.action), f"{spec}.{step.action}"
            by = f" by {step.actor}" if step.actor else ""
            text = f"step {number}: {label}{by}: {', '.join(items)}"
        locations.append(
            {
                "location": _location(where, root, text, logical),
                "state": {k: {"text": format_value(v)} for k, v in fields_of(state).items()},
                "executionOrder": int(number),
            }
        )
    prop = sources.property(trace.violates or "")
    locations.append(
        {
            "location": _location(
                None if prop is None else prop.where,
                root,
                f"{trace.violates} fails here: {trace.reason or 'violated'}",
                f"{spec}.{trace.violates}",
            ),
            "executionOrder": len(rows),
            "importance": "essential",
        }
    )
    steps = len(trace)
    return {
        "message": {
            "text": f"shortest counterexample: {steps} step{'s' if steps != 1 else ''}",
        },
        "threadFlows": [{"locations": locations}],
    }


def result_to_sarif(
    result: Any, sources: SpecSources, root: Path | None = None, version: str = ""
) -> dict[str, Any]:
    """The SARIF log of a check, simulation, ``bmc`` or ``prove`` result, as a JSON-ready dict.

    ``result`` is a :class:`~modelcheck.result.CheckResult` or a
    :class:`~modelcheck.engines.simulate.SimulationResult`; ``sources`` comes
    from :func:`~modelcheck.render.sources.spec_sources`; ``version`` is the
    modelcheck version to name as the tool's.
    """
    rules = [_rule(p) for p in sources.properties]
    index = {p.name: i for i, p in enumerate(sources.properties)}
    results = []
    for verdict in result.violated:
        prop = sources.property(verdict.property)
        trace = verdict.counterexample
        steps = "" if trace is None else f"; shortest counterexample: {len(trace)} steps"
        entry: dict[str, Any] = {
            "ruleId": verdict.property,
            "level": "error",
            "kind": "fail",
            "message": {
                "text": f"{verdict.reason or f'{verdict.property} is violated'} "
                f"({verdict.kind}{steps})."
            },
            "locations": [
                _location(
                    None if prop is None else prop.where,
                    root,
                    logical=f"{result.spec}.{verdict.property}",
                )
            ],
        }
        if verdict.property in index:
            entry["ruleIndex"] = index[verdict.property]
        if trace is not None:
            entry["codeFlows"] = [_code_flow(trace, sources, root)]
        results.append(entry)

    notifications = []
    finished_simulation = result.engine == "simulate" and result.stopped_by is None
    for verdict in result.verdicts:
        if verdict.status is Status.UNKNOWN and not finished_simulation:
            notifications.append(
                {
                    "level": "warning",
                    "message": {
                        "text": f"{verdict.property} was not decided: "
                        f"{verdict.reason or f'the search was stopped by {result.stopped_by}'}"
                    },
                    "associatedRule": {"id": verdict.property},
                }
            )
    exit_code = int(result.exit_code)
    invocation: dict[str, Any] = {"executionSuccessful": exit_code in (0, 1), "exitCode": exit_code}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications

    driver: dict[str, Any] = {"name": "modelcheck", "rules": rules}
    if version:
        driver["version"] = version
        driver["semanticVersion"] = version
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "automationDetails": {"id": f"modelcheck/{result.engine}/{result.spec}/"},
        "invocations": [invocation],
        "results": results,
        "properties": {
            "engine": result.engine,
            "spec": result.spec,
            "parameters": {k: repr(v) for k, v in result.parameters.items()},
            "stoppedBy": result.stopped_by,
        },
    }
    if root is not None:
        run["originalUriBaseIds"] = {ROOT_ID: {"uri": root.resolve().as_uri() + "/"}}
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(
    result: Any, sources: SpecSources, root: Path | None = None, version: str = ""
) -> str:
    """:func:`result_to_sarif` as indented JSON text."""
    log = result_to_sarif(result, sources, root, version)
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
