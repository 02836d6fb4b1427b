"""The BFS hot loop, generated for one model and one set of live properties.

The search spends almost all its time in one loop: for each state, check
the live invariants, call every action instance, and admit each new
successor to the visited set.  Written as a generic loop, that costs, per
state and per action, a tuple unpack of the action table, a test of every
option (graph recording, action properties, depth limit, state limit), and
a counter update; on dns-race E=3 M=3 G=5 (13 action instances, 584,737
states) that bookkeeping was about a fifth of the whole check.

So the engine writes the loop as Python source for the model at hand: every
action instance's call is a line of its own with its function and argument
bound as globals, every invariant likewise, and only the admission code the
options need is emitted.  The spec's own code is called unchanged, in the
same order (action instances in declaration order), so results are
identical to the plain loop; ``tests/test_expand.py`` compares the two on
every option.  Source is built from integers and fixed text only; names,
functions and arguments reach it through the globals dict.

A generated function expands one *chunk* of states (the engine calls it per
chunk of ``progress_every`` states within one BFS level, and regenerates it
when a property is settled by its first violation) and returns the number of
transitions it took.  Whatever it raises is wrapped in :class:`ChunkAborted`,
which carries the state being expanded and the transitions counted so far,
so that spec errors get their trace and an interrupted search its counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from modelcheck.model import ActionInstance
from modelcheck.spec import Choice

#: Beyond this many action instances the loop calls them from a table rather
#: than one line each (the source, and its compile time, would grow without
#: bound; the table costs ~30 ns per call more).
UNROLL_LIMIT = 512


class StopSearch(Exception):
    """Raised to end a search early with a reason (the BFS loop, simulation runs)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotABool(Exception):
    """A property returned something other than ``True`` or ``False`` inside the loop.

    The loop does not know which property's result it was in words a user
    would read; :func:`modelcheck.engines.diagnose.diagnose` re-runs the
    properties on the state and names it.
    """

    def __init__(self, result: Any) -> None:
        super().__init__(f"a property returned {type(result).__name__}, not True or False")


class ChunkAborted(Exception):
    """Whatever a chunk raised, with the state it was expanding and its counts so far."""

    def __init__(self, state: Any, transitions: int, cause: BaseException) -> None:
        super().__init__(repr(cause))
        self.state = state
        self.transitions = transitions
        self.cause = cause


@attrs.frozen
class LoopShape:
    """What the generated loop must do besides expanding states."""

    #: Record each step in the graph tables (recoverability, coverage).
    record_graph: bool = False
    #: This level is at the depth limit: successors are not admitted.
    frontier: bool = False
    #: Raise ``StopSearch("max_states")`` before admitting a state past this.
    max_states: int | None = None
    #: Raise ``StopSearch("first_violation")`` after a state that settled a property.
    stop_at_first: bool = False
    #: The fingerprint store (:mod:`modelcheck.engines.fingerprint_search`): the
    #: visited set holds fingerprints, each admitted state is recorded by its
    #: parent's number and its place among the parent's steps, and the function
    #: takes ``(chunk, p)`` with ``p`` the number of the state before the chunk.
    fingerprints: bool = False


#: ``chunk -> (transitions, truncated)``; ``truncated`` is whether a frontier
#: loop left a new successor out.
ChunkFunction = Callable[[Sequence[Any]], Any]


