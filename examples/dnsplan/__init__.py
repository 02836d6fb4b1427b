"""dnsplan: a small Planner/Enactor library that keeps plans and DNS records in SQLite.

A real implementation of the protocol that ``specs/dns_race.py`` models, used
to show model-based testing (``examples/dnsplan/binding.py``).  Two modes:

- ``"incident"``: the logic of the October 2025 incident - staleness is
  checked once, at pick-up; each endpoint write overwrites the record; the
  active plan is overwritten on finish; clean-up deletes plans by age.
- ``"fixed"``: each endpoint write (and the active-plan update) is a
  conditional ``UPDATE`` that only moves the generation forward, inside a
  transaction; clean-up spares plans that a record or the active plan uses.
"""

from dnsplan.system import MODES, DnsPlanSystem, Enactor, Planner

__all__ = ["MODES", "DnsPlanSystem", "Enactor", "Planner"]
