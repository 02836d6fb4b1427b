"""A self-contained HTML report of a check (``check --html report.html``).

One file, no network: the styles, the script and the sequence diagrams
(inline SVG from :mod:`modelcheck.render.svg`) are all inside it, and a
Content-Security-Policy forbids the page to fetch anything.  It shows the
parameters, statistics and verdicts, action coverage when it was counted,
and for each counterexample a step-through view: previous/next buttons and
the arrow keys move through the steps, the state is a table with the fields
this step changed highlighted, the diagram highlights the step's message,
and the violated property is shown with the values that break it (and,
given the model, the culprit steps found by :mod:`modelcheck.blame`).
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from modelcheck.components import element_changes
from modelcheck.model import Model
from modelcheck.render.sequence import build_sequence
from modelcheck.render.svg import sequence_svg
from modelcheck.render.text import fields_of, lasso_shape, loop_close_text
from modelcheck.result import CheckResult, Status, Verdict
from modelcheck.state import format_value
from modelcheck.trace import Trace, write_text_atomic
from modelcheck.wording import n_steps

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em 2em; color: #1d2330; }
h1 { font-size: 1.5em; margin: 0 0 .2em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
code, td, th, .mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
table { border-collapse: collapse; margin: .4em 0; }
th, td { border: 1px solid #d5d9e2; padding: 3px 8px; text-align: left; vertical-align: top; }
thead th { background: #eef1f6; }
.verdict-violated { color: #b00020; font-weight: bold; }
.verdict-holds { color: #1b7f3b; } .verdict-unknown { color: #8a6d00; }
.banner { padding: .5em .8em; border-radius: 4px; margin: .6em 0; }
.banner.bad { background: #fde8e8; border: 1px solid #f3b4b4; }
.banner.good { background: #e6f4ea; border: 1px solid #a8d5b5; }
section.counterexample { border-top: 2px solid #d5d9e2; margin-top: 2em; }
.loop-mark, .lasso { color: #3a63c7; }
section.counterexample:focus { outline: none; }
section.counterexample.active { border-top-color: #3a63c7; }
.controls { display: flex; gap: .8em; align-items: center; margin: .8em 0; }
.controls button { font: inherit; padding: .25em .9em; cursor: pointer; }
.position { font-weight: bold; } .step-action { font-family: ui-monospace, monospace; }
.panes { display: flex; gap: 1.5em; align-items: flex-start; flex-wrap: wrap; }
.diagram { max-width: 100%; overflow-x: auto; }
table.state tr.changed th, table.state tr.changed td { background: #fff1b8; }
table.state td .el { padding: 0 2px; border-radius: 2px; }
table.state td .el.changed { background: #ffc53d; font-weight: bold; }
table.state tr.read th { box-shadow: inset 4px 0 #b00020; }
table.state td.was { color: #6b7280; }
caption { text-align: left; font-weight: bold; padding-bottom: .3em; }
.culprit-mark { color: #b00020; font-weight: bold; }
table.coverage tr.never td { background: #fde8e8; }
.warning { color: #b00020; font-weight: bold; }
svg.sequence text { font: 11px ui-monospace, Menlo, Consolas, monospace; fill: #1d2330; }
svg.sequence .participant rect { fill: #eef1f6; stroke: #6b7280; }
svg.sequence .participant.actor rect { fill: #dbe6ff; stroke: #3a63c7; }
svg.sequence .lifeline { stroke: #9aa3b2; stroke-dasharray: 4 4; }
svg.sequence .msg line, svg.sequence .msg path { stroke: #1d2330; stroke-width: 1.3; fill: none; }
svg.sequence .msg .hit { fill: transparent; cursor: pointer; }
svg.sequence .msg.culprit text { fill: #b00020; font-weight: bold; }
svg.sequence .msg.current .hit { fill: #fff1b8; }
svg.sequence .msg.current line,
svg.sequence .msg.current path { stroke: #b8860b; stroke-width: 2.5; }
svg.sequence .msg.current text { font-weight: bold; }
svg.sequence .note rect { fill: #fde8e8; stroke: #b00020; }
"""

