"""Benchmark: the symbolic engine (z3) next to the explicit one on dns-race.

    python benchmarks/bench_symbolic.py              # the table for RESULTS.md
    python benchmarks/bench_symbolic.py --quick      # small sizes only
    python benchmarks/bench_symbolic.py --explicit-limit 120

Two measurements:

* BMC time to the shortest counterexample of ``active_plan_never_deleted``
  (no fix), next to BFS's time to the same (shortest) trace;
* ``prove`` time for the fixed variant (``check_at_apply``) at growing
  sizes, next to the explicit engine's time to check every reachable state,
  where it finishes within ``--explicit-limit`` seconds at all.

Each figure is one run in this process (z3 is deterministic for a given
formula); times are wall-clock seconds.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "specs"))

from dns_race import DnsRace  # noqa: E402

from modelcheck import Status, check, compile_spec  # noqa: E402
from modelcheck.engines.z3 import bmc, prove  # noqa: E402

INVARIANT = "active_plan_never_deleted"
SIZES = [(2, 2, 4), (3, 3, 5), (3, 3, 10), (4, 4, 20), (5, 5, 50), (6, 6, 50)]


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def bmc_row(e: int, m: int, g: int) -> str:
    spec = DnsRace(enactors=e, endpoints=m, generations=g)
    symbolic, s_time = timed(lambda: bmc(compile_spec(spec), 12, (INVARIANT,)))
    explicit, x_time = timed(lambda: check(spec, properties=[INVARIANT], stop_at_first=True))
    s_len = len(symbolic.verdicts[0].counterexample)
    x_len = len(explicit.verdicts[0].counterexample)
    return (
        f"| {e} | {m} | {g} | {s_len} | {s_time:.2f} | {x_len} | {x_time:.2f} "
        f"({explicit.statistics.states:,} states) |"
    )


def prove_row(e: int, m: int, g: int, limit: float) -> str:
    spec = DnsRace(enactors=e, endpoints=m, generations=g, check_at_apply=True)
    proof, p_time = timed(lambda: prove(compile_spec(spec), 1))
    proved = all(v.status is Status.HOLDS for v in proof.verdicts)
    both = [INVARIANT, "applied_generation_monotonic"]
    explicit, x_time = timed(lambda: check(spec, properties=both, time_limit=limit))
    if explicit.complete:
        x_text = f"{x_time:.2f} ({explicit.statistics.states:,} states)"
    else:
        x_text = f"did not finish in {limit:.0f} s ({explicit.statistics.states:,} states so far)"
    return f"| {e} | {m} | {g} | {'proved' if proved else 'NOT proved'} | {p_time:.2f} | {x_text} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument(
        "--explicit-limit",
        type=float,
        default=60.0,
        help="seconds the explicit engine gets per size",
    )
    args = parser.parse_args()
    sizes = SIZES[:3] if args.quick else SIZES
    print(
        f"CPython {platform.python_version()}, {platform.machine()}, "
        f"{platform.platform(terse=True)}"
    )
    print("\nBMC to the shortest counterexample of active_plan_never_deleted (no fix)\n")
    print("| E | M | G | BMC steps | BMC s | BFS steps | BFS s |")
    print("|---|---|---|---|---|---|---|")
    for size in [(2, 2, 4), (3, 3, 5)]:
        print(bmc_row(*size), flush=True)
    print("\nprove (k=1) of the fixed variant (check_at_apply=true), both properties\n")
    print("| E | M | G | prove | prove s | explicit check s |")
    print("|---|---|---|---|---|---|")
    for size in sizes:
        print(prove_row(*size, args.explicit_limit), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
