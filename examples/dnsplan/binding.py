"""How ``specs/dns_race.py`` maps onto the SQLite implementation, for model-based tests.

from dnsplan.binding import dnsplan_binding
explore(dnsplan_binding("fixed"), depth=8)
"""

from __future__ import annotations

import sys
from pathlib import Path

from dnsplan.system import DnsPlanSystem
from modelcheck.integrations.mbt import Binding
from modelcheck.state import state_fields

_SPECS = Path(__file__).resolve().parents[2] / "specs"
if str(_SPECS) not in sys.path:
    sys.path.append(str(_SPECS))

from dns_race import DnsRace  # noqa: E402  (the spec library is not a package)

#: The spec that describes each mode: the incident has neither fix, the fixed
#: mode has both (compare-and-set writes and clean-up sparing plans in use).
SPEC_FLAGS = {
    "incident": {"check_at_apply": False, "protect_active": False},
    "fixed": {"check_at_apply": True, "protect_active": True},
}


def dnsplan_binding(
    mode: str, *, enactors: int = 2, endpoints: int = 2, generations: int = 4, keep: int = 1
) -> Binding:
    """A :class:`Binding` of the DnsRace spec to a fresh :class:`DnsPlanSystem` per run."""
    spec = DnsRace(
        enactors=enactors,
        endpoints=endpoints,
        generations=generations,
        keep=keep,
        **SPEC_FLAGS[mode],
    )
    return Binding(
        spec=spec,
        start=lambda: DnsPlanSystem(enactors=enactors, endpoints=endpoints, keep=keep, mode=mode),
        actions={
            "plan": lambda system: system.planner.create_plan(),
            "pickup": lambda system, e: system.enactors[e].pick_up(),
            "apply": lambda system, e: system.enactors[e].write_endpoint(),
            "finish": lambda system, e: system.enactors[e].finish(),
            "cleanup": lambda system, e: system.enactors[e].clean_up(),
            # An operator's action, never enabled here (the spec's operator=False).
            "restore": lambda system: None,
        },
        # Compare as people read states (the spec may keep the plan store as a bit
        # mask; the database has rows): both sides become {field: value} dicts.
        observe=lambda system: system.snapshot(),
        abstract=state_fields,
        stop=lambda system: system.close(),
    )
