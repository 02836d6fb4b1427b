"""One shard of the cluster search for any spec: ``State`` objects, expanded by the spec's code.

The twin of :mod:`.shard` for specs outside the compiled subset: the same
level-synchronous protocol with the driver (expand, take, number the level,
snapshot, recover), but a shard holds the spec's own state objects in a list
with a dict from each to its row, as the Python engine does, and expands
them by calling the model's actions and properties
(:mod:`modelcheck.model`), in the order the Python engine calls them.  A
successor is sent, with its key, to the shard that owns it
(:mod:`.owners`); a batch holds each distinct successor once, the spec's
state records as plain tuples (which pickle at C speed: Ray pickles a
record object through a Python callback, about 10 us each), and one row of
key, parent reference and action per step.

A shard reports any exception the spec's code raises (or a property's
result that is not a bool) as a *problem* of the state it was expanding,
and expands no state after it: the driver then hands the run to the Python
engine in one process, which meets the same state first and reports it
with its trace (or stops before it, as it would have).

This module imports neither numba nor Ray.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelcheck.engines.cluster.owners import Owners, is_record, owner
from modelcheck.engines.cluster.stored import ACT_BITS, SHIFT, StoredStates
from modelcheck.errors import SpecError
from modelcheck.model import compile_spec
from modelcheck.spec import Choice, Spec

#: The most successors one state may have: keys are parent number * PER + place.
PER = 1 << 20
#: Columns of a batch's steps beyond key, parent reference and action | flags: whether an
#: action property could not be judged on the step, and which of the batch's states it made.
_ERROR, _STATE = 3, 4


def _problem(number: int, what: str) -> tuple[int, int, str]:
    return (number, 0, what)


class PythonShard(StoredStates):
    """The states of one part of the hash space, as the spec's own objects (see above)."""

    def __init__(
        self,
        index: int,
        shards: int,
        spec: Spec,
        names: tuple[str, ...],
        record: bool,
        cache_folder: str | None = None,
    ) -> None:
        del cache_folder  # no kernel to load: the spec's own code runs
        super().__init__(index, shards, record)
        self.model = compile_spec(spec)
        self.props = [self.model.property(n) for n in names]
        self.kinds = tuple(p.kind for p in self.props)
        self.actions = self.model.actions
        self.states: list[Any] = []
        self.rows: dict[Any, int] = {}
        self.owners = Owners(shards)
        # The spec's state class when it is a State record: its states travel as tuples.
        first = self.model.initial_states[0]
        self.record_class = type(first) if is_record(first) else None
        # Each action instance as the Python engine's loop calls it: (index, function,
        # argument, whether it gives several successors, whether they may be Choices).
        self.calls = [
            (a.index, *a.fast, a.nondeterministic, a.nondeterministic and not a.chosen)
            for a in self.actions
        ]

    # --- the search ---

    def _room(self, more: int) -> None:
        self._room_for_numbers(self.count + more)

    def add_initial(self, states: list[Any], numbers: np.ndarray) -> int:
        """Store the initial states this shard owns (``states`` in order, each once)."""
        mine = [i for i, s in enumerate(states) if owner(s, self.shards) == self.index]
        self._room(len(mine))
        for row, i in enumerate(mine):
            self.states.append(states[i])
            self.rows[states[i]] = row
            self.number[row] = numbers[i]
            self.parent[row] = -1
        self.count = len(mine)
        self.lo, self.hi = 0, self.count
        return self.count

    def expand(self, found: np.ndarray, settle: bool) -> list[Any]:
        """Expand this shard's part of the level: a summary, then one successor batch per
        shard: its distinct successors (packed, :meth:`_packed`) and one row per step
        (key, parent reference, action | flags << 16, whether an action property could
        not be judged on the step, which of the batch's successors it made).

        The summary is the compiled shard's: ``made``, ``problem`` (None or (number, 0,
        what) of the first state whose expansion raised), ``states`` (per state property:
        (number, row) of the first state that violates or witnesses it), ``steps`` (per
        action property, with ``settle``: (key, parent reference, successor)).
        """
        open_props = [p for p in range(len(self.props)) if found[p] == -1]
        state_checks = [
            (p, self.props[p].check, self.kinds[p])
            for p in open_props
            if self.kinds[p] in ("invariant", "reachable")
        ]
        terminals = [(p, self.props[p].check) for p in open_props if self.kinds[p] == "terminal"]
        step_checks = [(p, self.props[p].check) for p in open_props if self.kinds[p] == "action"]
        shards, index = self.shards, self.index
        owner_of = self.owners.of
        # Per owner: its distinct successors, their places, and the steps.
        batches: list[tuple[list[Any], dict[Any, int], list[tuple[int, ...]]]] = [
            ([], {}, []) for _ in range(shards)
        ]
        made = np.zeros(self.hi - self.lo, np.int64)
        states_first: dict[int, tuple[int, int]] = {}
        steps_first: dict[int, tuple[int, int, Any]] = {}
        problem = None
        for row in range(self.lo, self.hi):
            state, number = self.states[row], int(self.number[row])
            ref = (index << SHIFT) | row
            try:
                settled = self._judge_state(state, row, number, state_checks, states_first)
                place = 0
                for action, function, argument, several, choices in self.calls:
                    result = function(state, argument)
                    if not several:
                        if result is None:
                            continue
                        result = (result,)
                    elif result is None:
                        raise SpecError(f"{self.actions[action].label} returned None")
                    for succ in result:
                        if choices and succ.__class__ is Choice:
                            succ = succ.state
                        key = number * PER + place
                        place += 1
                        flags, error = 0, 0
                        for p, check in step_checks:
                            if p in steps_first:
                                continue
                            try:
                                result = check(state, succ)
                            except Exception:
                                if settle:
                                    raise
                                error = 1  # judged by the owner only if it takes the step
                                continue
                            if result is True:
                                continue
                            if result is not False:
                                if settle:
                                    raise TypeError(f"a property returned {result!r}")
                                error = 1
                            elif settle:
                                steps_first[p] = (key, ref, succ)
                            else:
                                flags |= 1 << p
                        sent, places, steps = batches[owner_of(succ)]
                        at = places.get(succ)
                        if at is None:
                            at = places[succ] = len(sent)
                            sent.append(succ)
                        steps.append((key, ref, action | flags << ACT_BITS, error, at))
                if place > PER:
                    raise ValueError(f"more than {PER} successors of one state")
                if place == 0:
                    settled |= self._judge_terminal(state, row, number, terminals, states_first)
            except MemoryError:
                raise
            except Exception as exc:
                problem = _problem(number, f"{type(exc).__name__}: {exc}")
                break
            made[row - self.lo] = place
            if settled:
                state_checks = [c for c in state_checks if c[0] not in states_first]
                terminals = [c for c in terminals if c[0] not in states_first]
        self.made = made[: row - self.lo] if problem is not None else made
        summary = {
            "made": int(self.made.sum()),
            "problem": problem,
            "states": states_first,
            "steps": steps_first,
        }
        return [
            summary,
            *(
                (self._packed(sent), np.array(steps, np.int64).reshape(-1, 5))
                for sent, _, steps in batches
            ),
        ]

    def _packed(self, states: list[Any]) -> tuple[int, list[Any]]:
        """``states`` as sent: the records of the spec's state class as plain tuples, with
        this process's tag of that class (the receiver puts its own back)."""
        record = self.record_class
        if record is None:
            return -1, states
        return record._tag, [tuple(s) if type(s) is record else s for s in states]

    def _unpacked(self, packed: tuple[int, list[Any]]) -> list[Any]:
        tag, states = packed
        record = self.record_class
        if record is None:
            return states
        new = tuple.__new__
        if tag == record._tag:
            return [new(record, s) if type(s) is tuple else s for s in states]
        own = (record._tag,)
        return [new(record, own + s[1:]) if type(s) is tuple else s for s in states]

    @staticmethod
    def _judge_state(
        state: Any,
        row: int,
        number: int,
        checks: list[tuple[int, Any, str]],
        first: dict[int, tuple[int, int]],
    ) -> bool:
        """Judge the invariants and @reachable predicates still open on ``state``."""
        settled = False
        for p, check, kind in checks:
            result = check(state)
            if result is not True and result is not False:
                raise TypeError(f"a property returned {result!r}")
            if result is (kind == "reachable"):
                first[p] = (number, row)
                settled = True
        return settled

    @staticmethod
    def _judge_terminal(
        state: Any,
        row: int,
        number: int,
        checks: list[tuple[int, Any]],
        first: dict[int, tuple[int, int]],
    ) -> bool:
        settled = False
        for p, check in checks:
            result = check(state)
            if result is not True and result is not False:
                raise TypeError(f"a property returned {result!r}")
            if result is False:
                first[p] = (number, row)
                settled = True
        return settled

    def take(self, frontier: bool, *batches: tuple[list[Any], np.ndarray]) -> dict[str, Any]:
        """Admit the successors sent to this shard, least key first: the new states' keys
        (in order), whether a step past --max-depth was not taken, (past it) each action
        property's first violating step that was taken, and the least number of a state
        with a taken step no action property could be judged on (the owner's problem)."""
        states: list[Any] = []
        parts = []
        for packed, steps in batches:
            steps = steps.copy()
            steps[:, _STATE] += len(states)
            states += self._unpacked(packed)
            parts.append(steps)
        meta = np.concatenate(parts) if parts else np.zeros((0, 5), np.int64)
        order = np.argsort(meta[:, 0], kind="stable")
        self._room(len(meta))
        before = self.count
        where = np.full(len(meta), -1, np.int64)
        rows, stored = self.rows, self.states
        made_by = meta[:, _STATE]
        for i, j in enumerate(order.tolist()):
            succ = states[made_by[j]]
            row = rows.get(succ)
            if row is None:
                if frontier:
                    continue
                row = rows[succ] = len(stored)
                stored.append(succ)
                self.parent[row] = meta[j, 1]
            where[i] = row
        self.count = len(stored)
        sorted_meta = meta[order]
        fresh = np.zeros(len(meta), np.bool_)
        if not frontier:
            # A new state's first copy is the one whose row is past ``before`` and first seen.
            _, first_seen = np.unique(where, return_index=True)
            fresh[first_seen] = where[first_seen] >= before
        self.keys = sorted_meta[fresh, 0]
        taken = where >= 0
        problem = None
        if frontier:
            errors = np.flatnonzero(taken & (sorted_meta[:, _ERROR] != 0))
            if len(errors):
                number = int(sorted_meta[errors[0], 0]) // PER
                problem = _problem(number, "an action property raised on a step")
        steps = self._after_admission(
            frontier, where, sorted_meta, lambda q: states[int(sorted_meta[q, _STATE])]
        )
        return {
            "new": self.count - before,
            "keys": self.keys,
            "truncated": bool(frontier and not taken.all()),
            "steps": steps,
            "problem": problem,
        }

    def snapshot(self) -> dict[str, Any]:
        """What a checkpoint keeps of this shard between levels (the dict is rebuilt)."""
        return self._snapshot(list(self.states))

    def restore(self, saved: dict[str, Any]) -> int:
        """Go on from a :meth:`snapshot`: its states stored, its last level next to expand."""
        self.states = list(saved["states"])
        self.rows = {s: row for row, s in enumerate(self.states)}
        self.count = 0
        self._room(len(self.states))
        return self._restore_numbers(saved)

    def row(self, row: int) -> tuple[Any, int]:
        """A stored state and its parent's reference (-1 for an initial state)."""
        return self.states[row], int(self.parent[row])

    def row_of_number(self, number: int) -> Any:
        """The state with this global number, if this shard holds it."""
        hits = np.flatnonzero(self.number[: self.hi] == number)
        return self.states[int(hits[0])] if len(hits) else None

    # --- recoverability ---

    def _good(self, prop: int) -> tuple[np.ndarray, int]:
        check = self.props[prop].check
        good = np.zeros(self.count, np.bool_)
        for row, state in enumerate(self.states):
            try:
                result = check(state)
            except Exception:
                return good, row
            if result is not True and result is not False:
                return good, row
            good[row] = result
        return good, -1

    def recovers_row(self, state: Any) -> bool:
        """Whether ``state`` is stored here and recovers (in the last recovery computed)."""
        row = self.rows.get(state)
        return row is not None and bool(self.recovers[row])