def generate(
    actions: Sequence[ActionInstance],
    invariants: Sequence[tuple[str, Callable[[Any], Any]]],
    action_properties: Sequence[tuple[str, Callable[[Any, Any], Any]]],
    terminals: Sequence[tuple[str, Callable[[Any], Any]]],
    shape: LoopShape,
    *,
    states: list[Any],
    index: dict[Any, Any],
    found: dict[str, tuple[Any, Any]],
    graph: tuple[dict[Any, int], list[int], list[int], list[int]] | None = None,
    witnesses: Sequence[tuple[str, Callable[[Any], Any]]] = (),
    witnessed: dict[str, Any] | None = None,
    constraints: Sequence[Callable[[Any], Any]] = (),
    outside: tuple[dict[Any, Any], list[Any]] | None = None,
    canonical: Callable[[Any], Any] | None = None,
    store: dict[str, Any] | None = None,
) -> ChunkFunction:
    """The chunk-expanding function for this model, these properties and this shape.

    ``states``, ``index`` and ``found`` are the search's own containers; the
    function appends to them.  ``graph`` is ``(ids, offsets, targets,
    action_indices)`` when ``shape.record_graph``.  ``witnesses`` are the
    ``@reachable`` predicates still unsatisfied: the first explored state
    satisfying one goes into ``witnessed``.  With ``constraints``, a new
    successor failing one is not admitted but recorded in ``outside``
    (``(state -> parent, states in discovery order)``) for the caller to
    check.  With ``canonical`` (symmetry reduction), each successor is
    replaced by its orbit's representative before it is looked up, stored
    or recorded in the graph; action properties still see the concrete step.

    With ``shape.fingerprints``, ``store`` gives the fingerprint store's
    functions (see :func:`_fingerprint_admission`) and ``index`` is unused;
    violations and witnesses are recorded with the state's number, as
    ``(s, p)`` where the exact loop records ``s``.
    """
    env: dict[str, Any] = {
        "__builtins__": {},
        "_append": states.append,
        "_index": index,
        "_states": states,
        "_found": found,
        "_setdefault": found.setdefault,
        "_len": len,
        "_StopSearch": StopSearch,
        "_NotABool": NotABool,
        "_ChunkAborted": ChunkAborted,
        "_BaseException": BaseException,
        "_max_states": shape.max_states,
        "_Choice": Choice,
    }
    if canonical is not None:
        env["_canon"] = canonical
    fingerprints = shape.fingerprints
    if fingerprints:
        assert store is not None and not shape.record_graph
        env.update(store)
    # How the state being expanded is recorded with a violation or a witness.
    here = "(s, p)" if fingerprints else "s"
    # The name of the successor as stored: its representative under symmetry.
    u = "t" if canonical is None else "c"
    if witnesses:
        assert witnessed is not None
        env["_witness_setdefault"] = witnessed.setdefault
    if constraints:
        assert outside is not None
        env["_outside"], env["_outside_append"] = outside[0], outside[1].append
        for k, check in enumerate(constraints):
            env[f"_con{k}"] = check
    if shape.record_graph:
        assert graph is not None
        ids, offsets, targets, acts = graph
        env.update(
            _ids_setdefault=ids.setdefault,
            _ids=ids,
            _offsets_append=offsets.append,
            _targets=targets,
            _targets_append=targets.append,
            _acts_append=acts.append,
        )
    out: list[str] = []

    def emit(depth: int, line: str) -> None:
        out.append("    " * depth + line)

    def settle(depth: int, name: str, where: str) -> None:
        # ``r`` is a property's result: record a violation for False, and stop
        # for anything that is not a bool (``diagnose`` names the property).
        emit(depth, "if r is not True:")
        emit(depth + 1, "if r is not False:")
        emit(depth + 2, "raise _NotABool(r)")
        emit(depth + 1, f"_setdefault({name}, {where})")

    emit(0, "def expand(chunk, p):" if fingerprints else "def expand(chunk):")
    emit(1, "n = 0")
    emit(1, "truncated = False")
    emit(1, "s = None")
    emit(1, "try:")
    emit(2, "for s in chunk:")
    body = 3
    if fingerprints:
        emit(body, "p += 1")
        emit(body, "before = n")
    if shape.stop_at_first:
        emit(body, "settled = _len(_found)")
    for k, (name, check) in enumerate(invariants):
        env[f"_inv{k}"], env[f"_inv_name{k}"] = check, name
        emit(body, f"r = _inv{k}(s)")
        settle(body, f"_inv_name{k}", f"({here}, None)")
    for k, (name, check) in enumerate(witnesses):
        env[f"_wit{k}"], env[f"_wit_name{k}"] = check, name
        emit(body, f"r = _wit{k}(s)")
        emit(body, "if r is not False:")
        emit(body + 1, "if r is not True:")
        emit(body + 2, "raise _NotABool(r)")
        emit(body + 1, f"_witness_setdefault(_wit_name{k}, {here})")
    if shape.record_graph:
        emit(body, "_offsets_append(_len(_targets))")
    if terminals and not fingerprints:
        emit(body, "before = n")
    for k, (name, check) in enumerate(action_properties):
        env[f"_ap{k}"], env[f"_ap_name{k}"] = check, name

    def admit(depth: int, action: str) -> None:
        # ``t`` is a successor of ``s`` by the action whose index is ``action``.
        emit(depth, "n += 1")
        if canonical is not None:
            emit(depth, "c = _canon(t)")
        if fingerprints:
            _fingerprint_admission(emit, depth, u, action, shape, len(constraints))
        else:
            _exact_admission(emit, depth, u, action, shape, len(constraints))
        # In a frontier loop an unadmitted successor is not a step of the graph.
        inner = depth
        if shape.frontier and (action_properties or shape.record_graph):
            emit(depth, "if t is not None:")
            inner = depth + 1
        for k in range(len(action_properties)):
            emit(inner, f"r = _ap{k}(s, t)")
            settle(inner, f"_ap_name{k}", f"({here}, t)")
        if shape.record_graph:
            if constraints and not shape.frontier:
                # The graph holds the explored states only.
                emit(inner, f"if {u} in _index:")
                inner += 1
            emit(inner, f"_targets_append(_ids_setdefault({u}, _len(_ids)))")
            emit(inner, f"_acts_append({action})")

    if len(actions) <= UNROLL_LIMIT:
        for act in actions:
            k = act.index
            env[f"_f{k}"], env[f"_a{k}"] = act.fast
            if act.nondeterministic:
                emit(body, f"for t in _f{k}(s, _a{k}):")
                if not act.chosen:  # the spec's own iterable: it may hold Choice outcomes
                    emit(body + 1, "if t.__class__ is _Choice:")
                    emit(body + 2, "t = t.state")
                admit(body + 1, str(k))
            else:
                emit(body, f"t = _f{k}(s, _a{k})")
                emit(body, "if t is not None:")
                admit(body + 1, str(k))
    else:
        env["_det"] = [(a.index, *a.fast) for a in actions if not a.nondeterministic]
        env["_nondet"] = [(a.index, *a.fast) for a in actions if a.nondeterministic]
        emit(body, "for k, f, a in _det:")
        emit(body + 1, "t = f(s, a)")
        emit(body + 1, "if t is None:")
        emit(body + 2, "continue")
        admit(body + 1, "k")
        emit(body, "for k, f, a in _nondet:")
        emit(body + 1, "for t in f(s, a):")
        emit(body + 2, "if t.__class__ is _Choice:")
        emit(body + 3, "t = t.state")
        admit(body + 2, "k")
    if terminals:
        emit(body, "if n == before:")
        for k, (name, check) in enumerate(terminals):
            env[f"_term{k}"], env[f"_term_name{k}"] = check, name
            emit(body + 1, f"r = _term{k}(s)")
            settle(body + 1, f"_term_name{k}", f"({here}, None)")
    if shape.stop_at_first:
        emit(body, "if _len(_found) != settled:")
        emit(body + 1, "raise _StopSearch('first_violation')")
    emit(1, "except _BaseException as exc:")
    emit(2, "raise _ChunkAborted(s, n, exc) from exc")
    emit(1, "return n, truncated")
    source = "\n".join(out) + "\n"
    exec(compile(source, "<modelcheck expand>", "exec"), env)
    function: ChunkFunction = env["expand"]
    function.source = source  # type: ignore[attr-defined]  # for tests and debugging
    return function


