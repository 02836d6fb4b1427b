"""Benchmark: set-heavy specs on the Python engine, beside dns-race.

    python benchmarks/bench_sets.py              # best of 3 fresh processes each
    python benchmarks/bench_sets.py --repeat 5

Two-phase commit with 7 resource managers (296,448 states) and a
message-passing Lamport mutex (3 processes, clocks bounded at 8 by a
``@constraint``) written the natural way, with frozensets and tuples of
message tuples (``benchmarks/specs/``), and dns-race at E=3 M=3 G=5 for
scale.  Each run is a fresh process, so peak RSS is that run's alone.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

CASES = {
    "two_phase rms=7": ("two_phase", "TwoPhase", {"rms": 7}),
    "two_phase rms=7, TM receive chosen from the state": (
        "two_phase_choose",
        "TwoPhaseChoose",
        {"rms": 7},
    ),
    "lamport_mutex procs=3 max_clock=8": (
        "lamport_mutex",
        "LamportMutex",
        {"procs": 3, "max_clock": 8},
    ),
    "dns_race E=3 M=3 G=5": (
        "dns_race",
        "DnsRace",
        {"enactors": 3, "endpoints": 3, "generations": 5},
    ),
}

CHILD = r"""
import importlib, json, resource, sys
sys.path[:0] = [{specs!r}, {bench_specs!r}]
module, name, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
spec = getattr(importlib.import_module(module), name)(**params)
from modelcheck import check
result = check(spec)
st = result.statistics
print(json.dumps({{"states": st.states, "transitions": st.transitions, "seconds": st.seconds,
                   "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}}))
"""


def run(module: str, name: str, params: dict[str, object]) -> dict[str, float]:
    code = CHILD.format(specs=str(ROOT / "specs"), bench_specs=str(HERE / "specs"))
    done = subprocess.run(
        [sys.executable, "-c", code, module, name, json.dumps(params)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"# {platform.platform()}, Python {platform.python_version()}, best of {args.repeat}")
    print("| spec | states | transitions | seconds | states/s | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    for label, (module, name, params) in CASES.items():
        runs = [run(module, name, params) for _ in range(args.repeat)]
        fastest = min(runs, key=lambda r: r["seconds"])
        rate = fastest["states"] / fastest["seconds"]
        rss = min(r["peak_rss_bytes"] for r in runs) / 2**20
        print(
            f"| {label} | {fastest['states']:,} | {fastest['transitions']:,} | "
            f"{fastest['seconds']:.2f} | {rate:,.0f} | {rss:,.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
