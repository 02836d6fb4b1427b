"""Run one dns-race check on the compiled and the Python engine and compare the answers.

    python benchmarks/compare_engines.py                  # E=4 M=3 G=5, all properties
    python benchmarks/compare_engines.py -e 3 -m 3 -g 5 --property active_plan_never_deleted
    python benchmarks/compare_engines.py --workers 1,2    # the compiled engine on 1, then 2

Prints each engine's statistics (search seconds, compile seconds, peak
memory) and, per property, the verdict, the counterexample's length and
whether the two verdicts are equal as objects (status and the very same
trace).  Exits 1 when counts or any verdict differ.  The Python engine needs
about 16 GB and ten minutes at the default size.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "specs"))

from dns_race import DnsRace

from modelcheck import check


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-e", "--enactors", type=int, default=4)
    parser.add_argument("-m", "--endpoints", type=int, default=3)
    parser.add_argument("-g", "--generations", type=int, default=5)
    parser.add_argument("--property", action="append", help="check only this (repeatable)")
    parser.add_argument(
        "--workers", default="1", help="comma-separated worker counts for the compiled engine"
    )
    args = parser.parse_args()
    try:
        counts = [int(w) for w in args.workers.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        parser.error(
            f"--workers must be positive integers separated by commas, not {args.workers!r}"
        )
    spec = DnsRace(enactors=args.enactors, endpoints=args.endpoints, generations=args.generations)
    results = {}
    runs = [(f"compiled on {w}", "compiled", w) for w in counts] + [("python", "python", 1)]
    for name, engine, workers in runs:
        started = time.perf_counter()
        result = check(spec, engine=engine, properties=args.property, workers=workers)
        wall = time.perf_counter() - started
        st = result.statistics
        print(
            f"{name}: ran {result.engine}, {st.states:,} states, {st.transitions:,} "
            f"transitions, depth {st.depth}; search {st.seconds:.1f} s, compile "
            f"{st.compile_seconds:.1f} s, {wall:.1f} s in all, peak RSS "
            f"{st.peak_memory_bytes / 1e9:.2f} GB",
            flush=True,
        )
        results[name] = result
    python = results.pop("python")
    same = True
    for name, compiled in results.items():
        equal = all(
            getattr(compiled.statistics, f) == getattr(python.statistics, f)
            for f in ("states", "transitions", "depth")
        )
        print(f"{name}: counts equal to the Python engine's: {equal}")
        same = same and equal
        for a, b in zip(compiled.verdicts, python.verdicts, strict=True):
            steps = len(a.counterexample.steps) if a.counterexample else None
            verdict = "equal" if a == b else "DIFFER"
            print(f"  {a.property}: {a.status.value}, {steps} steps, {verdict}")
            same = same and a == b
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
