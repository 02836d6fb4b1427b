"""modelcheck: an exhaustive model checker for plan-application protocols.

Write a protocol as a :class:`Spec` with :class:`State` records, actions and
properties; :func:`check` explores every interleaving breadth-first and
returns a :class:`CheckResult` with a shortest counterexample per violated
property.
"""

# First: from here, Ctrl-C while the command line imports exits 3, no traceback.
import modelcheck._startup  # noqa: F401
from modelcheck._version import __version__ as __version__  # not in __all__, as before
from modelcheck.api import assert_holds, check
from modelcheck.containers import Bag, FrozenMap
from modelcheck.engines.bfs import CheckOptions, Progress
from modelcheck.errors import (
    ModelcheckError,
    ParameterError,
    PropertyViolation,
    SpecError,
    SpecLoadError,
    SpecRuntimeError,
    TraceFormatError,
)
from modelcheck.model import ActionInstance, Model, PropertyDef, compile_spec
from modelcheck.result import CheckResult, ExitCode, Statistics, Status, Verdict
from modelcheck.spec import (
    Choice,
    Spec,
    Symmetry,
    action,
    action_property,
    always_eventually,
    constraint,
    eventually,
    eventually_always,
    invariant,
    leads_to,
    reachable,
    recoverable,
    terminal,
)
from modelcheck.state import BitSet, State
from modelcheck.trace import Step, Trace, load_trace, save_trace
from modelcheck.trace_replay import ReplayResult, replay

__all__ = [
    "ActionInstance",
    "Bag",
    "BitSet",
    "CheckOptions",
    "CheckResult",
    "Choice",
    "ExitCode",
    "FrozenMap",
    "Model",
    "ModelcheckError",
    "ParameterError",
    "Progress",
    "PropertyDef",
    "PropertyViolation",
    "ReplayResult",
    "Spec",
    "SpecError",
    "SpecLoadError",
    "SpecRuntimeError",
    "State",
    "Statistics",
    "Status",
    "Step",
    "Symmetry",
    "Trace",
    "TraceFormatError",
    "Verdict",
    "action",
    "action_property",
    "always_eventually",
    "assert_holds",
    "check",
    "compile_spec",
    "constraint",
    "eventually",
    "eventually_always",
    "invariant",
    "leads_to",
    "load_trace",
    "reachable",
    "recoverable",
    "replay",
    "save_trace",
    "terminal",
]
