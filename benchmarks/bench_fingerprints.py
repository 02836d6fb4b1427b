"""Bytes per state of the exact and fingerprint stores on dns-race (Python engine).

    python benchmarks/bench_fingerprints.py --store fingerprints -p enactors=3 -p endpoints=3 \
        -p generations=6

One check per process (peak RSS is the process's): the baseline is the
resident memory after the spec is compiled and numpy imported, just before
the search; bytes per state are (peak RSS - baseline) / states.  Prints one
``key=value`` line.  Checks ``active_plan_never_deleted`` only (the fingerprint
store keeps no graph, so recoverability is not checked by it).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "specs"))

import numpy  # noqa: F401  # in the baseline: the fingerprint store imports it

from modelcheck import CheckOptions, compile_spec
from modelcheck.engines.bfs import Progress, peak_memory_bytes, resident_memory_bytes
from modelcheck.engines.fingerprints import PackedLevel
from modelcheck.engines.selection import check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", default="fingerprints")
    parser.add_argument("-p", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--property", default="active_plan_never_deleted")
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument(
        "--objects", action="store_true", help="keep levels as objects (no packing), to compare"
    )
    args = parser.parse_args()
    from dns_race import DnsRace

    params = {k: int(v) for k, v in (p.split("=") for p in args.p)}
    if args.objects:
        PackedLevel.pack = False
    model = compile_spec(DnsRace(**params))
    options = CheckOptions(
        properties=(args.property,),
        engine="python",
        store=args.store,
        time_limit=args.time_limit,
    )
    baseline = resident_memory_bytes()
    started = time.perf_counter()
    last = [started]

    def progress(p: Progress) -> None:
        # A line on stderr every 30 s, so that a run stopped early still gives a rate.
        now = time.perf_counter()
        if now - last[0] >= 30:
            last[0] = now
            rss = resident_memory_bytes()
            print(
                f"progress states={p.states} depth={p.depth} seconds={p.seconds:.0f} "
                f"rss_mib={rss / 2**20:.0f} "
                f"bytes_per_state={(rss - baseline) / max(p.states, 1):.1f}",
                file=sys.stderr,
                flush=True,
            )

    result = check(model, options, progress)
    wall = time.perf_counter() - started
    st = result.statistics
    peak = peak_memory_bytes()
    print(
        f"store={args.store}{'/objects' if args.objects else ''} params={','.join(args.p)} "
        f"states={st.states} "
        f"transitions={st.transitions} depth={st.depth} complete={result.complete} "
        f"verdict={result.verdicts[0].status.value} seconds={st.seconds:.1f} wall={wall:.1f} "
        f"baseline_mib={baseline / 2**20:.1f} peak_mib={peak / 2**20:.1f} "
        f"bytes_per_state={(peak - baseline) / max(st.states, 1):.1f} "
        f"collision={st.collision_probability} python={platform.python_version()}"
    )


if __name__ == "__main__":
    main()