_SCRIPT = """
(function () {
  var sections = Array.prototype.slice.call(document.querySelectorAll('section.counterexample'));
  var active = sections[0] || null;
  function activate(sec) {
    sections.forEach(function (s) { s.classList.toggle('active', s === sec); });
    active = sec;
  }
  function show(sec, step) {
    var last = Number(sec.dataset.steps);
    step = Math.max(0, Math.min(last, step));
    sec.dataset.current = String(step);
    sec.querySelectorAll('table.state').forEach(function (t) {
      t.hidden = Number(t.dataset.step) !== step;
    });
    sec.querySelectorAll('svg .msg').forEach(function (g) {
      g.classList.toggle('current', Number(g.dataset.step) === step);
    });
    var table = sec.querySelector('table.state[data-step="' + step + '"]');
    sec.querySelector('.position').textContent = 'Step ' + step + ' of ' + last;
    sec.querySelector('.step-action').textContent = table ? table.dataset.action : '';
    sec.querySelector('button.prev').disabled = step === 0;
    sec.querySelector('button.next').disabled = step === last;
  }
  sections.forEach(function (sec) {
    sec.querySelector('button.prev').addEventListener('click', function () {
      activate(sec); show(sec, Number(sec.dataset.current) - 1);
    });
    sec.querySelector('button.next').addEventListener('click', function () {
      activate(sec); show(sec, Number(sec.dataset.current) + 1);
    });
    sec.querySelectorAll('svg .msg').forEach(function (g) {
      g.addEventListener('click', function () {
        activate(sec); show(sec, Number(g.dataset.step));
      });
    });
    sec.addEventListener('click', function () { activate(sec); });
    show(sec, 0);
  });
  if (active) { activate(active); }
  document.addEventListener('keydown', function (e) {
    if (!active || e.altKey || e.ctrlKey || e.metaKey) { return; }
    var step = Number(active.dataset.current);
    var moves = { ArrowRight: step + 1, ArrowLeft: step - 1, Home: 0,
                  End: Number(active.dataset.steps) };
    if (e.key in moves) { e.preventDefault(); show(active, moves[e.key]); }
  });
})();
"""


def _params(parameters: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in parameters.items())


def _value_cell(value: Any, changed_positions: set[int] | None) -> str:
    if isinstance(value, tuple) and changed_positions is not None:
        items = [
            f'<span class="el{" changed" if i in changed_positions else ""}" data-index="{i}">'
            f"{escape(format_value(v))}</span>"
            for i, v in enumerate(value)
        ]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    return escape(format_value(value))


