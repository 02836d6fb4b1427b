"""Every output the README shows is what the tool prints now.

``test_readme.py`` runs the python blocks and checks the first screen's
output; this file covers the rest: command output, the Python blocks'
printed output, the Hypothesis and model-based-testing reports, the trace
format sample, the command synopsis and the spec excerpt.  Figures that
depend on the machine (seconds, states/s, MiB) are compared as placeholders.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import re
import shlex
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from modelcheck.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
BLOCKS = [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(README)]

#: Figures that change from run to run or machine to machine.
MEASURED = [
    (re.compile(r"\d[\d,]*\.\d+ s\b"), "<T> s"),
    (re.compile(r"seconds=\d+\.\d+"), "seconds=<T>"),
    (re.compile(r"[\d,]+ states/s"), "<N> states/s"),
    (re.compile(r"peak memory [\d,]+ MiB"), "peak memory <M> MiB"),
]


def normal(text: str) -> str:
    for pattern, placeholder in MEASURED:
        text = pattern.sub(placeholder, text)
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def block_after(marker: str, kinds: tuple[str, ...] = ("text", "")) -> str:
    """The first block of one of ``kinds`` after the block that contains ``marker``."""
    for i, (_, body, _, _) in enumerate(BLOCKS):
        if marker in body:
            for kind, later, _, _ in BLOCKS[i + 1 :]:
                if kind in kinds:
                    return later
    raise AssertionError(f"no block containing {marker!r} followed by an output block")


def block_starting(first_line: str) -> str:
    for _, body, _, _ in BLOCKS:
        if body.startswith(first_line):
            return body
    raise AssertionError(f"no README block starts with {first_line!r}")


def cli(command: str, cwd: Path) -> str:
    args = shlex.split(command.split("#", 1)[0])
    assert args[0] == "modelcheck"
    args = [str(ROOT / a) if a.startswith("specs/") else a for a in args[1:]]
    with contextlib.chdir(cwd):
        result = CliRunner().invoke(app, args)
    assert "Traceback" not in result.output
    return result.stdout


def test_the_simulate_output_is_what_simulate_prints(tmp_path):
    command = "modelcheck simulate specs/dns_race.py -p enactors=6 -p generations=50"
    shown = block_after(command)
    full = next(b for _, b, _, _ in BLOCKS if b.startswith(command))
    assert normal(cli(full.strip(), tmp_path)) == normal(shown)


def test_the_coverage_table_is_what_check_prints(tmp_path):
    command = "modelcheck check specs/dns_race.py -q --coverage -p generations=2 -p enactors=1"
    shown = block_after(command)
    assert normal(shown) in normal(cli(command, tmp_path))


def test_the_fingerprint_store_output_is_what_check_prints(tmp_path):
    marker = "modelcheck check specs/dns_race.py -p enactors=3 --store fingerprints"
    command = block_starting(marker).replace("\\\n", " ")
    assert normal(cli(command.strip(), tmp_path)) == normal(block_after(marker))


def test_the_explain_output_is_what_explain_prints(tmp_path):
    commands = block_starting("modelcheck check specs/dns_race.py -q --trace-dir traces")
    outputs = [cli(line, tmp_path) for line in commands.strip().splitlines()]
    shown = block_after("modelcheck explain specs/dns_race.py traces/")
    assert normal(outputs[-1]) == normal(shown)


def test_each_python_blocks_printed_output_is_the_text_block_right_after_it(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT / "specs"))
    pairs = 0
    for (kind, body, _, end), (next_kind, shown, start, _) in itertools.pairwise(BLOCKS):
        if kind != "python" or next_kind != "text" or README[end:start].strip("`\n "):
            continue  # only a text block right after the code is its output
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(body, "README block", "exec"), {"__name__": "readme_output"})
        assert normal(out.getvalue()) == normal(shown)
        pairs += 1
    assert pairs >= 1


def test_the_hypothesis_report_is_what_the_bridge_raises(monkeypatch, tmp_path):
    from dns_race import DnsRace
    from hypothesis import settings

    from modelcheck import PropertyViolation
    from modelcheck.integrations import hypothesis as bridge

    shown = block_starting("DnsRace(enactors=2, endpoints=2, generations=4, keep=1, check_at_apply")
    if "Hypothesis found and shrank" not in shown:
        shown = next(b for _, b, _, _ in BLOCKS if "Hypothesis found and shrank" in b)
    monkeypatch.setenv("MODELCHECK_TRACE_DIR", "/tmp/modelcheck-traces")
    monkeypatch.setattr(bridge, "save_trace", lambda trace, path: None)  # write nothing
    with pytest.raises(PropertyViolation) as caught:
        bridge.run(
            DnsRace(),
            properties=["applied_generation_monotonic"],
            settings=settings(max_examples=200, stateful_step_count=15, database=None),
        )
    # Which run Hypothesis shrinks to is its own business; the proven shortest trace is ours.
    # Hypothesis sometimes shrinks to a longer run than the shortest; the report then
    # names that run's file too, a line the README's example (which did not) lacks.
    report = re.sub(r"\n\(Hypothesis' shrunk run, .*\)", "", str(caught.value))
    actual, expected = normal(report), normal(shown)
    assert actual.split("\n\n", 1)[1] == expected.split("\n\n", 1)[1]
    assert actual.split(":")[0] == expected.split(":")[0]


def test_the_model_based_divergence_report_starts_as_shown():
    import sys

    sys.path.insert(0, str(ROOT / "examples"))
    from dnsplan.binding import dnsplan_binding

    from modelcheck.integrations.mbt import MbtFailure, explore

    shown = block_starting("DnsRace: at step 6, apply(e=0)")
    with pytest.raises(MbtFailure) as caught:
        explore(dnsplan_binding("incident"), depth=6)
    actual = str(caught.value).splitlines()
    for n, line in enumerate(shown.strip().splitlines()):
        if line.endswith("..."):
            assert actual[n].startswith(line.removesuffix("...")), (n, line)
        else:
            assert actual[n].rstrip() == line.rstrip(), (n, line)


def test_the_trace_format_sample_has_the_keys_and_shapes_of_a_real_trace(tmp_path):
    sample = json.loads(
        re.sub(
            r'"dns": \[1, 1\]\},\n',
            '"dns": [1, 1]},\n',
            next(b for k, b, _, _ in BLOCKS if k == "json" and "modelcheck-trace" in b),
        )
    )
    cli("modelcheck check specs/dns_race.py -q --trace-dir traces", tmp_path)
    real = json.loads((tmp_path / "traces" / "active_plan_never_deleted.json").read_text())

    def same_shape(shown: object, actual: object, where: str) -> None:
        if isinstance(shown, dict):
            assert isinstance(actual, dict), where
            for key, value in shown.items():
                assert key in actual, f"{where}.{key} is not in a real trace"
                same_shape(value, actual[key], f"{where}.{key}")
        elif isinstance(shown, list) and shown:
            assert isinstance(actual, list) and actual, where
            same_shape(shown[0], actual[0], f"{where}[0]")
        else:
            assert type(shown) is type(actual), where

    same_shape(sample, real, "trace")
    assert sample["initial"] == {k: real["initial"][k] for k in sample["initial"]}


def test_every_option_in_the_synopsis_exists():
    synopsis = block_starting("modelcheck check PATH[:SpecClass]")
    commands = re.findall(r"^modelcheck (\w+)", synopsis, re.MULTILINE)
    # The options each command declares (its --help may shorten a long name to fit).
    group = typer.main.get_command(app)
    declared = {
        c: {o for p in group.commands[c].params for o in (*p.opts, *p.secondary_opts)}
        for c in commands
    }
    current = None
    for line in synopsis.splitlines():
        if m := re.match(r"modelcheck (\w+)", line):
            current = m.group(1)
        for option in re.findall(r"--[a-z][a-z-]+", line):
            assert option in declared[current], f"modelcheck {current} has no {option}"


def test_the_spec_excerpt_is_the_spec():
    excerpt = next(b for _, b, _, _ in BLOCKS if b.startswith("class DnsRace(Spec):"))
    source = (ROOT / "specs" / "dns_race.py").read_text(encoding="utf-8")
    body = excerpt.split("\n", 1)[1]
    assert body in source


#: README commands too slow for the suite, and where they are checked instead.
SLOW = {
    "modelcheck prove specs/dns_race.py -p check_at_apply=true": "timed in the README (89 s)",
    "modelcheck simulate specs/dns_race.py -p enactors=6": "test_the_simulate_output_...",
    # Starting Ray costs seconds: run on the suite's one Ray instance instead.
    "modelcheck check specs/dns_race.py -p enactors=3 -p endpoints=3 -p generations=5 --ray": (
        "test_cluster.py::test_the_readme_shows_what_check_prints_on_ray"
    ),
}


def bash_commands() -> list[str]:
    """Every ``modelcheck ...`` line of the README's bash blocks, continuations joined."""
    lines = []
    for kind, body, _, _ in BLOCKS:
        if kind != "bash":
            continue
        text = body.replace("\\\n", " ")
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if "modelcheck " in line:
                lines.append(line[line.index("modelcheck ") :])
    return lines


def test_every_readme_command_runs_with_a_documented_exit_code(tmp_path):
    """Run in one folder, the lines that make files (init, --trace-dir) first."""
    ran = 0
    makers_first = sorted(
        bash_commands(),
        key=lambda c: 0 if "--trace-dir" in c or c.startswith("modelcheck init") else 1,
    )
    for line in makers_first:
        if any(line.startswith(slow) for slow in SLOW):
            continue
        command = line.split(" > ", 1)[0]  # the shell redirect is not the command's
        args = shlex.split(command)[1:]
        args = [str(ROOT / a) if a.startswith("specs/") else a for a in args]
        with contextlib.chdir(tmp_path):
            result = CliRunner().invoke(app, args)
        assert "Traceback" not in result.output, line
        assert result.exit_code in (0, 1), f"{line}: exit {result.exit_code}\n{result.stderr}"
        ran += 1
    assert ran >= 10
