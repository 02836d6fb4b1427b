"""``--format mermaid`` drawn by the real Mermaid library in headless Chromium.

``test_render_mermaid.py`` reads the diagram with a strict parser of our own;
this test checks the same text against the renderer people actually use.
The library comes from the npm registry, pinned by ``tests/mermaid/package.json``
and its lock file; ``.ci/run`` installs it with ``npm ci`` into the git-ignored
``tests/mermaid/node_modules``. The test never downloads anything itself: it
is skipped, with the reason, where Chromium, Playwright or that install is
missing. The page loads the bundle from disk and every other request is
refused, so the diagram is drawn fully offline. A screenshot is saved in
``tests/artifacts/`` for people to look at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from browser import NEEDS_BROWSER, launch, sync_playwright

try:
    from playwright.sync_api import Page
except ImportError:  # pragma: no cover - depends on the machine
    Page = None
from typer.testing import CliRunner

from modelcheck.cli import app
from modelcheck.render.mermaid import trace_to_mermaid
from modelcheck.trace import Step, Trace

HERE = Path(__file__).resolve().parent
BUNDLE = HERE / "mermaid" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
ARTIFACTS = HERE / "artifacts"


pytestmark = [
    *NEEDS_BROWSER,
    pytest.mark.skipif(
        not BUNDLE.is_file(),
        reason="the mermaid npm package is not installed "
        "(needs node/npm: cd tests/mermaid && npm ci)",
    ),
]


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>modelcheck mermaid</title>
<script src="{bundle}"></script></head>
<body style="margin:0;background:#fff"><div id="diagram" style="display:inline-block"></div>
</body></html>
"""

# Parse first (it throws on a syntax error rather than drawing an error picture),
# then render and read the picture back: which lifeline is where (left to
# right), and which lifelines each arrow and the note touch, by their x.
RENDER = """async (text) => {
    mermaid.initialize({startOnLoad: false, securityLevel: 'strict',
                        sequence: {useMaxWidth: false}});
    try {
        await mermaid.parse(text);
        const {svg} = await mermaid.render('dns-race', text);
        document.getElementById('diagram').innerHTML = svg;
    } catch (e) {
        return {error: String(e && e.message || e)};
    }
    const root = document.querySelector('#diagram svg');
    // SVG user units throughout (getBBox), so the page's own layout cannot matter.
    const mid = (el) => { const b = el.getBBox(); return b.x + b.width / 2; };
    const heads = [...root.querySelectorAll('line.actor-line')].map(l => l.getBBox().y);
    const top = [...root.querySelectorAll('text.actor')]
        .filter(t => t.getBBox().y < Math.max(...heads));
    const lifelines = [...root.querySelectorAll('line.actor-line')].map(line => {
        const x = mid(line);
        const name = top.find(t => Math.abs(mid(t) - x) < 2);
        return {x, name: name ? name.textContent.trim() : null};
    }).sort((a, b) => a.x - b.x);
    const at = (x) => lifelines.reduce((a, b) => Math.abs(a.x - x) <= Math.abs(b.x - x) ? a : b);
    const arrows = [...root.querySelectorAll('.messageLine0, .messageLine1')].map(el => {
        if (el.tagName === 'line') {  // between two lifelines, drawn from x1 to x2
            return [at(el.x1.baseVal.value).name, at(el.x2.baseVal.value).name];
        }
        const self = at(el.getBBox().x).name;  // a self-message is a loop from its lifeline
        return [self, self];
    });
    const note = root.querySelector('rect.note');
    const span = note ? note.getBBox() : null;
    const covered = span ? lifelines.filter(l => l.x >= span.x && l.x <= span.x + span.width)
                                    .map(l => l.name) : [];
    return {
        error: null,
        svg: true,
        width: root.getBBox().width,
        failed: !!root.querySelector('.error-icon, .error-text'),
        lifelines: lifelines.map(l => l.name),
        messages: [...root.querySelectorAll('text.messageText')].map(t => t.textContent.trim()),
        arrows,
        notes: [...root.querySelectorAll('text.noteText')].map(t => t.textContent.trim()),
        covered,
    };
}"""


@pytest.fixture(scope="module")
def diagram() -> str:
    result = CliRunner().invoke(
        app,
        [
            "check",
            str(HERE.parent / "specs" / "dns_race.py"),
            "-q",
            "--format",
            "mermaid",
            "--property",
            "active_plan_never_deleted",
        ],
    )
    assert result.exit_code == 1, result.output
    return result.stdout


@dataclass
class Canvas:
    """A Chromium tab with the Mermaid bundle loaded from disk and the network refused."""

    tab: Page
    refused: list[str] = field(default_factory=list)  # URLs the page tried to fetch
    errors: list[str] = field(default_factory=list)  # uncaught JavaScript errors

    def draw(self, text: str) -> dict:
        return self.tab.evaluate(RENDER, text)


