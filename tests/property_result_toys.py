"""A counter whose properties return what a slip of the pen returns instead of a bool."""

from __future__ import annotations

from typing import Any

from modelcheck import Spec, State, action, action_property, invariant, terminal

#: ``kind`` parameter -> (what the property returns, how the message names it).
RESULTS: dict[str, tuple[Any, str]] = {
    "generator": (None, "returned generator"),  # built per call: (x for x in ...)
    "string": ("False", "returned str 'False'"),
    "none": (None, "returned NoneType None"),
    "int": (1, "returned int 1"),
}


class Count(State):
    n: int


class Slips(Spec):
    """``n`` counts to 2; property ``where`` returns ``result`` once ``n == at``."""

    result: str = "none"
    where: str = "invariant"
    at: int = 1

    def initial_states(self) -> Count:
        return Count(0)

    @action
    def inc(self, s: Count) -> Count | None:
        return s.replace(n=s.n + 1) if s.n < 2 else None

    def _result(self, s: Count) -> Any:
        if s.n != self.at:
            return True
        if self.result == "generator":
            return (x >= 0 for x in (s.n,))
        return RESULTS[self.result][0]

    @invariant
    def counted(self, s: Count) -> bool:
        return True if self.where != "invariant" else self._result(s)

    @action_property
    def stepped(self, s: Count, t: Count) -> bool:
        return True if self.where != "action" else self._result(t)

    @terminal
    def stopped(self, s: Count) -> bool:
        return True if self.where != "terminal" else self._result(s)
