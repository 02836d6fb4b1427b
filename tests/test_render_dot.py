"""The explored state graph as Graphviz DOT."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelcheck import check, compile_spec
from modelcheck.cli import app
from modelcheck.engines.explore_graph import GraphTooLarge, explore_graph
from modelcheck.render.dot import render_dot

sys.path.insert(0, str(Path(__file__).parent))
from diagram_toys import TwoWriters


def test_the_explored_graph_has_the_hand_counted_states_edges_and_terminals():
    graph = explore_graph(compile_spec(TwoWriters()))
    assert len(graph.states) == 10
    assert len(graph.edges) == 12
    assert len(graph.terminal) == 2
    assert graph.initial == (0,)


def test_exploring_past_the_limit_refuses_with_advice():
    with pytest.raises(GraphTooLarge, match=r"more than 5 reachable states.*-p"):
        explore_graph(compile_spec(TwoWriters()), max_states=5)


def dot_of(spec) -> str:
    return render_dot(compile_spec(spec), check(spec))


def test_nodes_are_marked_initial_terminal_and_violating():
    dot = dot_of(TwoWriters())
    nodes = re.findall(r"^  s(\d+) \[(.*)\];$", dot, re.M)
    assert len(nodes) == 10
    assert sum("peripheries=2" in a for _, a in nodes) == 2
    assert sum("fillcolor" in a for _, a in nodes) == 3  # worker 1 wrote last
    assert "penwidth=3" in dict(nodes)["0"]
    assert 'label="cell=0\\lpc=(idle, idle)\\l"' in dict(nodes)["0"]


def test_the_counterexample_path_is_highlighted():
    dot = dot_of(TwoWriters())
    edges = re.findall(r"^  s\d+ -> s\d+ \[(.*)\];$", dot, re.M)
    assert len(edges) == 12
    red = [e for e in edges if 'color="red"' in e]
    assert [re.search(r'label="([^"]+)"', e).group(1) for e in red] == ["grab(w=1)", "write(w=1)"]
    assert "red path: shortest counterexample to cell_not_two" in dot


def test_dot_syntax_is_balanced_and_quoted():
    dot = dot_of(TwoWriters())
    assert dot.startswith('digraph "TwoWriters" {') and dot.rstrip().endswith("}")
    assert dot.count("{") - dot.count("\\{") >= 1
    for line in dot.splitlines()[1:-1]:
        assert line.endswith(";"), line
        assert line.count('"') % 2 == 0 or '\\"' in line, line


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz (dot) is not installed")
def test_graphviz_accepts_the_output(tmp_path):
    out = subprocess.run(
        ["dot", "-Tsvg"],
        input=dot_of(TwoWriters()),
        text=True,
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr


def test_check_format_dot_prints_the_graph(dns_race_path):
    result = CliRunner().invoke(
        app,
        [
            "check",
            str(dns_race_path),
            "-q",
            "--format",
            "dot",
            "-p",
            "generations=2",
            "-p",
            "enactors=1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith('digraph "DnsRace" {')


def test_check_format_dot_refuses_a_large_model_with_exit_2(dns_race_path):
    result = CliRunner().invoke(
        app, ["check", str(dns_race_path), "-q", "--format", "dot", "-p", "generations=6"]
    )
    assert result.exit_code == 2
    assert "--format dot draws at most 2000" in result.stderr
    assert result.stdout == ""
