"""Splitting a run into paths: a function of the spec, run once per feasible path.

Every condition a run decides on symbolic values is checked with a solver
under the declared ranges: a branch no state of the declared types takes
is never run, and a split whose two sides are feasible is run both ways.
Each path keeps its decisions (the compiled engine rebuilds the decision
tree from them) and the operations on it that may not compute Python's
value.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import z3

from modelcheck.engines.z3.terms import _ctx, _here, _Infeasible, _user_frame_text, _Wrap
from modelcheck.errors import SpecError
from modelcheck.symbolic import SubsetError, guard

#: More paths than this through one action or property is reported, not explored.
MAX_PATHS = 4096


class _Paths:
    """Runs a function once per feasible path through its symbolic conditions."""

    def __init__(self, assumptions: Any) -> None:
        self.solver = z3.Solver()
        self.solver.add(assumptions)
        self.prefix: list[tuple[bool, bool]] = []  # (taken, other branch still to run)
        self.pos = 0
        self.conds: list[Any] = []
        #: Per path returned by :meth:`run`, its decisions: ``(condition, taken)``
        #: in the order the run made them (the compiled engine rebuilds the
        #: decision tree from them).
        self.decisions: list[list[tuple[Any, bool]]] = []
        self.taken: list[tuple[Any, bool]] = []
        self.lines: dict[str, int] = {}
        self.wraps: dict[tuple[str, str], list[Any]] = {}  # (op, file:line) -> when inexact

    def decide(self, cond: Any) -> bool:
        cond = z3.simplify(cond)
        if z3.is_true(cond):
            return True
        if z3.is_false(cond):
            return False
        if self.pos < len(self.prefix):
            taken = self.prefix[self.pos][0]
        else:
            can_true = self._feasible(cond)
            can_false = self._feasible(z3.Not(cond))
            if not (can_true or can_false):
                raise _Infeasible
            taken = can_true
            self.prefix.append((taken, can_true and can_false))
            if can_true and can_false:
                where = _here()
                self.lines[where] = self.lines.get(where, 0) + 1
        self.pos += 1
        self.taken.append((cond, taken))
        chosen = cond if taken else z3.Not(cond)
        self.conds.append(chosen)
        self.solver.add(chosen)
        return taken

    def _feasible(self, cond: Any) -> bool:
        return self.solver.check(cond) != z3.unsat

    def require(self, exact: Any, op: str) -> None:
        """Record when an operation on this path does not compute Python's value.

        Only an operation that can be inexact on this path, in a state of the
        declared types, is recorded (its condition is the path so far and
        not ``exact``); the engines check that no reachable state meets it.
        """
        exact = z3.simplify(exact)
        if z3.is_true(exact) or not self._feasible(z3.Not(exact)):
            return
        key = (op, _here())
        self.wraps.setdefault(key, []).append(z3.And(*self.conds, z3.Not(exact)))

    def wrap_list(self, what: str, extra: Any = None) -> list[_Wrap]:
        """The recorded operations as :class:`_Wrap` records (``extra``: a further condition)."""
        return [
            _Wrap(what, op, where, z3.Or(whens) if extra is None else z3.And(extra, z3.Or(whens)))
            for (op, where), whens in self.wraps.items()
        ]

    def run(self, fn: Callable[[], Any], what: str) -> list[tuple[Any, Any]]:
        """``[(path condition, result)]`` for every feasible path of ``fn()``."""
        results = []
        ctx = _ctx()
        while True:
            self.pos, self.conds, self.taken = 0, [], []
            self.solver.push()
            ctx.paths = self
            guard.take_pending()
            try:
                result = fn()
                caught = guard.take_pending()
                if caught is not None:  # the spec caught it, but it stands
                    raise caught
                results.append((z3.And(self.conds) if self.conds else z3.BoolVal(True), result))
                self.decisions.append(self.taken)
            except guard.Restart:
                # A function of the spec was instrumented as it was called: run this
                # path again from the start, with the same decisions.
                ctx.guard.resume()
                continue
            except _Infeasible:
                pass
            except SubsetError as exc:
                raise SubsetError(f"{what}: {exc}") from None
            except z3.Z3Exception as exc:
                where = _user_frame_text(traceback.extract_tb(exc.__traceback__))
                raise SubsetError(
                    f"{what}: outside the symbolic subset at {where}: z3 says {exc}"
                ) from None
            except SpecError:
                raise
            except Exception as exc:
                where = _user_frame_text(traceback.extract_tb(exc.__traceback__))
                raise SubsetError(
                    f"{what} raised {type(exc).__name__}: {exc} at {where} when run on "
                    "symbolic values; if it runs concretely, it uses a construct outside the "
                    "symbolic subset there (see modelcheck.symbolic)"
                ) from None
            finally:
                ctx.paths = None
                self.solver.pop()
            if len(results) > MAX_PATHS:
                busiest = sorted(self.lines.items(), key=lambda kv: -kv[1])[:3]
                raise SubsetError(
                    f"{what} has more than {MAX_PATHS} paths; the conditions that split "
                    f"most are at {', '.join(w for w, _ in busiest)}; use ite()/at()/put() "
                    "there to build one term instead of splitting"
                )
            while self.prefix and not self.prefix[-1][1]:
                self.prefix.pop()
            if not self.prefix:
                return results
            self.prefix[-1] = (not self.prefix[-1][0], False)
