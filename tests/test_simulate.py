"""Random simulation: hand-computable runs, determinism per seed, violations, the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from mbt_toys import Stuck, Tally, TwoCounters
from typer.testing import CliRunner

from modelcheck import compile_spec, replay
from modelcheck.cli import app
from modelcheck.engines.shortest import shortest_counterexample, shrink
from modelcheck.engines.simulate import SimulateOptions, simulate
from modelcheck.errors import SpecRuntimeError
from modelcheck.result import ExitCode, Status

TOYS = Path(__file__).resolve().parent / "mbt_toys.py"
SPECS = Path(__file__).resolve().parent.parent / "specs"
runner = CliRunner()


def sim(spec, **options):
    return simulate(compile_spec(spec), SimulateOptions(**options))


def test_every_run_of_a_straight_line_walks_it_to_the_end():
    result = sim(Tally(n=4), runs=3, depth=10)
    assert result.runs == 3
    assert result.steps == 12
    assert result.distinct_states == 5
    assert result.fired == (("inc", 12),)
    assert result.terminal_runs == 3
    assert result.exit_code is ExitCode.OK
    assert all(v.status is Status.UNKNOWN for v in result.verdicts)  # never "holds"


def test_ctrl_c_while_shrinking_keeps_each_violation_as_found(monkeypatch):
    from modelcheck.engines import simulate as simulate_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(simulate_module, "shrink", interrupted)
    result = sim(Tally(n=6, bad=3), runs=2, depth=10)
    assert result.stopped_by == "interrupted"
    assert result.exit_code is ExitCode.VIOLATED
    (ce,) = result.counterexamples
    assert len(ce.trace) == 3 and not ce.proven_shortest
    assert result.options.shrink  # what was asked for, not what the interruption left


def test_depth_limits_each_run():
    result = sim(Tally(n=10), runs=2, depth=3)
    assert result.steps == 6
    assert result.distinct_states == 4
    assert result.terminal_runs == 0


def test_an_invariant_violation_comes_with_a_proven_shortest_trace():
    result = sim(Tally(n=6, bad=3), runs=2, depth=10)
    assert result.exit_code is ExitCode.VIOLATED
    (ce,) = result.counterexamples
    assert ce.trace.violates == "never_bad"
    assert len(ce.trace) == 3
    assert ce.proven_shortest
    assert "proven shortest" in ce.how


def test_an_unexpected_deadlock_is_found_at_the_end_of_a_run():
    result = sim(Stuck(), runs=1, depth=5)
    assert [v.property for v in result.violated] == ["ends_at_two"]
    assert len(result.counterexamples[0].trace) == 1


def test_the_same_seed_gives_the_same_simulation_and_another_seed_another():
    def run(seed):
        r = sim(TwoCounters(n=5), runs=4, depth=4, seed=seed)
        return r.steps, r.distinct_states, r.fired

    assert run(7) == run(7)
    assert len({run(s) for s in range(6)}) > 1


def test_dns_race_with_six_enactors_and_fifty_generations_is_simulated():
    import dns_race

    result = sim(
        dns_race.DnsRace(enactors=6, generations=50), runs=30, depth=60, seed=1, shortest=False
    )
    assert result.runs == 30
    assert result.distinct_states > 1000
    # Every action but restore, an operator's action that is off (operator=False).
    assert all(count > 0 for label, count in result.fired if label != "restore")
    assert dict(result.fired)["restore"] == 0
    model = compile_spec(dns_race.DnsRace(enactors=6, generations=50))
    for ce in result.counterexamples:
        outcome = replay(model, ce.trace)
        assert outcome.legal and outcome.property_fails, outcome.message


@pytest.mark.parametrize("shortest", [False, True])
def test_simulated_counterexamples_record_who_did_each_step(shortest):
    import dns_race

    result = sim(dns_race.DnsRace(), runs=30, depth=30, seed=1, shrink=True, shortest=shortest)
    assert result.counterexamples
    for ce in result.counterexamples:
        actors = {step.actor for step in ce.trace.steps}
        assert None not in actors and "Planner" in actors, ce.how


def test_a_time_limit_stops_the_simulation_and_it_is_incomplete():
    result = sim(Tally(), runs=5, time_limit=1e-9)
    assert result.stopped_by == "time_limit"
    assert result.exit_code is ExitCode.INCOMPLETE


def test_a_spec_that_raises_is_a_spec_error_with_the_run_attached():
    with pytest.raises(SpecRuntimeError) as info:
        sim(Tally(explode_at=2), runs=1)
    assert "ZeroDivisionError" in str(info.value)
    assert len(info.value.trace) == 2


def test_shrinking_keeps_a_trace_violating_and_bfs_makes_it_shortest():
    import dns_race

    model = compile_spec(dns_race.DnsRace())
    result = simulate(
        model, SimulateOptions(runs=50, depth=40, seed=2, shrink=False, shortest=False)
    )
    raw = next(
        ce.trace
        for ce in result.counterexamples
        if ce.trace.violates == "active_plan_never_deleted"
    )
    shrunk = shrink(model, raw)
    assert len(shrunk) <= len(raw)
    assert replay(model, shrunk).property_fails
    best = shortest_counterexample(model, shrunk)
    assert best.proven_shortest and len(best.trace) == 10  # the reference figure
    budget = shortest_counterexample(model, shrunk, max_states=5)
    assert not budget.proven_shortest and budget.trace is shrunk


# --- the command ------------------------------------------------------------------------


def cli(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def test_cli_simulate_reports_and_exits_0_when_nothing_is_violated():
    result = cli("simulate", f"{TOYS}:Tally", "-p", "n=3", "--runs", "5", "--depth", "10")
    assert result.exit_code == 0, result.output
    assert "simulated 5 of 5 runs" in result.output
    assert "fired: inc=15" in result.output
    assert "result=not-violated runs=5 steps=15 states=4" in result.output


def test_cli_simulate_exits_1_and_writes_traces_that_replay(tmp_path):
    result = cli(
        "simulate", SPECS / "dns_race.py", "--runs", "50", "--seed", "3", "--trace-dir", tmp_path
    )
    assert result.exit_code == 1, result.output
    assert "proven shortest" in result.output
    trace = tmp_path / "active_plan_never_deleted.json"
    again = cli("replay", SPECS / "dns_race.py", trace)
    assert again.exit_code == 1, again.output


def test_cli_simulate_is_deterministic_for_a_seed():
    args = (
        "simulate",
        SPECS / "dns_race.py",
        "-p",
        "enactors=3",
        "--runs",
        "20",
        "--seed",
        "5",
        "--no-shortest",
        "-q",
    )
    first, second = cli(*args), cli(*args)
    strip = [
        line for line in first.output.splitlines() if "seconds=" not in line and " s" not in line
    ]
    assert strip == [
        line for line in second.output.splitlines() if "seconds=" not in line and " s" not in line
    ]


@pytest.mark.parametrize(
    "args, needle",
    [
        (("-p", "nope=1"), "no parameter"),
        (("--property", "nope"), "no property"),
        (("--runs", "0"), "runs"),
    ],
)
def test_cli_simulate_bad_input_exits_2_with_a_message(args, needle):
    result = cli("simulate", SPECS / "dns_race.py", *args)
    assert result.exit_code == 2
    assert needle in result.output


def test_cli_simulate_spec_error_exits_2_with_the_trace():
    result = cli("simulate", f"{TOYS}:Tally", "-p", "explode_at=1", "--runs", "1")
    assert result.exit_code == 2
    assert "ZeroDivisionError" in result.output
