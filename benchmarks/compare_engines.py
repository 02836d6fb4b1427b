"""Run one dns-race check on the compiled and the Python engine and compare the answers.

    python benchmarks/compare_engines.py                  # E=4 M=3 G=5, all properties
    python benchmarks/compare_engines.py -e 3 -m 3 -g 5 --property active_plan_never_deleted

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
    args = parser.parse_args()
    spec = DnsRace(enactors=args.enactors, endpoints=args.endpoints, generations=args.generations)
    results = {}
    for engine in ("compiled", "python"):
        started = time.perf_counter()
        result = check(spec, engine=engine, properties=args.property)
        wall = time.perf_counter() - started
        st = result.statistics
        print(
            f"{engine}: ran {result.engine}, {st.states:,} states, {st.transitions:,} "
            f"transitions, depth {st.depth}; search {st.seconds:.1f} s, compile "
            f"{st.compile_seconds:.1f} s, {wall:.1f} s in all, peak RSS "
            f"{st.peak_memory_bytes / 1e9:.2f} GB",
            flush=True,
        )
        results[engine] = result
    compiled, python = results["compiled"], results["python"]
    counts = [
        (r.statistics.states, r.statistics.transitions, r.statistics.depth)
        for r in results.values()
    ]
    same = counts[0] == counts[1]
    print(f"counts equal: {same}")
    for a, b in zip(compiled.verdicts, python.verdicts, strict=True):
        steps = len(a.counterexample.steps) if a.counterexample else None
        print(f"  {a.property}: {a.status.value}, {steps} steps, {'equal' if a == b else 'DIFFER'}")
        same = same and a == b
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
