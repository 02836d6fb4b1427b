"""Benchmark: the cluster search (``check --ray``) against the one-process compiled engine.

    python benchmarks/bench_cluster.py                      # E4M3G5, Ray with 1, 2, 4 shards
    python benchmarks/bench_cluster.py --config E3M3G5 --shards 1,2

What is compared.  Every run explores dns-race (``specs/dns_race.py``, no
fix) and checks the invariant ``active_plan_never_deleted`` over the whole
state space, each in a fresh Python process:

- ``one process``: the compiled engine, one worker (``engine="compiled"``);
- ``in-process N``: the cluster search with N shards as plain objects in one
  process (the same per-level algorithm as on Ray, no transport), which
  isolates what hash partitioning and key ordering cost;
- ``Ray N``: the cluster search on a local Ray instance started by the run,
  with N shard actors (``--ray --shards N``).

Every run must find the same states, transitions and depth (the script exits
1 otherwise).  Search seconds are ``statistics.seconds``: for the cluster
search, from the initial states to the last level, after the shards have
loaded their kernels; "wall" adds the kernel's load and, on Ray, starting
the local instance and its actors.  Memory per shard is
``statistics.peak_memory`` (the largest peak RSS of one shard process; for
the one-process and in-process runs, the process's peak).  The overhead per
state is (cluster search seconds - one-process search seconds) / states:
on N machines each shard's share of that cost is what would not shrink.

"Bytes moved" is what crosses between processes per level, counted from
the algorithm (not measured on the wire): each step sends the successor's
packed row (8 bytes a word) and 24 bytes of metadata (key, parent
reference, action and flags) from the shard that made it to the shard that
owns it (on one machine, a share of ``1/N`` of them stays on its own
shard: counted anyway), and each new state sends its 8-byte key to the
driver and gets its 8-byte number back.

On a 2-core machine more shards cannot be faster than one process: the
figures show the overhead, which is what decides how close N machines come
to N times one.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_spin import CONFIGS, PROPERTY, _output, measured  # noqa: E402

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {specs!r})
from dns_race import DnsRace
from modelcheck import compile_spec
from modelcheck.engines.bfs import CheckOptions, selected_properties
from modelcheck.engines.compiled import search as compiled
from modelcheck.engines.cluster import search as cluster
params, prop, mode, shards = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
options = CheckOptions(engine="compiled", properties=(prop,))
model = compile_spec(DnsRace(**params))
began = time.perf_counter()
if mode == "one":
    prepared = compiled.prepare(model, selected_properties(model, options.properties))
    result = compiled.check(model, options, None, prepared)
    words = prepared.layout.words
else:
    address = "local" if mode == "ray" else None
    result = cluster.check(model, options, None, shards=shards, address=address)
    words = compiled.prepare(model, selected_properties(model, options.properties),
                             compile_now=False).layout.words
wall = time.perf_counter() - began
st = result.statistics
print(json.dumps({{
    "states": st.states, "transitions": st.transitions, "depth": st.depth,
    "seconds": st.seconds, "wall": wall, "words": words,
    "complete": result.complete, "engine": result.engine, "note": result.engine_note,
    "shard_peak_bytes": st.peak_memory_bytes,
    "driver_peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
}}))
"""


def run(params: tuple[int, int, int], mode: str, shards: int) -> dict[str, Any]:
    """One search in a fresh Python process: ``mode`` is one, inprocess or ray."""
    enactors, endpoints, generations = params
    arguments = {"enactors": enactors, "endpoints": endpoints, "generations": generations}
    code = CHILD.format(specs=str(ROOT / "specs"))
    argv = [sys.executable, "-c", code, json.dumps(arguments), PROPERTY, mode, str(shards)]
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    text, status, rss = measured(argv, ROOT, env)
    if status != 0:
        raise SystemExit(f"the {mode} run failed (exit {status}):\n{text}")
    out = json.loads(text.strip().splitlines()[-1])
    if out["engine"] != "compiled" or not out["complete"]:
        raise SystemExit(f"the {mode} run did not finish the search itself: {out}")
    out["wait4_rss_bytes"] = rss
    return out


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="E4M3G5", choices=sorted(CONFIGS))
    parser.add_argument("--shards", default="1,2,4", help="comma-separated shard counts")
    parser.add_argument(
        "--no-in-process", action="store_true", help="skip the in-process cluster runs"
    )
    args = parser.parse_args()
    params = CONFIGS[args.config]
    counts = [int(s) for s in args.shards.split(",")]
    run(params, "one", 1)  # warms the kernel cache; untimed

    rows: list[tuple[str, dict[str, Any]]] = [("one process", run(params, "one", 1))]
    for n in counts:
        if not args.no_in_process:
            rows.append((f"in-process {n}", run(params, "inprocess", n)))
        rows.append((f"Ray {n}", run(params, "ray", n)))
    base = rows[0][1]
    for name, r in rows:
        if (r["states"], r["transitions"], r["depth"]) != (
            base["states"],
            base["transitions"],
            base["depth"],
        ):
            print(f"{name}: counts differ from the one-process engine's: {r}", file=sys.stderr)
            return 1

    states, transitions, words = base["states"], base["transitions"], base["words"]
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    import ray

    print(f"### dns-race {args.config} on a local Ray cluster ({now})")
    print()
    print(f"- machine: `{_output(['uname', '-a'])}`; CPU {cpu}, {os.cpu_count()} cores")
    print(f"- Python {platform.python_version()}, Ray {ray.__version__}")
    print(f"- command: `python benchmarks/bench_cluster.py --config {args.config}`")
    print(
        f"- {states:,} states, {transitions:,} transitions, depth {base['depth']}; "
        f"`{PROPERTY}` only; {words} word(s) of 8 bytes a state"
    )
    moved = transitions * (8 * words + 24) + states * 16
    print(
        f"- bytes moved between processes (counted, see the script): {moved / 2**20:,.0f} MiB "
        f"in all, {moved / states:.1f} per state ({8 * words + 24} per step, 16 per new state)"
    )
    print()
    print(
        "| run | search s | wall s | states/s | vs one process | overhead per state "
        "| peak per shard | driver peak |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, r in rows:
        overhead = (r["seconds"] - base["seconds"]) / states * 1e9
        print(
            f"| {name} | {r['seconds']:.2f} | {r['wall']:.2f} | {states / r['seconds']:,.0f} "
            f"| {base['seconds'] / r['seconds']:.2f}x | "
            + ("-" if name == "one process" else f"{overhead:,.0f} ns")
            + f" | {mib(r['shard_peak_bytes'])} | {mib(r['wait4_rss_bytes'])} |"
        )
    return 0


if __name__ == "__main__":
    started = time.perf_counter()
    status = main()
    print(f"\n(benchmark took {time.perf_counter() - started:.0f} s)", file=sys.stderr)
    raise SystemExit(status)
