"""Where the generic engine's time goes on dns-race E=3 M=3 G=5.

    python benchmarks/breakdown_dns_race.py

Times the whole check, then replays its work piece by piece over the same
states: calling every action instance on every state (the spec's own code),
the invariant, and visited-set lookups of the successors.  cProfile distorts
a loop this tight, so each piece is timed on its own.
"""

from __future__ import annotations

import gc
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "specs"))

from dns_race import DnsRace

from modelcheck.engines import bfs
from modelcheck.model import compile_spec


def main() -> None:
    model = compile_spec(DnsRace(enactors=3, endpoints=3, generations=5))
    options = bfs.CheckOptions(properties=("active_plan_never_deleted",))
    started = time.perf_counter()
    bfs.check(model, options)
    total = time.perf_counter() - started

    # The engine pauses the cyclic GC during its search; so do the replays,
    # or collections over the half-million live states would be timed too.
    gc.disable()
    states = [model.initial_states[0]]
    seen = set(states)
    successors = []
    for s in states:
        for act in model.actions:
            t = act.call(s)
            if t is not None:
                successors.append(t)
                if t not in seen:
                    seen.add(t)
                    states.append(t)

    per_family: dict[str, float] = defaultdict(float)
    for act in model.actions:
        fn, arg = act.fast
        started = time.perf_counter()
        for s in states:
            fn(s, arg)
        per_family[act.family] += time.perf_counter() - started

    invariant = model.property("active_plan_never_deleted").check
    started = time.perf_counter()
    for s in states:
        invariant(s)
    invariant_time = time.perf_counter() - started

    lookup = dict.fromkeys(states)
    started = time.perf_counter()
    for t in successors:
        _ = t in lookup
    lookup_time = time.perf_counter() - started

    print(f"states={len(states)} transitions={len(successors)}")
    print(f"whole check                      {total:6.2f} s")
    print(f"actions on every state           {sum(per_family.values()):6.2f} s")
    for family, seconds in per_family.items():
        print(f"  {family:<30} {seconds:6.2f} s")
    print(f"invariant on every state         {invariant_time:6.2f} s")
    print(f"visited-set lookups              {lookup_time:6.2f} s")


if __name__ == "__main__":
    main()