def _state_table(
    n: int,
    trace: Trace,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    reads: set[str],
    culprits: frozenset[int],
) -> str:
    step = trace.steps[n - 1] if n else None
    changed: dict[str, set[int] | None] = {}
    if before is not None:
        for field, index, _, _ in element_changes(before, after):
            spot = changed.setdefault(field, set())
            if index is None:
                changed[field] = None
            elif spot is not None:
                spot.add(index)
    if step is None:
        caption = "Step 0: the initial state"
        action = "(initial state)"
    else:
        by = f" by {step.actor}" if step.actor else ""
        action = f"{step.label}{by}"
        caption = f"Step {n}: {escape(action)}"
        if n in culprits:
            caption += ' <span class="culprit-mark">(a culprit step)</span>'
    if trace.loop_start is not None and n == trace.loop_start:
        caption += ' <span class="loop-mark">(the loop starts here)</span>'
    if trace.loop_start is not None and n == len(trace):
        caption += f' <span class="loop-mark">({escape(loop_close_text(trace).strip("- "))})</span>'
    final = n == len(trace)
    rows = []
    for field, value in after.items():
        classes = []
        if field in changed:
            classes.append("changed")
        if final and field in reads:
            classes.append("read")
        positions = changed.get(field, set()) if field in changed else set()
        cell = _value_cell(value, positions if isinstance(value, tuple) else None)
        was = ""
        if field in changed and before is not None:
            was = escape(format_value(before.get(field)))
        klass = f' class="{" ".join(classes)}"' if classes else ""
        rows.append(
            f'<tr data-field="{escape(field)}"{klass}><th>{escape(field)}</th>'
            f'<td class="value">{cell}</td><td class="was">{was}</td></tr>'
        )
    return (
        f'<table class="state" data-step="{n}" data-action="{escape(action)}"'
        f"{' hidden' if n else ''}><caption>{caption}</caption>"
        "<thead><tr><th>field</th><th>value</th><th>before this step</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _blame_html(model: Model | None, trace: Trace) -> tuple[str, set[str], frozenset[int]]:
    """The culprit table, the fields read, and the culprit steps (empty without a model)."""
    if model is None:
        return "", set(), frozenset()
    from modelcheck.blame import blame

    try:
        b = blame(model, trace)
    except Exception:  # the report must not fail because an explanation does
        return "", set(), frozenset()
    rows = []
    for c in b.causes:
        verdict = (
            "-"
            if c.culprit is None
            else (
                f'<span class="culprit-mark">yes</span>: with {escape(c.previous or "")} it would '
                "hold"
                if c.culprit
                else "no"
            )
        )
        rows.append(
            f"<tr><td>{escape(c.field)}</td><td>{escape(c.value)}</td><td>{c.step}</td>"
            f"<td>{escape(c.action)}</td><td>{escape(c.actor or '-')}</td>"
            f"<td>{verdict}</td></tr>"
        )
    table = (
        f"<p>{escape(b.property)} reads <code>{escape(', '.join(b.reads))}</code>; the values "
        'it saw and the step that wrote each:</p><table class="blame"><thead><tr><th>field</th>'
        "<th>value</th><th>step</th><th>action</th><th>by</th><th>culprit</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    return table, set(b.reads), frozenset(c.step for c in b.culprits)


def _lasso_html(trace: Trace) -> str:
    """For a lasso: which steps repeat forever, and how the loop meets each fairness condition."""
    if trace.loop_start is None:
        return ""
    start = trace.loop_start
    if start == len(trace):
        what = f"The run stutters forever after step {start}: no action is enabled there."
    else:
        what = (
            f"Lasso: steps {start + 1} to {len(trace)} repeat forever "
            f"(step {len(trace)} returns to the state of step {start})."
        )
    fair = "".join(f"<li>{escape(f)}</li>" for f in trace.fairness)
    listed = f"<p>The loop is fair:</p><ul>{fair}</ul>" if fair else ""
    return f'<div class="lasso"><p>{escape(what)}</p>{listed}</div>'


def _counterexample(k: int, verdict: Verdict, model: Model | None) -> str:
    # A @reachable property's witness is shown the same way, as a run to a good state.
    trace = verdict.counterexample or verdict.witness
    assert trace is not None
    witness = verdict.counterexample is None
    heading = "Witness for" if witness else "Counterexample to"
    banner = (
        '<div class="banner good witness"><b>Satisfied:</b>'
        if witness
        else '<div class="banner bad violation"><b>Violated:</b>'
    )
    blame_table, reads, culprits = _blame_html(model, trace)
    states = [fields_of(s) for s in trace.states]
    tables = [
        _state_table(n, trace, states[n - 1] if n else None, states[n], reads, culprits)
        for n in range(len(states))
    ]
    svg = sequence_svg(build_sequence(trace), f"cx{k}", culprits)
    return f"""
<section class="counterexample" id="cx-{k}" data-steps="{len(trace)}" data-current="0"
  data-property="{escape(verdict.property)}" tabindex="-1">
<h2>{heading} {escape(verdict.property)} ({escape(verdict.kind)}):
  {len(trace)} step{"s" if len(trace) != 1 else ""}</h2>
{banner}
  <span class="reason">{escape(verdict.reason or verdict.property)}</span></div>
{_lasso_html(trace)}
{blame_table}
<div class="controls">
  <button class="prev" type="button" title="previous step (←)">◀ Previous</button>
  <span class="position">Step 0 of {len(trace)}</span>
  <button class="next" type="button" title="next step (→)">Next ▶</button>
  <span class="step-action"></span>
</div>
<div class="panes">
<div class="states">{"".join(tables)}</div>
<div class="diagram">{svg}</div>
</div>
</section>"""


def _coverage(result: CheckResult) -> str:
    if not result.coverage:
        return ""
    never = ' class="never"'
    rows = "".join(
        f"<tr{never if c.enabled == 0 else ''}><td>{escape(c.label)}</td>"
        f"<td>{c.enabled:,}</td><td>{c.fired:,}</td></tr>"
        + (
            f'<tr class="values"><td colspan="3">took: {escape("; ".join(c.value_labels))}'
            "</td></tr>"
            if c.values
            else ""
        )
        for c in result.coverage
    )
    warnings = "".join(
        f'<p class="warning">WARNING: {escape(c.label)} was never enabled; its guard may be '
        "impossible (a bug in the spec?)</p>"
        for c in result.coverage
        if c.enabled == 0 and not c.operator
    )
    return (
        '<section id="coverage"><h2>Action coverage</h2><p>enabled: states the action was '
        'enabled in; fired: steps it took.</p><table class="coverage"><thead><tr><th>action'
        f"</th><th>enabled</th><th>fired</th></tr></thead><tbody>{rows}</tbody></table>"
        f"{warnings}</section>"
    )


def render_html(result: CheckResult, model: Model | None = None) -> str:
    """The whole report as one HTML document (``model`` adds culprit steps)."""
    st = result.statistics
    violated = result.violated
    if violated:
        banner = (
            f'<div class="banner bad">{len(violated)} of {len(result.verdicts)} '
            "properties violated</div>"
        )
    elif result.ok:
        banner = '<div class="banner good">every property holds</div>'
    else:
        banner = (
            f'<div class="banner bad">incomplete: stopped by {escape(str(result.stopped_by))}'
            "; nothing was proved</div>"
        )
    params = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(repr(v))}</td></tr>"
        for k, v in result.parameters.items()
    )
    stats = [
        (
            "distinct states",
            f"{st.states:,}" + (" (orbits: reduced by symmetry)" if result.reduced else ""),
        ),
        *(
            [("symmetry", f"one state per orbit of renaming {result.symmetry}")]
            if result.reduced
            else []
        ),
        *([("outside the constraint", f"{st.constrained:,}")] if st.constrained else []),
        *(
            [
                (
                    "store",
                    "fingerprints: not an exact search; probability that a collision hid a "
                    f"state about {st.collision_probability or 0.0:.1e} (n^2/2^65)",
                )
            ]
            if not result.exact
            else []
        ),
        ("transitions", f"{st.transitions:,}"),
        ("depth", str(st.depth)),
        ("seconds", f"{st.seconds:.3f}"),
        ("complete", "yes" if result.complete else f"no (stopped by {result.stopped_by})"),
        ("engine", result.engine + (f" ({result.engine_note})" if result.engine_note else "")),
        *([("compile seconds", f"{st.compile_seconds:.3f}")] if st.compile_seconds else []),
        *([("workers", str(st.workers))] if st.workers > 1 else []),
        *([("shards", str(st.shards))] if st.shards else []),
    ]
    stats_rows = "".join(f"<tr><th>{k}</th><td>{escape(v)}</td></tr>" for k, v in stats)
    stats_rows += "".join(
        f'<tr class="warning"><th>warning</th><td>{escape(w)}</td></tr>' for w in result.warnings
    )
    traced = [v for v in result.verdicts if (v.counterexample or v.witness) is not None]
    anchors = {v.property: f"cx-{k}" for k, v in enumerate(traced, start=1)}
    verdict_rows = []
    for v in result.verdicts:
        name = escape(v.property)
        if v.property in anchors and v.counterexample is not None:
            name = f'<a href="#{anchors[v.property]}">{name}</a>'
            extra = (
                lasso_shape(v.counterexample)
                if v.counterexample.loop_start is not None
                else f"shortest counterexample: {n_steps(len(v.counterexample))}"
            )
        elif v.property in anchors and v.witness is not None:
            name = f'<a href="#{anchors[v.property]}">{name}</a>'
            extra = f"shortest witness: {n_steps(len(v.witness))}"
        else:
            extra = ""
        status = {Status.HOLDS: "holds", Status.VIOLATED: "VIOLATED", Status.UNKNOWN: "unknown"}[
            v.status
        ]
        verdict_rows.append(
            f'<tr data-property="{escape(v.property)}"><td>{name}</td><td>{escape(v.kind)}</td>'
            f'<td class="verdict-{v.status.value}">{status}</td><td>{escape(extra)}</td></tr>'
        )
    sections = "".join(_counterexample(k, v, model) for k, v in enumerate(traced, start=1))
    title = f"{result.spec}({_params(result.parameters)})"
    keys = (
        (
            "Step through a counterexample with its buttons or the ← → keys (Home, End); "
            "click a message in the diagram to jump to its step."
        )
        if traced
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
  content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>modelcheck: {escape(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>modelcheck report: {escape(result.spec)}</h1>
<p class="mono">{escape(title)}</p>
{banner}
<h2>Parameters</h2>
<table class="parameters"><tbody>{params}</tbody></table>
<h2>Statistics</h2>
<table class="statistics"><tbody>{stats_rows}</tbody></table>
<h2>Verdicts</h2>
<table class="verdicts"><thead><tr><th>property</th><th>kind</th><th>verdict</th><th></th></tr>
</thead><tbody>{"".join(verdict_rows)}</tbody></table>
{_coverage(result)}
<p>{keys}</p>
{sections}
<script>{_SCRIPT}</script>
</body>
</html>
"""


def write_report(path: str | Path, result: CheckResult, model: Model | None = None) -> None:
    """Write :func:`render_html` to ``path`` atomically (no partial file on any error)."""
    write_text_atomic(path, render_html(result, model))
