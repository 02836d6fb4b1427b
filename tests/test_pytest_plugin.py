"""The pytest plugin: spec_tests() gives one item per property, one search per spec.

Each test runs pytest on a small project with ``pytester``, in-process, with
entry-point plugins off and this plugin named with ``-p`` (so the outcome does
not depend on whether modelcheck happens to be installed).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelcheck.cli import app

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
PLUGIN = "modelcheck.integrations.pytest_plugin"

# Counts the calls of its action and of one invariant, so a test in the same
# module can tell how many searches ran and which properties were evaluated.
TOY = '''
from modelcheck import Spec, State, action, invariant

CALLS = {"inc": 0, "small": 0}


class N(State):
    value: int


class Toy(Spec):
    """Counts 0..n: n + 1 states, each expanded once by one search."""

    n: int = 3
    bad: int = -1
    explode_at: int = -1

    def initial_states(self):
        return N(0)

    @action
    def inc(self, s):
        CALLS["inc"] += 1
        if s.value == self.explode_at:
            raise ZeroDivisionError("boom")
        return N(s.value + 1) if s.value < self.n else None

    @invariant
    def never_bad(self, s):
        return s.value != self.bad

    @invariant
    def small(self, s):
        CALLS["small"] += 1
        return s.value <= 1000
'''


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    # The in-process runs import test modules by basename; the suite's own
    # test_dns_race (or any test_* module) must not stand in for the project's.
    for name in [m for m in sys.modules if m.startswith("test_")]:
        monkeypatch.delitem(sys.modules, name)
    pytester.makepyfile(toy=TOY)
    pytester.syspathinsert()
    pytester.syspathinsert(SPECS)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", PLUGIN, "-p", "no:cacheprovider", *args)


def test_each_property_is_an_item_named_module_spec_property(project):
    project.makepyfile(
        test_dns_race="""
        from dns_race import DnsRace
        from modelcheck.integrations.pytest_plugin import spec_tests

        dns_race = spec_tests(DnsRace, enactors=2)
        """
    )
    result = run(project, "--collect-only", "-q")
    ids = [line for line in result.outlines if "::" in line]
    assert ids == [
        "test_dns_race.py::DnsRace::active_plan_never_deleted",
        "test_dns_race.py::DnsRace::applied_generation_monotonic",
        "test_dns_race.py::DnsRace::always_recoverable",
        "test_dns_race.py::DnsRace::no_unexpected_deadlock",
    ]


def test_collecting_runs_no_search(project):
    project.makepyfile(
        test_toy="""
        import toy
        from modelcheck.integrations.pytest_plugin import spec_tests

        toy_tests = spec_tests(toy.Toy, explode_at=0)  # the search fails at once
        """
    )
    result = run(project, "--collect-only", "-q")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["test_toy.py::Toy::never_bad", "test_toy.py::Toy::small"])
    run(project).assert_outcomes(failed=2)  # running them does search


def test_a_violated_property_fails_and_the_others_pass_after_one_search(project):
    project.makepyfile(
        test_toy="""
        import toy
        from modelcheck.integrations.pytest_plugin import spec_tests

        toy_tests = spec_tests(toy.Toy, bad=2)
        """
    )
    result = run(project, "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["test_toy.py::Toy::never_bad FAILED*", "test_toy.py::Toy::small PASSED*"]
    )


def test_all_the_items_of_a_spec_share_one_search(project):
    project.makepyfile(
        test_toy="""
        import toy
        from modelcheck.integrations.pytest_plugin import spec_tests

        toy_tests = spec_tests(toy.Toy)


        def test_zz_the_two_items_shared_one_search():
            # n=3: states 0..3, each expanded once; a search per item would call inc 8 times.
            assert toy.CALLS["inc"] == 4
        """
    )
    run(project).assert_outcomes(passed=3)


def test_the_failure_shows_the_table_and_a_replay_command_that_works(project, monkeypatch):
    project.makepyfile(
        test_toy="""
        import toy
        from modelcheck.integrations.pytest_plugin import spec_tests

        toy_tests = spec_tests(toy.Toy, bad=2)
        """
    )
    result = run(project)
    result.assert_outcomes(passed=1, failed=1)
    text = result.stdout.str()
    assert "Toy(n=3, bad=2, explode_at=-1): never_bad (invariant) is violated." in text
    result.stdout.fnmatch_lines(
        [
            "Counterexample to never_bad (invariant): 2 steps",
            "  step  action     changes",
            "     0  (initial)  value=0",
            "     1  inc()      value: 0 → 1",
            "     2  inc()      value: 1 → 2",
            "  violated: never_bad is false where value=2",
            "Saved to *; replay it with:",
            "  modelcheck replay toy.py:Toy *test_toy.py__Toy__never_bad.json",
        ]
    )
    assert "Traceback" not in text and "pytest_plugin.py" not in text
    command = next(line for line in result.outlines if "modelcheck replay" in line).split()
    assert command[:2] == ["modelcheck", "replay"]
    monkeypatch.chdir(project.path)
    replayed = CliRunner().invoke(app, command[1:])
    assert replayed.exit_code == 1, replayed.output
    assert "never_bad fails at step 2" in replayed.stdout


def test_traces_go_to_pytests_temporary_folder_or_the_chosen_one(project, monkeypatch):
    monkeypatch.delenv("MODELCHECK_TRACE_DIR", raising=False)
    project.makepyfile(
        test_toy="""
        import toy
        from modelcheck.integrations.pytest_plugin import spec_tests

        toy_tests = spec_tests(toy.Toy, bad=1)
        """
    )
    base = project.path / "base"
    run(project, f"--basetemp={base}").assert_outcomes(passed=1, failed=1)
    assert (base / "modelcheck" / "test_toy.py__Toy__never_bad.json").is_file()
    chosen = project.path / "chosen"
    run(project, f"--modelcheck-trace-dir={chosen}").assert_outcomes(passed=1, failed=1)
    assert (chosen / "test_toy.py__Toy__never_bad.json").is_file()


def test_k_selects_one_property_and_the_search_checks_only_that_one(project):
    project.makepyfile(
        test_toy="""
        import toy
        from modelcheck.integrations.pytest_plugin import spec_tests

        toy_tests = spec_tests(toy.Toy, bad=2)


        def test_zz_the_other_invariant_was_never_evaluated():
            assert toy.CALLS["small"] == 0
        """
    )
    result = run(project, "-v", "-k", "never_bad or zz")
    result.assert_outcomes(passed=1, failed=1, deselected=1)
    result.stdout.fnmatch_lines(["test_toy.py::Toy::never_bad FAILED*"])
    result = run(project, "-v", "-k", "small")
    result.assert_outcomes(passed=1, deselected=2)
    result = run(project, "-m", "modelcheck")  # the property items, not the plain test
    result.assert_outcomes(passed=1, failed=1, deselected=1)


def test_x_stops_at_the_first_failing_property(project):
    project.makepyfile(
        test_dns_race="""
        from dns_race import DnsRace
        from modelcheck.integrations.pytest_plugin import spec_tests

        dns_race = spec_tests(DnsRace)
        """
    )
    run(project).assert_outcomes(failed=4)
    result = run(project, "-x")
    result.assert_outcomes(failed=1)
    assert "stopping after 1 failures" in result.stdout.str()


def test_an_incomplete_search_fails_with_the_reason_never_passes(project):
    project.makepyfile(
        test_toy="""
        import toy
        from modelcheck.integrations.pytest_plugin import spec_tests

        toy_tests = spec_tests(toy.Toy, n=100, max_states=5)
        """
    )
    result = run(project)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*Toy(n=100, bad=-1, explode_at=-1): never_bad (invariant) was not decided: the "
            "search stopped (max_states) after 5 distinct states*nothing is proved. Raise "
            "max_states in spec_tests(...), or remove it.",
        ]
    )
    assert "INCOMPLETE (stopped by max_states)" in result.stdout.str()


def test_a_spec_that_raises_fails_its_items_with_the_trace_not_a_traceback(project):
    project.makepyfile(
        test_toy="""
        import toy
        from modelcheck.integrations.pytest_plugin import spec_tests

        toy_tests = spec_tests(toy.Toy, explode_at=1)
        """
    )
    result = run(project)
    result.assert_outcomes(failed=2)
    text = result.stdout.str()
    assert "ZeroDivisionError: boom" in text
    assert "The run that reached the failing state:" in text
    assert "Traceback" not in text


def test_a_bad_parameter_or_property_name_is_a_clear_collection_error(project):
    project.makepyfile(
        test_toy="""
        import toy
        from modelcheck.integrations.pytest_plugin import spec_tests

        bad_parameter = spec_tests(toy.Toy, m=3)
        bad_property = spec_tests(toy.Toy, properties="never_bda", name="Other")


        class Silent(toy.Spec):
            def initial_states(self):
                return toy.N(0)

            @toy.action
            def stay(self, s):
                return None


        no_property = spec_tests(Silent)
        """
    )
    result = run(project)
    result.assert_outcomes(errors=3)
    assert "Silent declares no property, so there is nothing to test" in result.stdout.str()
    text = result.stdout.str()
    assert "test_toy.py::Toy: " in text and "'m'" in text
    assert "Toy has no property 'never_bda'. Did you mean 'never_bad'?" in text
    assert "Traceback" not in text


def test_a_suite_without_spec_tests_is_unchanged_and_no_spec_file_is_collected(pytester):
    pytester.makepyfile(
        toy=TOY,  # a spec file: the plugin must not collect it
        test_plain="""
        import pytest

        def test_one():
            assert True

        @pytest.mark.parametrize("x", [1, 2])
        def test_two(x):
            assert x < 2

        class TestThree:
            def test_method(self):
                pass
        """,
    )
    without = pytester.runpytest("-p", "no:cacheprovider", "-v")
    with_plugin = pytester.runpytest("-p", PLUGIN, "-p", "no:cacheprovider", "-v")
    for result in (without, with_plugin):
        result.assert_outcomes(passed=3, failed=1)

    def items(result: pytest.RunResult) -> list[str]:
        return [line.split()[0] for line in result.outlines if "::" in line and " " in line]

    assert items(with_plugin) == items(without)
    assert not any("toy.py" in line for line in items(with_plugin))


def _run_pytest_subprocess(
    path: Path, env_extra: dict[str, str], *args: str
) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(path),
        "PYTHONPATH": f"{env_extra.pop('PYTHONPATH', '')}:{ROOT}:{SPECS}",
        **env_extra,
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args, "test_dns_race.py"],
        cwd=path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_pytest11_entry_point_loads_the_plugin(tmp_path):
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert declared["pytest11"] == {PLUGIN: PLUGIN}
    # Install only that entry point (a dist-info folder on the path), then let pytest find it.
    dist = tmp_path / "site" / "modelcheck_entry_point-0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: modelcheck-entry-point\n")
    (dist / "entry_points.txt").write_text(f"[pytest11]\n{PLUGIN} = {PLUGIN}\n")
    (tmp_path / "test_dns_race.py").write_text(
        "from dns_race import DnsRace\n"
        "from modelcheck.integrations.pytest_plugin import spec_tests\n\n"
        "fixed = spec_tests(DnsRace, check_at_apply=True)\n"
    )
    site = str(tmp_path / "site")
    done = _run_pytest_subprocess(tmp_path, {"PYTHONPATH": site})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout
    # Naming it again is harmless (same name), and -p no: turns it off.
    done = _run_pytest_subprocess(tmp_path, {"PYTHONPATH": site}, "-p", PLUGIN)
    assert "4 passed" in done.stdout, done.stdout + done.stderr
    done = _run_pytest_subprocess(tmp_path, {"PYTHONPATH": site}, "-p", f"no:{PLUGIN}")
    assert "spec_tests() needs the modelcheck pytest plugin" in done.stdout


def test_spec_tests_without_the_plugin_is_an_error_not_zero_tests(tmp_path):
    (tmp_path / "test_dns_race.py").write_text(
        "from dns_race import DnsRace\n"
        "from modelcheck.integrations.pytest_plugin import spec_tests\n\n"
        "fixed = spec_tests(DnsRace, check_at_apply=True)\n"
    )
    done = _run_pytest_subprocess(tmp_path, {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "spec_tests() needs the modelcheck pytest plugin" in done.stdout
    assert "-p modelcheck.integrations.pytest_plugin" in done.stdout


def _readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"### {title}")
    return text[start : text.index("\n### ", start + 1)]


def test_the_readme_example_collects_the_items_it_shows(project):
    section = _readme_section("Every property a pytest test")
    source = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    shown = re.search(r"```text\n(.*?)```", section, re.DOTALL).group(1).splitlines()
    project.makepyfile(test_dns_race=source)
    result = run(project, "--collect-only", "-q")
    assert [line for line in result.outlines if "::" in line] == shown
