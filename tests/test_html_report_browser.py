"""The HTML report in a real headless Chromium: step through a counterexample.

Needs Debian's ``chromium`` and the ``playwright`` Python package (its own
browser download is never used: the system Chromium is launched by path).
``.ci/run`` installs both; elsewhere the test is skipped with the reason.
A screenshot of the report at the culprit step is saved in
``tests/artifacts/`` for people to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import NEEDS_BROWSER, launch, sync_playwright
from typer.testing import CliRunner

from modelcheck.cli import app

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


pytestmark = [
    *NEEDS_BROWSER,
]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    report = tmp_path_factory.mktemp("report") / "report.html"
    specs = Path(__file__).resolve().parent.parent / "specs"
    result = CliRunner().invoke(
        app, ["check", str(specs / "dns_race.py"), "-q", "--coverage", "--html", str(report)]
    )
    assert result.exit_code == 1, result.output
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            tab = browser.new_page(viewport={"width": 1500, "height": 1100})
            tab.set_default_timeout(10_000)
            requests: list[str] = []
            tab.on("request", lambda r: requests.append(r.url))
            tab.goto(report.as_uri())
            yield tab, requests
        finally:
            browser.close()


def visible_step(tab, section: str) -> dict:
    return tab.evaluate(
        """(sel) => {
            const sec = document.querySelector(sel);
            const tables = [...sec.querySelectorAll('table.state')].filter(t => !t.hidden);
            const t = tables[0];
            return {
              visible: tables.length,
              step: Number(t.dataset.step),
              changed: [...t.querySelectorAll('tr.changed')].map(r => r.dataset.field),
              elements: [...t.querySelectorAll('.el.changed')].map(e =>
                  e.closest('tr').dataset.field + '[' + e.dataset.index + ']=' + e.textContent),
              current: [...sec.querySelectorAll('svg .msg.current')].map(
                  g => Number(g.dataset.step)),
              position: sec.querySelector('.position').textContent,
              prevDisabled: sec.querySelector('button.prev').disabled,
              nextDisabled: sec.querySelector('button.next').disabled,
            };
        }""",
        section,
    )


def test_stepping_through_the_counterexample_highlights_what_each_step_changed(page):
    tab, requests = page
    cx = "#cx-1"
    assert (
        tab.locator(f"{cx} h2")
        .inner_text()
        .startswith("Counterexample to active_plan_never_deleted")
    )
    start = visible_step(tab, cx)
    assert (start["visible"], start["step"], start["position"]) == (1, 0, "Step 0 of 10")
    assert start["prevDisabled"] and not start["nextDisabled"] and start["current"] == []

    tab.click(f"{cx} button.next")
    one = visible_step(tab, cx)
    assert one["step"] == 1 and one["changed"] == ["latest", "store"] and one["current"] == [1]

    for _ in range(6):
        tab.keyboard.press("ArrowRight")
    seven = visible_step(tab, cx)
    assert seven["step"] == 7 and seven["position"] == "Step 7 of 10"
    assert seven["changed"] == ["dns", "next"]
    assert seven["elements"] == ["dns[0]=2", "next[0]=1"]
    assert seven["current"] == [7]
    assert "apply(e=0) by Enactor 0" in tab.locator(f"{cx} .step-action").inner_text()

    ARTIFACTS.mkdir(exist_ok=True)
    tab.locator(cx).screenshot(path=str(ARTIFACTS / "html_report_step7.png"))
    assert (ARTIFACTS / "html_report_step7.png").stat().st_size > 10_000

    tab.keyboard.press("ArrowLeft")
    assert visible_step(tab, cx)["step"] == 6
    tab.keyboard.press("End")
    end = visible_step(tab, cx)
    assert (
        end["step"] == 10
        and end["nextDisabled"]
        and end["changed"] == ["store", "pc", "plan", "next"]
    )
    tab.click(f'{cx} svg .msg[data-step="2"] .hit')
    assert visible_step(tab, cx)["step"] == 2
    assert [u for u in requests if not u.startswith("file:")] == []


def test_the_violation_and_its_culprits_are_shown(page):
    tab, _ = page
    reason = tab.locator("#cx-1 .violation .reason").inner_text()
    assert reason.startswith("active_plan_never_deleted is false where")
    culprits = tab.evaluate("""() => [...document.querySelectorAll('#cx-1 svg .msg.culprit')]
                                      .map(g => Number(g.dataset.step))""")
    assert culprits == [7, 10]
    warnings = tab.locator(".warning").count()
    assert warnings == 0  # every dns-race action is enabled somewhere


def report_of(folder: Path, spec: str) -> Path:
    report = folder / "report.html"
    result = CliRunner().invoke(app, ["check", spec, "-q", "--html", str(report)])
    assert result.exit_code == 1, result.output
    return report


HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize(
    "spec",
    [str(HERE.parent / "specs" / "dns_race.py"), f"{HERE / 'diagram_toys.py'}:LongLabels"],
    ids=["dns_race", "long_labels"],
)
def test_every_message_label_is_inside_the_diagram_and_clear_of_the_others(page, spec, tmp_path):
    tab, _ = page
    tab.goto(report_of(tmp_path, spec).as_uri())
    # At a narrow window the diagram must scroll, not squeeze or clip its labels.
    tab.set_viewport_size({"width": 700, "height": 900})
    try:
        layout = tab.evaluate(
            """() => [...document.querySelectorAll('section.counterexample')].map(sec => {
                const svg = sec.querySelector('svg.sequence');
                const width = svg.viewBox.baseVal.width;
                const box = sec.querySelector('.diagram');
                const labels = [...svg.querySelectorAll('.msg text')].map(t => {
                    const b = t.getBBox();
                    return {x0: b.x, x1: b.x + b.width, y0: b.y, y1: b.y + b.height,
                            text: t.textContent};
                });
                return {width, labels, scrolls: box.scrollWidth > box.clientWidth,
                        overflow: getComputedStyle(box).overflowX,
                        rendered: svg.getBoundingClientRect().width};
            })"""
        )
    finally:
        tab.set_viewport_size({"width": 1500, "height": 1100})
    assert layout, "no counterexample section"
    for diagram in layout:
        # Drawn at its own size (scrolling if need be), so 11px labels stay readable.
        assert abs(diagram["rendered"] - diagram["width"]) < 1
        assert diagram["overflow"] == "auto"
        for label in diagram["labels"]:
            assert label["x0"] >= 0 and label["x1"] <= diagram["width"], label
        labels = diagram["labels"]
        for i, a in enumerate(labels):
            for b in labels[i + 1 :]:
                apart = a["x1"] <= b["x0"] or b["x1"] <= a["x0"]
                apart = apart or a["y1"] <= b["y0"] or b["y1"] <= a["y0"]
                assert apart, (a["text"], b["text"])
