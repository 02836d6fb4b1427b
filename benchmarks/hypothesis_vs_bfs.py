"""How often does plain Hypothesis stateful testing find the dns-race violation?

For each configuration and each seed, the spec runs as a Hypothesis
stateful test (the machine ``modelcheck.integrations.hypothesis`` generates:
one rule per action family, arguments drawn from the family's domain) with
Hypothesis' default settings (100 examples of up to 50 steps), checking only
``active_plan_never_deleted`` - the incident's invariant.  We record whether
the generate phase finds a violation and how long it takes, and compare with
the exhaustive breadth-first check, which always finds it (and proves its
trace shortest).  Shrinking is measured separately on a few seeds
(``--shrink-seeds``), because it dominates the time when it runs.

    python benchmarks/hypothesis_vs_bfs.py --seeds 20 --shrink-seeds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from hypothesis import Phase, Verbosity, seed, settings
from hypothesis.stateful import run_state_machine_as_test

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "specs"))

from dns_race import DnsRace

from modelcheck import check
from modelcheck.errors import PropertyViolation
from modelcheck.integrations import hypothesis as modelcheck_hypothesis

PROPERTY = "active_plan_never_deleted"
CONFIGS = {
    "default (E=2 M=2 G=4)": {},
    "E=3 M=3 G=6": {"enactors": 3, "endpoints": 3, "generations": 6},
}


def hypothesis_run(params: dict[str, int], n: int, shrink: bool) -> tuple[bool, float, int]:
    """(found, seconds, steps of the failing run) for Hypothesis seed ``n``."""
    machine = modelcheck_hypothesis.state_machine(
        DnsRace(**params), properties=PROPERTY, shortest=False
    )
    seed(n)(machine)
    phases = list(Phase) if shrink else [Phase.explicit, Phase.generate]
    chosen = settings(
        database=None, deadline=None, phases=phases, print_blob=False, verbosity=Verbosity.quiet
    )
    started = time.perf_counter()
    try:
        run_state_machine_as_test(machine, settings=chosen)
    except PropertyViolation as exc:
        steps = len(exc.trace) if exc.trace is not None else -1
        return True, time.perf_counter() - started, steps
    return False, time.perf_counter() - started, 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument(
        "--shrink-seeds",
        type=int,
        default=3,
        help="seeds (of those that found it, default config) to also shrink",
    )
    args = parser.parse_args()
    print(
        f"python benchmarks/hypothesis_vs_bfs.py --seeds {args.seeds} "
        f"--shrink-seeds {args.shrink_seeds}\n"
    )
    rows = []
    for name, params in CONFIGS.items():
        results = [hypothesis_run(params, n, shrink=False) for n in range(args.seeds)]
        found = [r for r in results if r[0]]
        times = [r[1] for r in results]
        started = time.perf_counter()
        first = check(DnsRace(**params), properties=[PROPERTY], stop_at_first=True)
        first_seconds = time.perf_counter() - started
        started = time.perf_counter()
        full = check(DnsRace(**params))
        full_seconds = time.perf_counter() - started
        shortest = len(first.verdict(PROPERTY).counterexample)
        rows.append(
            (
                name,
                len(found),
                len(results),
                statistics.median(times),
                max(times),
                statistics.median([r[2] for r in found]) if found else None,
                first.statistics.states,
                first_seconds,
                full.statistics.states,
                full_seconds,
                shortest,
            )
        )
    print(
        f"Hypothesis: default settings (100 examples x up to 50 steps), generate phase only, "
        f"property {PROPERTY}; seeds 0..{args.seeds - 1}."
    )
    print(
        "| configuration | Hypothesis found it | median / max time per seed | "
        "median length of failing run | BFS, stop at first | BFS, full check "
        "| shortest trace |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, hits, total, median, worst, length, s1, t1, s2, t2, short in rows:
        length_text = "-" if length is None else f"{length:.0f} steps"
        print(
            f"| {name} | {hits}/{total} seeds | {median:.2f} s / {worst:.2f} s | "
            f"{length_text} | {s1:,} states, {t1:.2f} s | {s2:,} states, {t2:.2f} s | "
            f"{short} steps |"
        )
    if args.shrink_seeds:
        print("\nWith shrinking (all default phases), default configuration:")
        print("| seed | found | total time | shrunk trace |")
        print("|---|---|---|---|")
        done = 0
        for n in range(args.seeds):
            if done >= args.shrink_seeds:
                break
            hit, seconds, steps = hypothesis_run({}, n, shrink=True)
            if hit:
                done += 1
                print(f"| {n} | yes | {seconds:.1f} s | {steps} steps |")


if __name__ == "__main__":
    main()
