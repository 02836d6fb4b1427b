# ruff: noqa: RUF005 - tuple concatenation is the fast way to update a position here
"""A hand-specialised BFS of dns-race, written for the benchmark only.

Same semantics as ``specs/dns_race.py`` (and so the same state counts), but
no engine: states are plain tuples, the plan store is an int bit mask, the
per-Enactor dispatch on ``pc`` is inlined, and the invariant is evaluated on
every state until it first fails (the generic engine does the same: a
property's verdict is settled by its first, shortest, violation).  It records
parents so that it, too, can report the length of the shortest
counterexample.
"""

from __future__ import annotations

IDLE, APPLYING, CLEANING = 0, 1, 2


def explore(
    E: int, M: int, G: int, K: int, check_at_apply: bool = False, protect_active: bool = False
) -> dict[str, int]:
    init = (1, 1 << 1, 1, (1,) * M, (IDLE,) * E, (0,) * E, (0,) * E)
    parent: dict[tuple, tuple | None] = {init: None}
    queue = [init]
    transitions = 0
    violation = None
    for s in queue:  # the list grows while we walk it: a FIFO queue
        latest, store, applied, dns, pc, plan, nx = s
        if violation is None and (
            not (store >> applied) & 1 or any(not (store >> d) & 1 for d in dns)
        ):
            violation = s
        succ = []
        if latest < G:
            succ.append((latest + 1, store | (1 << (latest + 1)), applied, dns, pc, plan, nx))
        for e in range(E):
            p = pc[e]
            if p == IDLE:
                if (store >> applied) & 1 and latest > applied:
                    succ.append(
                        (
                            latest,
                            store,
                            applied,
                            dns,
                            pc[:e] + (APPLYING,) + pc[e + 1 :],
                            plan[:e] + (latest,) + plan[e + 1 :],
                            nx[:e] + (0,) + nx[e + 1 :],
                        )
                    )
            elif p == APPLYING:
                m = nx[e]
                if m < M:
                    mine = plan[e]
                    new_dns = (
                        dns[:m] + (mine,) + dns[m + 1 :]
                        if (not check_at_apply or mine > dns[m])
                        else dns
                    )
                    succ.append(
                        (latest, store, applied, new_dns, pc, plan, nx[:e] + (m + 1,) + nx[e + 1 :])
                    )
                else:
                    new_applied = max(applied, plan[e]) if check_at_apply else plan[e]
                    succ.append(
                        (
                            latest,
                            store,
                            new_applied,
                            dns,
                            pc[:e] + (CLEANING,) + pc[e + 1 :],
                            plan,
                            nx,
                        )
                    )
            else:
                limit = plan[e] - K
                new_store = store
                for q in range(1, min(limit, G + 1)):
                    if (store >> q) & 1 and not (protect_active and (q == applied or q in dns)):
                        new_store &= ~(1 << q)
                succ.append(
                    (
                        latest,
                        new_store,
                        applied,
                        dns,
                        pc[:e] + (IDLE,) + pc[e + 1 :],
                        plan[:e] + (0,) + plan[e + 1 :],
                        nx[:e] + (0,) + nx[e + 1 :],
                    )
                )
        transitions += len(succ)
        for t in succ:
            if t not in parent:
                parent[t] = s
                queue.append(t)
    length = -1
    if violation is not None:
        length = 0
        node = parent[violation]
        while node is not None:
            length += 1
            node = parent[node]
    return {"states": len(parent), "transitions": transitions, "counterexample": length}
