"""The z3 engine's former import path, kept because the README documented it.

``from modelcheck.integrations.z3 import bmc, prove`` was the documented way
to run the symbolic engine before it became the package
:mod:`modelcheck.engines.z3`; this module only re-exports that package's
public names so that code written against the old path keeps working.
New code should import from :mod:`modelcheck.engines.z3`.
"""

from __future__ import annotations

from modelcheck.engines.z3 import (
    CROSS_CHECK_STATES,
    DECLARED_TYPES,
    Encoding,
    Sym,
    bmc,
    encode,
    prove,
)

__all__ = ["CROSS_CHECK_STATES", "DECLARED_TYPES", "Encoding", "Sym", "bmc", "encode", "prove"]
