"""Benchmark: the generic engine against a hand-specialised BFS on dns-race.

    python benchmarks/bench_dns_race.py                 # E=3 M=3 G=5 K=1, no fix
    python benchmarks/bench_dns_race.py --fix           # check_at_apply=true too
    python benchmarks/bench_dns_race.py --repeat 5 --json out.json

Each run happens in a fresh Python process, so peak RSS (``ru_maxrss``) is
that run's alone; time is the best of ``--repeat`` runs (the minimum is the
least noisy estimate of the cost).  Both sides explore every state and
evaluate the invariant ``active_plan_never_deleted`` at every state until it
first fails.
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

CHILD = r"""
import json, resource, sys, time
sys.path[:0] = [{specs!r}, {bench!r}]
params = json.loads(sys.argv[2])
if sys.argv[1] == "generic":
    from dns_race import DnsRace
    from modelcheck import check
    spec = DnsRace(**params)
    started = time.perf_counter()
    result = check(spec, properties=["active_plan_never_deleted"])
    seconds = time.perf_counter() - started
    verdict = result.verdicts[0]
    out = {{"states": result.statistics.states, "transitions": result.statistics.transitions,
            "counterexample": len(verdict.counterexample) if verdict.counterexample else -1}}
else:
    import gc
    from hand_dns_race import explore
    if sys.argv[1] == "hand-gc-paused":
        gc.disable()  # what the generic engine does during its search
    started = time.perf_counter()
    out = explore(params["enactors"], params["endpoints"], params["generations"], params["keep"],
                  params.get("check_at_apply", False))
    seconds = time.perf_counter() - started
out["seconds"] = seconds
out["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(out))
"""


def run(kind: str, params: dict[str, object]) -> dict[str, float]:
    code = CHILD.format(specs=str(ROOT / "specs"), bench=str(HERE))
    done = subprocess.run(
        [sys.executable, "-c", code, kind, json.dumps(params)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def best(kind: str, params: dict[str, object], repeat: int) -> dict[str, float]:
    runs = [run(kind, params) for _ in range(repeat)]
    fastest = min(runs, key=lambda r: r["seconds"])
    fastest["peak_rss_bytes"] = min(r["peak_rss_bytes"] for r in runs)
    return fastest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--enactors", type=int, default=3)
    parser.add_argument("--endpoints", type=int, default=3)
    parser.add_argument("--generations", type=int, default=5)
    parser.add_argument("--keep", type=int, default=1)
    parser.add_argument("--fix", action="store_true", help="check_at_apply=true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    params = {
        "enactors": args.enactors,
        "endpoints": args.endpoints,
        "generations": args.generations,
        "keep": args.keep,
        "check_at_apply": args.fix,
    }
    hand = best("hand", params, args.repeat)
    hand_paused = best("hand-gc-paused", params, args.repeat)
    generic = best("generic", params, args.repeat)
    if (hand["states"], hand["counterexample"]) != (generic["states"], generic["counterexample"]):
        print(f"MISMATCH: hand {hand} generic {generic}", file=sys.stderr)
        return 1
    print(
        f"dns-race {params}  ({platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, best of {args.repeat})"
    )
    print(f"{'':16}{'states':>9}{'seconds':>9}{'states/s':>11}{'peak RSS MiB':>14}")
    rows = (("hand", hand), ("hand, GC paused", hand_paused), ("generic", generic))
    for name, r in rows:
        print(
            f"{name:16}{r['states']:>9}{r['seconds']:>9.2f}{r['states'] / r['seconds']:>11,.0f}"
            f"{r['peak_rss_bytes'] / 2**20:>14.1f}"
        )
    time_ratio = generic["seconds"] / hand["seconds"]
    paused_ratio = generic["seconds"] / hand_paused["seconds"]
    mem_ratio = generic["peak_rss_bytes"] / hand["peak_rss_bytes"]
    print(
        f"ratio generic/hand: time {time_ratio:.2f}x (target 1.30x), "
        f"peak memory {mem_ratio:.2f}x (target 1.25x)"
    )
    print(f"ratio generic/hand with the hand version's GC paused too: {paused_ratio:.2f}x")
    print(
        f"time_ratio={time_ratio:.3f} time_ratio_gc_paused={paused_ratio:.3f} "
        f"memory_ratio={mem_ratio:.3f} states={generic['states']} "
        f"counterexample={generic['counterexample']}"
    )
    if args.json:
        figures = {
            "params": params,
            "hand": hand,
            "hand_gc_paused": hand_paused,
            "generic": generic,
            "time_ratio": time_ratio,
            "time_ratio_gc_paused": paused_ratio,
            "memory_ratio": mem_ratio,
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
