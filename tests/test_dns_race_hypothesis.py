"""dns-race as a Hypothesis stateful test: the few lines a user writes.

The fixed spec passes.  The incident spec fails - Hypothesis finds the race,
shrinks it, and modelcheck reports a proven-shortest trace with a JSON file
for ``modelcheck replay``; run ``pytest --runxfail`` to see that report.
"""

import pytest
from dns_race import DnsRace
from hypothesis import settings

from modelcheck.errors import PropertyViolation
from modelcheck.integrations import hypothesis as modelcheck_hypothesis

FAST = settings(max_examples=50, stateful_step_count=15, derandomize=True, database=None)

TestFixedDnsRace = modelcheck_hypothesis.as_test_case(DnsRace(check_at_apply=True), settings=FAST)
TestIncidentDnsRace = pytest.mark.xfail(raises=PropertyViolation, strict=True)(
    modelcheck_hypothesis.as_test_case(DnsRace(), settings=FAST)
)
