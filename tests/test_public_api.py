"""The public API is pinned, and the core works without the optional libraries."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import modelcheck

ROOT = Path(__file__).resolve().parent.parent

PUBLIC = [
    "ActionInstance",
    "Bag",
    "BitSet",
    "CheckOptions",
    "CheckResult",
    "Choice",
    "ExitCode",
    "FrozenMap",
    "Model",
    "ModelcheckError",
    "ParameterError",
    "Progress",
    "PropertyDef",
    "PropertyViolation",
    "ReplayResult",
    "Spec",
    "SpecError",
    "SpecLoadError",
    "SpecRuntimeError",
    "State",
    "Statistics",
    "Status",
    "Step",
    "Symmetry",
    "Trace",
    "TraceFormatError",
    "Verdict",
    "action",
    "action_property",
    "always_eventually",
    "assert_holds",
    "check",
    "compile_spec",
    "constraint",
    "eventually",
    "eventually_always",
    "invariant",
    "leads_to",
    "load_trace",
    "reachable",
    "recoverable",
    "replay",
    "save_trace",
    "terminal",
]


def test_the_public_names_are_exactly_the_pinned_list():
    # Adding a public name is a decision: update this list in the same commit.
    assert sorted(modelcheck.__all__) == sorted(PUBLIC)
    assert len(set(modelcheck.__all__)) == len(modelcheck.__all__)


def test_every_public_name_exists_and_has_a_docstring():
    for name in modelcheck.__all__:
        obj = getattr(modelcheck, name)
        assert obj.__doc__, name


def test_errors_share_one_root_and_inherit_the_matching_builtin():
    assert issubclass(modelcheck.SpecError, TypeError)
    assert issubclass(modelcheck.SpecRuntimeError, modelcheck.SpecError)
    assert issubclass(modelcheck.ParameterError, ValueError)
    assert issubclass(modelcheck.TraceFormatError, ValueError)
    assert issubclass(modelcheck.SpecLoadError, LookupError)
    assert issubclass(modelcheck.PropertyViolation, AssertionError)
    for name in ("SpecError", "ParameterError", "TraceFormatError", "SpecLoadError"):
        assert issubclass(getattr(modelcheck, name), modelcheck.ModelcheckError)


BLOCKED = textwrap.dedent(
    """
    import importlib.abc, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("hypothesis", "z3"):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
            return None

    sys.meta_path.insert(0, Block())
    for name in list(sys.modules):
        if name.split(".")[0] in ("hypothesis", "z3"):
            del sys.modules[name]
    """
)


def run_blocked(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKED + textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_blocker_really_blocks_hypothesis_and_z3():
    proc = run_blocked(
        """
        for name in ("hypothesis", "z3"):
            try:
                __import__(name)
            except ImportError:
                print("blocked", name)
        """
    )
    assert proc.stdout.split("\n")[:2] == ["blocked hypothesis", "blocked z3"], proc.stderr


def test_import_and_a_check_work_without_hypothesis_and_z3():
    proc = run_blocked(
        """
        import sys
        sys.path.insert(0, "specs")
        import modelcheck
        from dns_race import DnsRace
        result = modelcheck.check(DnsRace(check_at_apply=True))
        print(result.statistics.states, result.ok)
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("hypothesis", "z3")))
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["561 True", "[]"]


def test_the_cli_check_works_without_hypothesis_and_z3():
    proc = run_blocked(
        """
        import sys
        from modelcheck.cli import main
        sys.argv = ["modelcheck", "check", "specs/dns_race.py", "-q"]
        main()
        """
    )
    assert proc.returncode == 1, proc.stderr  # the unfixed spec fails its properties
    assert "result=violated states=1614" in proc.stdout