def _exact_admission(
    emit: Callable[[int, str], None],
    depth: int,
    u: str,
    action: str,
    shape: LoopShape,
    constraints: int,
) -> None:
    """Admit successor ``u`` to the visited dict ``_index`` (the exact store)."""
    emit(depth, f"if {u} not in _index:")
    if shape.frontier:
        emit(depth + 1, "truncated = True")
        emit(depth + 1, "continue" if action == "k" else "t = None")
    else:
        inside = depth + 1
        if constraints:
            # TLC's CONSTRAINT: a successor failing it is kept apart, not
            # admitted; it is checked by the caller and never expanded.
            inside = depth + 3
            emit(depth + 1, f"if {u} not in _outside:")
            test = " and ".join(f"_con{k}({u})" for k in range(constraints))
            emit(depth + 2, f"if {test}:")
        if shape.max_states is not None:
            emit(inside, "if _len(_states) >= _max_states:")
            emit(inside + 1, "raise _StopSearch('max_states')")
        emit(inside, f"_index[{u}] = s")
        emit(inside, f"_append({u})")
        if constraints:
            emit(depth + 2, "else:")
            emit(depth + 3, f"_outside[{u}] = s")
            emit(depth + 3, f"_outside_append({u})")


def _fingerprint_admission(
    emit: Callable[[int, str], None],
    depth: int,
    u: str,
    action: str,
    shape: LoopShape,
    constraints: int,
) -> None:
    """Admit successor ``u`` by its fingerprint (the fingerprint store).

    The store's functions: ``_fp(state)`` its fingerprint, ``_add(x)`` True
    when ``x`` was not in the visited table (and puts it there), ``_has(x)``
    whether it is; ``_outside_has`` and ``_outside_add`` the same for the
    states outside the constraint.  A new state goes to the next level
    (``_next_append``), its parent's number to ``_parents_append`` and its
    place among the parent's steps (1 for the first) to ``_places_append``,
    which is how its trace is rebuilt; a state outside the constraint goes
    to ``_outside_append`` (the list of ``generate``'s ``outside``) as
    ``(state, parent number, place)``.
    """
    emit(depth, f"x = _fp({u})")
    if shape.frontier:
        # As the exact loop: a successor not admitted (even one seen outside the
        # constraint) is beyond the depth limit, and not a step of the graph.
        emit(depth, "if not _has(x):")
        emit(depth + 1, "truncated = True")
        emit(depth + 1, "continue" if action == "k" else "t = None")
        return
    inside = depth + 1
    if constraints:
        inside = depth + 3
        emit(depth, "if not _has(x):")
        emit(depth + 1, "if not _outside_has(x):")
        test = " and ".join(f"_con{k}({u})" for k in range(constraints))
        emit(depth + 2, f"if {test}:")
    else:
        emit(depth, "if _add(x):")
    if shape.max_states is not None:
        emit(inside, "if _len(_parents) >= _max_states:")
        emit(inside + 1, "raise _StopSearch('max_states')")
    if constraints:
        emit(inside, "_add(x)")
    emit(inside, f"_next_append({u})")
    emit(inside, "_parents_append(p)")
    emit(inside, "_places_append(n - before)")
    if constraints:
        emit(depth + 2, "else:")
        emit(depth + 3, "_outside_add(x)")
        emit(depth + 3, f"_outside_append(({u}, p, n - before))")
