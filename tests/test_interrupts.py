"""Ctrl-C acts at once and ends with a documented exit code, whenever it comes.

Before: Ctrl-C in ``simulate`` took 12-15 s to act (it went on shrinking
every counterexample), a long simulation remembered every distinct state,
and Ctrl-C while the command was starting, or after it had printed its
result, gave a traceback and exit code 130.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from toy_specs import Counter, InterruptedCounter

from modelcheck import compile_spec
from modelcheck.engines import simulate as simulate_module
from modelcheck.engines.simulate import SimulateOptions, simulate

ROOT = Path(__file__).resolve().parent.parent


def test_after_ctrl_c_simulate_reports_its_runs_without_shrinking_them(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(simulate_module, "shrink", lambda *a, **k: calls.append("shrink"))
    monkeypatch.setattr(
        simulate_module, "shortest_counterexample", lambda *a, **k: calls.append("shortest")
    )
    model = compile_spec(InterruptedCounter(n=10, bad=3, stop_at=7))
    result = simulate(model, SimulateOptions(runs=5, depth=20))
    assert result.stopped_by == "interrupted"
    assert calls == []
    (ce,) = result.counterexamples
    assert ce.how == "as found by a random walk" and not ce.proven_shortest


def test_distinct_states_stop_being_counted_at_the_bound():
    model = compile_spec(Counter(n=1000))
    capped = simulate(model, SimulateOptions(runs=3, depth=500, max_tracked_states=50))
    assert capped.distinct_states_capped
    assert 50 <= capped.distinct_states <= 50 + 500  # one run past the bound at most
    free = simulate(model, SimulateOptions(runs=3, depth=500))
    assert not free.distinct_states_capped and free.distinct_states == 501


def python(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def test_ctrl_c_while_the_command_starts_exits_3_with_one_line():
    # As the console script does: argv[0] is "modelcheck" while modelcheck imports.
    done = python(
        """
        import os, signal, sys, time
        sys.argv[0] = "modelcheck"
        import modelcheck
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C before the command is ready
        time.sleep(10)
        """
    )
    assert done.returncode == 3
    assert done.stderr == "interrupted: stopped while starting, before any work.\n"


def test_ctrl_c_after_the_result_exits_with_the_results_code(tmp_path):
    spec = tmp_path / "spec.py"
    spec.write_text(
        textwrap.dedent(
            """
            import atexit, os, signal, time
            from modelcheck import Spec, State, action, invariant

            def ctrl_c_during_teardown():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(10)

            atexit.register(ctrl_c_during_teardown)

            class N(State):
                n: int

            class Two(Spec):
                def initial_states(self):
                    return N(0)

                @action
                def inc(self, s):
                    return s.replace(n=s.n + 1) if s.n < 2 else None

                @invariant
                def below_two(self, s):
                    return s.n < 2
            """
        )
    )
    done = python(
        """
        import sys
        sys.argv[0] = "modelcheck"
        from modelcheck.cli import main
        main()
        """,
        "check",
        str(spec),
        "-q",
        timeout=8,
    )
    assert "result=violated" in done.stdout
    assert "Traceback" not in done.stderr
    assert done.returncode == 1


def test_the_library_keeps_pythons_ctrl_c():
    done = python(
        """
        import signal
        import modelcheck
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        """
    )
    assert done.returncode == 0, done.stderr


def test_running_out_of_memory_is_a_partial_result_with_advice_not_a_spec_error(tmp_path):
    from typer.testing import CliRunner

    from modelcheck.cli import app

    spec = tmp_path / "hungry.py"
    spec.write_text(
        textwrap.dedent(
            """
            from modelcheck import Spec, State, action, invariant

            class N(State):
                n: int

            class Hungry(Spec):
                limit: int = 3

                def initial_states(self):
                    return N(0)

                @action
                def inc(self, s):
                    if s.n == 5:
                        raise MemoryError  # as when the visited set cannot grow
                    return s.replace(n=s.n + 1)

                @invariant
                def small(self, s):
                    return s.n < self.limit
            """
        )
    )
    result = CliRunner().invoke(app, ["check", str(spec)])
    assert "Traceback" not in result.output and "spec error" not in result.output
    assert result.exit_code == 1  # the violation found before memory ran out still counts
    assert "INCOMPLETE (stopped by out_of_memory)" in result.stdout
    assert "The search ran out of memory after 6 states" in result.stdout
    assert "--max-states" in result.stdout
    assert "Counterexample to small (invariant): 3 steps" in result.stdout
    nothing_found = CliRunner().invoke(app, ["check", str(spec), "-p", "limit=100"])
    assert nothing_found.exit_code == 3  # incomplete: nothing is claimed to hold
    assert "small     invariant  unknown" in nothing_found.stdout
