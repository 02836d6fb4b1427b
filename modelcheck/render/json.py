"""JSON rendering of check results (traces use the format in :mod:`modelcheck.trace`)."""

from __future__ import annotations

from typing import Any

from modelcheck.result import CheckResult
from modelcheck.trace import SCHEMA_VERSION, encode_value, trace_to_json


def result_to_json(result: CheckResult) -> dict[str, Any]:
    """The whole result as a JSON-ready dict."""
    st = result.statistics
    return {
        "format": "modelcheck-result",
        "schema_version": SCHEMA_VERSION,
        "spec": {
            "name": result.spec,
            "parameters": {k: encode_value(v) for k, v in result.parameters.items()},
        },
        "engine": result.engine,
        "engine_note": result.engine_note,
        # The symmetry the counts are reduced by (statistics.states then counts
        # orbits, one representative each), or null for an unreduced search.
        "symmetry": result.symmetry or None,
        # "exact", or "fingerprints": states told apart by 64-bit fingerprints, so not
        # an exact search (statistics.collision_probability says how likely a miss is).
        "store": result.store,
        "outcome": {0: "holds", 1: "violated", 3: "incomplete"}[int(result.exit_code)],
        "exit_code": int(result.exit_code),
        "complete": result.complete,
        "stopped_by": result.stopped_by,
        "statistics": {
            "states": st.states,
            "transitions": st.transitions,
            "depth": st.depth,
            "seconds": round(st.seconds, 6),
            # Before the search: the compiled engine's extraction, generation and JIT.
            "compile_seconds": round(st.compile_seconds, 6),
            "workers": st.workers,
            "shards": st.shards,
            "states_per_second": round(st.states_per_second, 1),
            "peak_memory_bytes": st.peak_memory_bytes,
            # Distinct states failing a @constraint (not counted in "states").
            "constrained": st.constrained,
            # The fingerprint store's estimate that a collision hid a state (null: exact).
            "collision_probability": st.collision_probability,
        },
        "verdicts": [
            {
                "property": v.property,
                "kind": v.kind,
                "status": v.status.value,
                "reason": v.reason,
                "counterexample": None
                if v.counterexample is None
                else trace_to_json(v.counterexample),
                # A shortest run to a state satisfying a reachable property.
                "witness": None if v.witness is None else trace_to_json(v.witness),
            }
            for v in result.verdicts
        ],
        # Present only when the check warned (vacuous leads_to, fairness never enabled, ...).
        **({"warnings": list(result.warnings)} if result.warnings else {}),
        # Present only when coverage was counted (``check --coverage``).
        **(
            {
                "coverage": [
                    {
                        "action": c.label,
                        "family": c.family,
                        "enabled": c.enabled,
                        "fired": c.fired,
                        # The values chosen per state (or Choice labels), when any.
                        **(
                            {"values": [{k: encode_value(v) for k, v in a} for a in c.values]}
                            if c.values
                            else {}
                        ),
                    }
                    for c in result.coverage
                ]
            }
            if result.coverage
            else {}
        ),
    }
