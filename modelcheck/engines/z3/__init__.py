"""The symbolic engine: bounded model checking and k-induction with z3.

The only package that imports z3: z3's types stay inside it.  It consumes a
:class:`~modelcheck.model.Model` like every engine, and runs the spec's own
action and property code on symbolic values (see :mod:`modelcheck.symbolic`):

* every field leaf becomes a z3 term: ``Bool`` for booleans, a bit-vector of
  one width ``W`` for ints, bit masks and enum constants (an enum constant is
  a small code), with the declared ranges as constraints;
* a Python ``if`` (``and``, ``or``, ``max`` ...) on a symbolic condition
  splits the run: the action is re-run once per feasible path, each path
  recording its conditions; an infeasible branch (checked with a solver
  under the declared ranges) is never taken;
* a map field (``MapOf``) is a "has a value" bool and the value's leaves per
  declared key, a bag (``BagOf``) a count per declared element; while the
  spec runs they are the symbolic maps and bags of
  :mod:`modelcheck.engines.z3.containers`;
* an action instance becomes ``OR(path condition AND next = result)``, with
  ``act = index`` naming it, so a model of the formula says which action
  each step took.

Counterexamples are decoded into real states and re-executed by the spec's
concrete code, so every trace this module returns replays in the explicit
engine, and a disagreement between the two semantics is reported instead of
being hidden.

Ints are ``W``-bit two's complement, ``W`` four bits wider than the declared
bounds need, while Python's ints never wrap.  So every operation that can
compute a different value in ``W`` bits (``+``, ``-``, unary ``-``, ``*``,
``<<``, and a shift by a negative count, which Python rejects) records when
it does, on its path, if that can happen in some state of the declared
types; the bitwise operators and comparisons are exact.  ``bmc`` reports a
reachable one as a spec error with the run that leads there (exit 2);
``prove`` proves "no action's operation wraps" and "the declared types
hold" by induction together with the properties (a property's own
evaluation is part of its step) and, when it cannot, proves nothing and
names the operation and its line.  The guarantee: a verdict of ``holds`` or
``proved`` is one about the spec's Python semantics; the cost is that a
spec whose values can pass the width (or an unreachable state the lemmas
do not rule out that would) gets no answer until its bounds are widened.
Operations are checked where Python evaluates them: both arms of an

The package, by concept (each module imports only those above it):

* :mod:`~modelcheck.engines.z3.terms`: symbolic values as z3 terms;
* :mod:`~modelcheck.engines.z3.paths`: splitting a run into feasible paths;
* :mod:`~modelcheck.engines.z3.containers`: symbolic maps and bags;
* :mod:`~modelcheck.engines.z3.encoding`: a model as formulas, and at a step;
* :mod:`~modelcheck.engines.z3.results`: traces, verdicts, z3's answers;
* :mod:`~modelcheck.engines.z3.bounded`: :func:`bmc`;
* :mod:`~modelcheck.engines.z3.induction`: :func:`prove`;
* :mod:`~modelcheck.engines.z3.extract`: a model's paths as the z3-free
  :class:`~modelcheck.symbolic.program.Program` the compiled engine runs.
"""

from __future__ import annotations

try:
    import z3  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    from modelcheck.errors import ModelcheckError

    # z3-solver is a default dependency, so this is a broken or partial install.
    raise ModelcheckError(
        f"the symbolic engine needs z3, which modelcheck installs but this Python cannot "
        f"import ({exc}); reinstall it with: pip install z3-solver"
    ) from exc

from modelcheck.engines.z3.bounded import bmc
from modelcheck.engines.z3.encoding import DECLARED_TYPES, Encoding, encode
from modelcheck.engines.z3.induction import prove
from modelcheck.engines.z3.results import CROSS_CHECK_STATES
from modelcheck.engines.z3.terms import Sym

__all__ = ["CROSS_CHECK_STATES", "DECLARED_TYPES", "Encoding", "Sym", "bmc", "encode", "prove"]
