"""Benchmark: the compiled engine against SPIN 6.5.2 on dns-race, side by side.

    python benchmarks/bench_spin.py                       # E2M2G4 E3M3G5 E3M3G6 E4M3G5
    python benchmarks/bench_spin.py --configs E3M3G5,E4M3G5 --repeat 5
    python benchmarks/bench_spin.py --print-model E3M3G5  # the Promela text only

What is compared.  Both tools explore every reachable state of dns-race
(``specs/dns_race.py``, ``shared/models/dns-race.md``) with the default
flags (no fix, ``keep=1``) and check one property, the invariant
``active_plan_never_deleted``.  It fails, but neither tool stops at the
first violation, so both search the whole state space; the state counts must
be equal, and the script exits 1 when they are not.

The SPIN side.  :func:`promela` writes the model in Promela with the
parameters substituted: the variables of the reference text as global bytes
(``store`` is a bit mask, ``pc`` is 0/1/2 for Idle/Applying/Cleaning, and
``next`` is called ``nxt``), initialised by their declarations, and one
``init`` process that is a single ``do`` loop with one ``d_step { guard ->
effect; assert(invariant) }`` alternative per action instance.  A d_step is
one transition and the process never leaves the loop's start, so a SPIN
state is exactly a model state: ``states, stored`` equals our count with no
offset.  The invariant is asserted after each step, which checks it in every
state but the initial one (where it holds); pan evaluates it once per
transition (about 3 to 4 times per state here), ours once per state.  pan's ``transitions (=
stored+matched)`` is one more than our transition count because it counts
the initial state as stored without a transition.  The translation is
``spin -o2 -a``: without ``-o2`` SPIN's dead-variable elimination leaves out
of the stored state a variable that nothing reads, and with no fix only the
assertion reads ``dns`` - drop the assertion and plain ``spin -a`` stores
199,646 states at E3M3G6 instead of 1,821,343.  With the assertion, ``-a``,
``-o1 -a``, ``-o2 -a`` and ``-o3 -a`` all store the reference counts;
``-o2`` keeps them right for any variant.  The terminal states are labelled
``end:`` so that pan does not report them as invalid end states.  Built
with ``spin -o2 -a``, then ``gcc -O2 -DNOREDUCE -DSAFETY -DMEMLIM=20000``,
run as ``./pan -mDEPTH -c0 -wN``: ``-c0`` keeps
searching past violations, ``DEPTH`` starts at 100000 and grows tenfold
while pan says "max search depth too small", and the hash table has
``2^N`` slots, the smallest power of two with our states at most 0.7 of it,
like our table's load (``--hash-bits 24`` gives pan's default).  Search
time is pan's own "pan: elapsed time" (printed to 0.01 s at best); the
compile time (``spin -o2 -a`` plus gcc) is reported apart.  Memory is pan's
"total actual memory usage" and the process's peak RSS.

Our side.  Each run is a fresh Python process that does what
``modelcheck.engines.selection.check`` does for ``engine="compiled"``:
``search.prepare`` (path extraction, code generation, loading the JIT
kernel) and then ``search.check``.  Search time is
``statistics.seconds``, compile time ``statistics.compile_seconds``.  The
kernel cache is ``MODELCHECK_CACHE_DIR`` (``/tmp/kc-bench`` unless set) and
one untimed run per configuration warms it first.  Bytes per state are
given two ways: "RSS growth" is the peak RSS after the search minus the
peak RSS once the kernel was ready (Python, numba, z3 and the kernel
loaded), divided by the states; "arrays" is what the engine's own arrays
need per state, ``8 * words`` for the state row and ``4 / 0.7`` for the
visited table at its maximum load (the table doubles, so it is up to twice
that; no parent is stored, traces rebuild it).  For small configurations the
RSS growth per state is the table's fixed start spread over few states, not
a cost per state.  "total" adds each side's compile time to its search time
(ours with the kernel cached; a cold JIT adds about 5 s).

Peak RSS of each child (pan or Python) comes from ``os.wait4`` on that
child alone.  Times are the best of ``--repeat`` runs (default 3, and 1 for
E4M3G5), memory the smallest.  Run it on an otherwise idle machine: one
process at a time is measured.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: Configuration name -> (enactors, endpoints, generations).
CONFIGS: dict[str, tuple[int, int, int]] = {
    "E2M2G4": (2, 2, 4),
    "E3M3G5": (3, 3, 5),
    "E3M3G6": (3, 3, 6),
    "E4M3G5": (4, 3, 5),
}
#: Configurations whose default ``--repeat`` is 1 (a minute of SPIN each).
LARGE = frozenset({"E4M3G5"})
PROPERTY = "active_plan_never_deleted"
#: The translation (``-o2``: keep variables only an assertion reads; see above).
SPIN = ("spin", "-o2", "-a")
GCC_FLAGS = ("-O2", "-DNOREDUCE", "-DSAFETY", "-DMEMLIM=20000")
FIRST_DEPTH = 100_000
#: The load of our visited table when it grows (``compiled.search.LOAD``).
LOAD = 0.7


def promela(
    enactors: int,
    endpoints: int,
    generations: int,
    keep: int = 1,
    check_at_apply: bool = False,
    protect_active: bool = False,
) -> str:
    """dns-race in Promela: one ``do`` loop, one ``d_step`` per action instance."""
    invariant = " && ".join(
        ["((store >> applied) & 1)"] + [f"((store >> dns[{m}]) & 1)" for m in range(endpoints)]
    )
    alternatives = []

    def step(guard: str, effect: str) -> None:
        alternatives.append(f"  :: d_step {{ {guard} -> {effect}; assert({invariant}) }}")

    step(
        f"latest < {generations}",
        "store = store | (1 << (latest + 1)); latest = latest + 1",
    )
    for e in range(enactors):
        step(
            f"pc[{e}] == IDLE && ((store >> applied) & 1) && latest > applied",
            f"plan[{e}] = latest; nxt[{e}] = 0; pc[{e}] = APPLYING",
        )
        for m in range(endpoints):
            write = f"dns[{m}] = plan[{e}]"
            if check_at_apply:
                write = f"if :: plan[{e}] > dns[{m}] -> {write} :: else -> skip fi"
            step(f"pc[{e}] == APPLYING && nxt[{e}] == {m}", f"{write}; nxt[{e}] = {m + 1}")
        record = f"applied = plan[{e}]"
        if check_at_apply:  # applied := max(applied, plan[e])
            record = f"if :: plan[{e}] > applied -> {record} :: else -> skip fi"
        step(f"pc[{e}] == APPLYING && nxt[{e}] == {endpoints}", f"{record}; pc[{e}] = CLEANING")
        # every stored p < plan[e] - keep: the bits below 1 << (plan[e] - keep)
        doomed = f"(store & (plan[{e}] > {keep} -> (1 << (plan[{e}] - {keep})) - 1 : 0))"
        if protect_active:
            in_use = " | ".join(["(1 << applied)"] + [f"(1 << dns[{m}])" for m in range(endpoints)])
            doomed = f"({doomed} & ~({in_use}))"
        step(
            f"pc[{e}] == CLEANING",
            f"store = store & ~{doomed}; pc[{e}] = IDLE; plan[{e}] = 0; nxt[{e}] = 0",
        )
    flags = f"keep={keep} check_at_apply={check_at_apply} protect_active={protect_active}"
    lines = [
        f"/* dns-race, E={enactors} M={endpoints} G={generations} {flags}",
        "   (shared/models/dns-race.md); written by benchmarks/bench_spin.py */",
        "#define IDLE 0",
        "#define APPLYING 1",
        "#define CLEANING 2",
        "byte latest = 1;",
        "byte store = 2;  /* bit p set: plan p is stored */",
        "byte applied = 1;",
        f"byte dns[{endpoints}] = 1;",
        f"byte pc[{enactors}];",
        f"byte plan[{enactors}];",
        f"byte nxt[{enactors}];",
        "init {",
        "end:",
        "  do",
        *alternatives,
        "  od",
        "}",
        "",
    ]
    return "\n".join(lines)


def measured(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[str, int, int]:
    """Run ``argv``; its stdout and stderr, exit status and peak RSS in bytes (``os.wait4``)."""
    with tempfile.TemporaryFile("w+") as out:
        child = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return out.read(), child.returncode, usage.ru_maxrss * 1024


def _number(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    if found is None:
        raise SystemExit(f"pan's output has no line matching {pattern!r}:\n{text}")
    return float(found.group(1))


def spin_build(name: str, params: tuple[int, int, int], work: Path) -> float:
    """Write, translate and compile the model into ``work/<name>/pan``; the seconds it took."""
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dns_race.pml").write_text(promela(*params))
    started = time.perf_counter()
    for argv in ([*SPIN, "dns_race.pml"], ["gcc", *GCC_FLAGS, "-o", "pan", "pan.c"]):
        done = subprocess.run(argv, cwd=folder, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{shlex.join(argv)} failed in {folder}:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - started


def spin_run(name: str, work: Path, hash_bits: int) -> dict[str, Any]:
    """Run pan once, exhaustively (the depth bound grows until it is enough)."""
    depth = FIRST_DEPTH
    while True:
        argv = ["./pan", f"-m{depth}", "-c0", f"-w{hash_bits}"]
        text, _, rss = measured(argv, work / name)
        if "max search depth too small" not in text:
            break
        depth *= 10
    if "Full statespace search" not in text or "out of memory" in text:
        raise SystemExit(f"pan did not finish a full search:\n{text}")
    return {
        "states": int(_number(r"(\d+) states, stored", text)),
        "transitions": int(_number(r"(\d+) transitions \(= stored\+matched\)", text)),
        "depth": int(_number(r"depth reached (\d+)", text)),
        "errors": int(_number(r"errors: (\d+)", text)),
        "seconds": _number(r"pan: elapsed time ([\d.e+-]+) seconds", text),
        "pan_mb": _number(r"([\d.]+)\s+total actual memory usage", text),
        "peak_rss_bytes": rss,
        "command": shlex.join(argv),
    }


CHILD = r"""
import json, resource, sys
sys.path.insert(0, {specs!r})
from dns_race import DnsRace
from modelcheck import compile_spec
from modelcheck.engines.bfs import CheckOptions, selected_properties
from modelcheck.engines.compiled import search
params, prop, workers = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
options = CheckOptions(engine="compiled", properties=(prop,), workers=workers)
model = compile_spec(DnsRace(**params))
prepared = search.prepare(model, selected_properties(model, options.properties))
ready = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
result = search.check(model, options, None, prepared)
st = result.statistics
print(json.dumps({{
    "states": st.states, "transitions": st.transitions, "depth": st.depth,
    "seconds": st.seconds, "compile_seconds": st.compile_seconds,
    "complete": result.complete, "engine": result.engine, "words": prepared.layout.words,
    "verdict": result.verdicts[0].status.name, "ready_rss_bytes": ready,
    "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
}}))
"""


def ours_run(params: tuple[int, int, int], workers: int = 1) -> dict[str, Any]:
    """One search by the compiled engine (on ``workers`` threads) in a fresh Python process."""
    enactors, endpoints, generations = params
    arguments = {"enactors": enactors, "endpoints": endpoints, "generations": generations}
    code = CHILD.format(specs=str(ROOT / "specs"))
    argv = [sys.executable, "-c", code, json.dumps(arguments), PROPERTY, str(workers)]
    text, status, rss = measured(argv, ROOT, dict(os.environ))
    if status != 0:
        raise SystemExit(f"the compiled engine's run failed (exit {status}):\n{text}")
    out = json.loads(text.strip().splitlines()[-1])
    if out["engine"] != "compiled" or not out["complete"]:
        raise SystemExit(f"the compiled engine did not finish the search itself: {out}")
    out["wait4_rss_bytes"] = rss
    return out


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest run, with the smallest of each memory figure."""
    fastest = dict(min(runs, key=lambda r: r["seconds"]))
    for key in ("peak_rss_bytes", "ready_rss_bytes", "pan_mb"):
        if key in fastest:
            fastest[key] = min(r[key] for r in runs)
    return fastest


