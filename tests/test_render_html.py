"""The self-contained HTML report (the browser drives it in test_html_report_browser.py)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelcheck import check, compile_spec
from modelcheck.cli import app
from modelcheck.components import annotate_result
from modelcheck.render import html as html_module
from modelcheck.render.html import render_html, write_report

sys.path.insert(0, str(Path(__file__).parent))
from diagram_toys import TwoWriters
from dns_race import DnsRace


def report(spec, **options) -> str:
    model = compile_spec(spec)
    return render_html(annotate_result(check(spec, **options), model), model)


@pytest.fixture(scope="module")
def dns_report() -> str:
    return report(DnsRace(), coverage=True)


def test_the_report_fetches_nothing(dns_report):
    # The SVG namespace is a name, not a fetch; nothing else may point outside.
    outside = re.findall(
        r"(?:https?:)?//[\w.-]+", dns_report.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )
    assert outside == []
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", dns_report)
    assert "default-src 'none'" in dns_report


def test_the_report_has_parameters_statistics_and_verdicts(dns_report):
    assert "<th>check_at_apply</th><td>False</td>" in dns_report
    assert "<th>distinct states</th><td>1,614</td>" in dns_report
    row = re.search(r'<tr data-property="active_plan_never_deleted">.*?</tr>', dns_report).group()
    assert "VIOLATED" in row and "10 steps" in row and 'href="#cx-' in row


def test_each_counterexample_has_a_table_per_state_and_a_message_per_step(dns_report):
    section = dns_report[dns_report.index('id="cx-1"') :].split("</section>")[0]
    assert 'data-property="active_plan_never_deleted"' in section
    assert section.count('<table class="state"') == 11
    assert len(re.findall(r'<g class="msg[^"]*" data-step="\d+"', section)) == 10


def test_the_step_table_highlights_exactly_what_the_step_changed(dns_report):
    start = dns_report.index('id="cx-1"')
    step7 = re.search(r'<table class="state" data-step="7".*?</table>', dns_report[start:]).group()
    changed = re.findall(r'<tr data-field="(\w+)" class="changed', step7)
    assert changed == ["dns", "next"]
    assert '<span class="el changed" data-index="0">2</span>' in step7
    assert "(a culprit step)" in step7


def test_the_violation_shows_the_values_and_culprit_steps(dns_report):
    start = dns_report.index('id="cx-1"')
    section = dns_report[start:].split("</section>")[0]
    assert "active_plan_never_deleted is false where" in section
    assert re.search(r"<td>dns\[0\]</td><td>2</td><td>7</td><td>apply\(e=0\)</td>", section)
    assert len(re.findall(r'class="msg culprit" data-step="(7|10)"', section)) == 2


def test_coverage_is_in_the_report(dns_report):
    assert "<h2>Action coverage</h2>" in dns_report
    assert "<td>plan()</td>" in dns_report


def test_a_passing_check_has_no_step_through_section():
    text = report(DnsRace(check_at_apply=True))
    assert "every property holds" in text and '<section class="counterexample"' not in text


def test_check_html_writes_the_report(tmp_path, dns_race_path):
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["check", str(dns_race_path), "-q", "--html", str(out)])
    assert result.exit_code == 1, result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_no_partial_report_is_left_when_rendering_fails(tmp_path, monkeypatch):
    def broken(result, model=None):
        raise RuntimeError("renderer failed")

    out = tmp_path / "report.html"
    monkeypatch.setattr(html_module, "render_html", broken)
    spec = TwoWriters()
    with pytest.raises(RuntimeError):
        write_report(out, check(spec), compile_spec(spec))
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_html_path_is_a_clear_error_with_exit_2(tmp_path, dns_race_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(
        app, ["check", str(dns_race_path), "-q", "--html", str(blocker / "report.html")]
    )
    assert result.exit_code == 2
    assert "is not a folder" in result.stderr


def test_without_the_model_the_report_still_steps_through_but_names_no_culprit():
    spec = TwoWriters()
    model = compile_spec(spec)
    text = render_html(annotate_result(check(spec), model))
    assert '<table class="state" data-step="2"' in text
    assert 'class="blame"' not in text and "msg culprit" not in text