@pytest.fixture(scope="module")
def canvas(tmp_path_factory):
    page = tmp_path_factory.mktemp("mermaid") / "diagram.html"
    page.write_text(PAGE.format(bundle=BUNDLE.as_uri()), encoding="utf-8")
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            canvas = Canvas(browser.new_page(viewport={"width": 1800, "height": 1000}))
            canvas.tab.set_default_timeout(15_000)

            def only_local(route):
                if route.request.url.startswith("file:"):
                    route.continue_()
                else:
                    canvas.refused.append(route.request.url)
                    route.abort()

            canvas.tab.route("**/*", only_local)
            canvas.tab.on("pageerror", lambda e: canvas.errors.append(str(e)))
            canvas.tab.goto(page.as_uri())
            canvas.tab.wait_for_function("typeof mermaid !== 'undefined'")
            yield canvas
        finally:
            browser.close()


@pytest.fixture(scope="module")
def drawn(canvas, diagram):
    svg = canvas.draw(diagram)
    if svg["svg"]:
        ARTIFACTS.mkdir(exist_ok=True)
        screenshot = str(ARTIFACTS / "mermaid_dns_race.png")
        canvas.tab.locator("#diagram svg").screenshot(path=screenshot)
    return svg, canvas.refused, canvas.errors


def test_mermaid_parses_and_draws_the_dns_race_counterexample(drawn):
    svg, refused, errors = drawn
    assert svg["error"] is None, f"Mermaid rejected our diagram: {svg['error']}"
    assert svg["svg"] and not svg["failed"] and svg["width"] > 300, json.dumps(svg)
    assert errors == []
    assert refused == [], "drawing the diagram tried to reach the network"


def test_every_actor_and_component_has_a_lifeline_in_order(drawn):
    svg, _, _ = drawn
    assert svg["lifelines"] == [
        "Planner",
        "Enactor 0",
        "Enactor 1",
        "Plan store",
        "DNS 0",
        "DNS 1",
        "Active plan",
    ]


def test_each_step_is_one_arrow_between_the_right_lifelines(drawn):
    svg, _, _ = drawn
    assert len(svg["messages"]) == 10
    assert svg["messages"][0] == "1 plan(): store={1, 2}, latest=2"
    assert svg["messages"][6] == "7 apply(e=0): dns[0]=2, next[0]=1"  # the stale write
    assert svg["messages"][9].startswith("10 cleanup(e=1): store={3, 4}")
    assert svg["arrows"] == [
        ["Planner", "Plan store"],
        ["Enactor 0", "Enactor 0"],
        ["Planner", "Plan store"],
        ["Planner", "Plan store"],
        ["Enactor 1", "Enactor 1"],
        ["Enactor 1", "DNS 0"],
        ["Enactor 0", "DNS 0"],
        ["Enactor 1", "DNS 1"],
        ["Enactor 1", "Active plan"],
        ["Enactor 1", "Plan store"],
    ]


def test_the_violation_is_a_note_across_the_culprit_and_the_store(drawn):
    svg, _, _ = drawn
    assert svg["notes"] == [
        "active_plan_never_deleted is false where store={3, 4}, applied=4, dns=(2, 4)"
    ]
    assert svg["covered"][0] == "Enactor 1" and svg["covered"][-1] == "Plan store"
    assert (ARTIFACTS / "mermaid_dns_race.png").stat().st_size > 10_000


def test_values_with_mermaid_syntax_in_them_are_drawn_as_written(canvas):
    tricky = "b;c#d e<br>f %% g-->>h: end"
    trace = Trace(
        {"x": "a"},
        (Step("set", (), {"x": tricky}, actor="Me; <i>you</i>"),),
        violates="p",
        kind="invariant",
        reason=f"x is {tricky}",
    )
    svg = canvas.draw(trace_to_mermaid(trace))
    assert svg["error"] is None, f"Mermaid rejected our diagram: {svg['error']}"
    assert svg["lifelines"] == ["Me; <i>you</i>", "x"]
    assert svg["messages"] == [f"1 set(): x={tricky}"]
    assert svg["notes"] == [f"p violated: x is {tricky}"]


def test_a_directive_inside_a_value_is_drawn_not_obeyed(canvas):
    directive = "%%{init: {'theme': 'dark', 'sequence': {'mirrorActors': true}}}%%"
    trace = Trace(
        {"x": "a"},
        (Step("set", (), {"x": directive}, actor="Me"),),
        violates="p",
        kind="invariant",
        reason="x is odd",
    )
    svg = canvas.draw(trace_to_mermaid(trace))
    assert svg["error"] is None, f"Mermaid rejected our diagram: {svg['error']}"
    assert svg["messages"] == [f"1 set(): x={directive}"]
    # Obeyed, mirrorActors would draw every lifeline's box twice (top and bottom).
    assert svg["lifelines"] == ["Me", "x"]


def test_several_counterexamples_are_one_document_mermaid_draws(canvas):
    result = CliRunner().invoke(
        app, ["check", str(HERE.parent / "specs" / "dns_race.py"), "-q", "--format", "mermaid"]
    )
    assert result.exit_code == 1
    svg = canvas.draw(result.stdout)
    assert svg["error"] is None, f"Mermaid rejected our diagram: {svg['error']}"
    headings = [n for n in svg["notes"] if n.startswith("counterexample to ")]
    assert [h.split(" (")[0] for h in headings] == [
        "counterexample to active_plan_never_deleted",
        "counterexample to applied_generation_monotonic",
        "counterexample to always_recoverable",
        "counterexample to no_unexpected_deadlock",
    ]
    steps = [int(h.rsplit(", ", 1)[1].split()[0]) for h in headings]
    assert len(svg["messages"]) == sum(steps)