def _output(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True)
    except OSError as exc:
        return f"unavailable ({exc})"
    return (done.stdout or done.stderr).strip().splitlines()[0]


def header(command: str, repeat: dict[str, int]) -> list[str]:
    """The Markdown lines that say when, where and with what the figures were taken."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import numba

        numba_version = numba.__version__
    except ImportError:
        numba_version = "not installed"
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    runs = ", ".join(f"{name} best of {n}" for name, n in repeat.items())
    return [
        f"# dns-race: modelcheck compiled engine vs SPIN ({now})",
        "",
        f"- machine: `{_output(['uname', '-a'])}`; CPU {cpu}, {os.cpu_count()} cores",
        f"- {_output(['spin', '-V'])}; {_output(['gcc', '--version'])}; numba {numba_version};"
        f" Python {platform.python_version()}",
        f"- command: `{command}`",
        f"- property `{PROPERTY}` only, defaults otherwise (keep=1, no fix); {runs}",
        f"- SPIN: `{' '.join(SPIN)}`, `gcc {' '.join(GCC_FLAGS)}`, `./pan -m<depth> -c0 -w<bits>`",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs",
        default=",".join(CONFIGS),
        help=f"comma-separated, from {', '.join(CONFIGS)} (default: all)",
    )
    parser.add_argument(
        "--repeat", type=int, help="runs per side, best taken (default 3; 1 for E4M3G5)"
    )
    parser.add_argument(
        "--hash-bits",
        type=int,
        help="pan's -w (default: the smallest with our states at most 0.7 of 2^N slots)",
    )
    parser.add_argument("--work-dir", type=Path, help="keep the Promela and pan here")
    parser.add_argument(
        "--workers",
        default="1,2",
        help="comma-separated worker counts for the compiled engine (default 1,2); "
        "SPIN is compared with the first",
    )
    parser.add_argument(
        "--print-model", metavar="CONFIG", help="print the Promela text for CONFIG and exit"
    )
    args = parser.parse_args()
    if args.print_model is not None:
        if args.print_model not in CONFIGS:
            parser.error(f"unknown configuration {args.print_model!r}; use one of {list(CONFIGS)}")
        sys.stdout.write(promela(*CONFIGS[args.print_model]))
        return 0
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown or not names:
        parser.error(
            f"unknown configuration(s) {', '.join(unknown) or '(none given)'}; "
            f"use a comma-separated list of {', '.join(CONFIGS)}"
        )
    try:
        counts = [int(w) for w in args.workers.split(",") if w.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        parser.error(
            f"--workers must be a comma-separated list of positive integers, not {args.workers!r}"
        )
    if args.repeat is not None and args.repeat < 1:
        parser.error(f"--repeat must be at least 1, not {args.repeat}")
    if args.hash_bits is not None and not 10 <= args.hash_bits <= 34:
        parser.error(f"--hash-bits must be between 10 and 34, not {args.hash_bits}")
    missing = [tool for tool in ("spin", "gcc") if not _on_path(tool)]
    if missing:
        print(f"error: {' and '.join(missing)} not found on PATH; install them", file=sys.stderr)
        return 2
    os.environ.setdefault("MODELCHECK_CACHE_DIR", "/tmp/kc-bench")
    repeat = {n: args.repeat or (1 if n in LARGE else 3) for n in names}
    command = shlex.join(["python", "benchmarks/bench_spin.py", *sys.argv[1:]])

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-spin-") as scratch:
        work = args.work_dir or Path(scratch)
        for name in names:
            params = CONFIGS[name]
            print(f"{name}: warming the kernel cache", file=sys.stderr, flush=True)
            ours_run(params)
            by_workers = {}
            for _ in range(repeat[name]):  # alternate the worker counts: the machine drifts
                for w in counts:
                    by_workers.setdefault(w, []).append(ours_run(params, w))
            by_workers = {w: best(runs) for w, runs in by_workers.items()}
            ours = by_workers[counts[0]]
            bits = args.hash_bits or max(10, math.ceil(math.log2(ours["states"] / LOAD)))
            print(f"{name}: SPIN (-w{bits})", file=sys.stderr, flush=True)
            build_seconds = spin_build(name, params, work)
            spin = best([spin_run(name, work, bits) for _ in range(repeat[name])])
            spin["build_seconds"] = build_seconds
            if spin["states"] != ours["states"]:
                where = (
                    f"the model is {work / name / 'dns_race.pml'}"
                    if args.work_dir
                    else "rerun with --work-dir DIR to keep the model"
                )
                print(
                    f"error: {name}: SPIN stored {spin['states']:,} states but the compiled "
                    f"engine found {ours['states']:,}, so the Promela model and the spec "
                    f"differ; {where}",
                    file=sys.stderr,
                )
                return 1
            rows.append((name, params, ours, spin, by_workers))

    print("\n".join(header(command, repeat)))
    print()
    print(
        "| configuration | states (ours / SPIN) | SPIN search s | ours search s "
        "| ratio ours/SPIN time | SPIN MB (pan total / peak RSS) | ours MB (peak RSS) "
        "| bytes/state ours (RSS growth / arrays) | compile s (SPIN / ours) "
        "| total s (SPIN / ours) | ratio of totals |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, params, ours, spin, _ in rows:
        if spin["seconds"] > 0:
            spin_seconds = f"{spin['seconds']:.2f}"
            ratio = f"{ours['seconds'] / spin['seconds']:.2f}"
        else:  # pan prints whole hundredths at best
            spin_seconds, ratio = "<0.01", "n/a"
        growth = max(ours["peak_rss_bytes"] - ours["ready_rss_bytes"], 0) / ours["states"]
        arrays = 8 * ours["words"] + 4 / LOAD
        spin_total = spin["seconds"] + spin["build_seconds"]
        ours_total = ours["seconds"] + ours["compile_seconds"]
        print(
            f"| {name} (E={params[0]} M={params[1]} G={params[2]}) "
            f"| {ours['states']:,} / {spin['states']:,} "
            f"| {spin_seconds} | {ours['seconds']:.3f} | {ratio} "
            f"| {spin['pan_mb']:,.0f} / {spin['peak_rss_bytes'] / 2**20:,.0f} "
            f"| {ours['peak_rss_bytes'] / 2**20:,.0f} "
            f"| {growth:.1f} / {arrays:.1f} "
            f"| {spin['build_seconds']:.2f} / {ours['compile_seconds']:.2f} "
            f"| {spin_total:.2f} / {ours_total:.2f} | {ours_total / spin_total:.2f} |"
        )
    print()
    for name, _, ours, spin, _ in rows:
        print(
            f"- {name}: pan `{spin['command']}`: depth reached {spin['depth']}, "
            f"{spin['errors']:,} assertion violations counted, "
            f"{spin['transitions']:,} transitions (ours {ours['transitions']:,}: pan counts "
            f"the initial state too); ours: {ours['words']} word(s) per state, BFS depth "
            f"{ours['depth']}, verdict {ours['verdict']}, "
            f"{ours['ready_rss_bytes'] / 2**20:,.0f} MB peak RSS before the search"
        )
    if len(counts) > 1:
        print()
        print(f"Workers (`--workers`; the table above is {counts[0]} worker(s)):")
        print()
        print(f"| configuration | workers | search s | states/s | speed-up vs {counts[0]} |")
        print("|---|---|---|---|---|")
        for name, _, _, _, by_workers in rows:
            base = by_workers[counts[0]]["seconds"]
            for w in counts:
                run = by_workers[w]
                print(
                    f"| {name} | {w} | {run['seconds']:.3f} "
                    f"| {run['states'] / run['seconds']:,.0f} | {base / run['seconds']:.2f} |"
                )
    return 0


def _on_path(tool: str) -> bool:
    return any(
        os.access(os.path.join(folder, tool), os.X_OK)
        for folder in os.environ.get("PATH", "").split(os.pathsep)
        if folder
    )


if __name__ == "__main__":
    raise SystemExit(main())
