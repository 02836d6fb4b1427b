"""What engines see: the small contract a spec compiles into.

Every engine (BFS, simulation, Hypothesis, z3) consumes a :class:`Model`
and nothing else: initial states, the action instances (one per family and
argument tuple, in declaration order) and the properties.  No engine reads a
:class:`~modelcheck.spec.Spec` directly, and no spec knows about engines.
"""

from __future__ import annotations

import inspect
import itertools
import re
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import Any

import attrs

from modelcheck.containers import canonical_key
from modelcheck.errors import SpecError, SpecRuntimeError, SpecWarning, closest
from modelcheck.spec import (
    _ACTION_ATTR,
    _CONSTRAINT_ATTR,
    _PROPERTY_ATTR,
    LIVENESS_KINDS,
    ActionInfo,
    Choice,
    PropertyInfo,
    PropertyKind,
    Spec,
)
from modelcheck.state import is_frozen_state, state_fields
from modelcheck.symmetry import SymmetryDef, compile_symmetry
from modelcheck.trace import Step, Trace, encode_value

#: The arguments of one step: ``((name, value), ...)`` in declaration order.
Arguments = tuple[tuple[str, Any], ...]


@attrs.frozen
class ActionInstance:
    """One member of an action family: the family with its arguments fixed.

    ``call(state)`` returns the next state or ``None`` (deterministic
    actions), or an iterable of next states (nondeterministic ones).

    A family whose domains depend on the state compiles into one instance
    per value of its parameters *before* the first state-dependent one; the
    rest (``chosen``) are chosen in each state, so such an instance is
    nondeterministic for the engines.  Its steps, like those of a
    nondeterministic action that yields :class:`~modelcheck.spec.Choice`
    outcomes, carry more arguments than the instance: :meth:`moves` gives
    them, and :meth:`Model.action_between` and :meth:`Model.find_action`
    return the instance *specialised* to one step's arguments.
    """

    index: int
    family: str
    args: Arguments
    nondeterministic: bool
    call: Callable[[Any], Any] = attrs.field(repr=False, eq=False)
    actor: str | None = None
    #: ``(function, argument)`` such that ``function(state, argument)`` equals
    #: ``call(state)``; engines' hot loops use it to save a Python call for
    #: the common one-parameter family.
    fast: tuple[Callable[[Any, Any], Any], Any] = attrs.field(repr=False, eq=False, default=None)
    #: Names of the parameters chosen per state (state-dependent domains).
    chosen: tuple[str, ...] = ()
    #: ``state -> [(arguments, next state), ...]`` for instances whose steps
    #: are labelled beyond ``args``; ``None`` for plain ones.
    labelled: Callable[[Any], list[tuple[Arguments, Any]]] | None = attrs.field(
        repr=False, eq=False, default=None
    )
    #: ``arguments -> actor`` for the specialised instances of a labelled one.
    actor_of: Callable[[Arguments], str | None] | None = attrs.field(
        repr=False, eq=False, default=None
    )

    @property
    def label(self) -> str:
        """``family(name=value, ...)``, as shown in traces (``name=*`` when chosen per state)."""
        inner = ", ".join([f"{k}={v!r}" for k, v in self.args] + [f"{k}=*" for k in self.chosen])
        return f"{self.family}({inner})"

    @property
    def arguments(self) -> dict[str, Any]:
        """The arguments as a dict."""
        return dict(self.args)

    def successors(self, state: Any) -> list[Any]:
        """The next states this action gives from ``state`` (empty when disabled)."""
        result = self.call(state)
        if self.nondeterministic:
            if result is None:
                raise SpecError(_returned_none(self.family, self.label))
            return [t.state if type(t) is Choice else t for t in result]
        return [] if result is None else [result]

    def moves(self, state: Any) -> list[tuple[Arguments, Any]]:
        """Every ``(arguments, next state)`` step from ``state``, with each step's own arguments."""
        if self.labelled is None:
            return [(self.args, t) for t in self.successors(state)]
        return self.labelled(state)

    def specialise(self, arguments: Arguments) -> ActionInstance:
        """This instance restricted to the steps whose arguments are ``arguments``.

        ``arguments`` are the step's full arguments (this instance's, then the
        chosen values and any :class:`~modelcheck.spec.Choice` labels).
        """
        if arguments == self.args:
            return self
        wanted = _encoded(arguments)

        def call(state: Any) -> list[Any]:
            return [t for a, t in self.moves(state) if _encoded(a) == wanted]

        return ActionInstance(
            index=self.index,
            family=self.family,
            args=arguments,
            nondeterministic=True,
            call=call,
            actor=self.actor if self.actor_of is None else self.actor_of(arguments),
            fast=(lambda s, _unused: call(s), None),
        )


def _encoded(arguments: Arguments) -> dict[str, Any]:
    # Arguments read from a trace file compare with the spec's own by their
    # JSON form (enum members and nested records decode to stand-ins).
    return {k: encode_value(v) for k, v in arguments}


@attrs.frozen
class PropertyDef:
    """One property of a model."""

    name: str
    kind: PropertyKind
    doc: str
    check: Callable[..., Any] = attrs.field(repr=False, eq=False)
    using: frozenset[str] | None = None
    source: str = ""
    #: Stated by the spec as an aid to ``prove`` (``@invariant(lemma=True)``).
    lemma: bool = False
    #: For ``leads_to`` (``P ~> Q``, where ``check`` is ``Q``): ``P``, a function of the state.
    trigger: Callable[[Any], Any] | None = attrs.field(repr=False, eq=False, default=None)

    @property
    def liveness(self) -> bool:
        """Whether this is a property of infinite runs (checked by a fair-cycle search)."""
        return self.kind in LIVENESS_KINDS

    def triggered(self, state: Any) -> bool:
        """Run a ``leads_to`` property's trigger ``P`` on ``state`` (a bool, as :meth:`holds`)."""
        assert self.trigger is not None
        result = self.trigger(state)
        if result is True or result is False:
            return result
        message = not_a_bool(self, returned(result))
        raise SpecError(message.replace(" returned", " trigger returned", 1))

    def holds(self, *states: Any) -> bool:
        """Run the property on ``states``: ``True`` or ``False``, never anything else.

        Any other result is a :class:`SpecError` naming the property, rather
        than a truth test: a generator (a forgotten ``all(...)``) or the
        string ``"False"`` is truthy, and ``None`` (a forgotten ``return``)
        is falsy, and neither is what the spec meant.
        """
        result = self.check(*states)
        if result is True or result is False:
            return result
        raise SpecError(not_a_bool(self, returned(result)))


def not_a_bool(prop: PropertyDef, shown: str) -> str:
    """The message for a property whose result is ``shown`` instead of a bool."""
    return (
        f"{prop.source or prop.name} returned {shown} instead of True or False; a property "
        "must return a bool (a forgotten all(...) returns a generator, a forgotten return "
        "returns None)"
    )


def returned(value: Any) -> str:
    """``type repr`` of a value, shortened, for messages."""
    try:
        text = repr(value)
    except Exception as exc:  # a result whose repr raises still gets named
        text = f"<repr raised {type(exc).__name__}>"
    text = re.sub(r" at 0x[0-9a-fA-F]+", "", text)  # addresses differ from run to run
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


@attrs.frozen
class FairnessDef:
    """One fairness condition: ``WF`` or ``SF`` of a set of action instances taken as one action.

    A declaration ``@action(fair=...)`` gives one condition per instance
    (the default scope) or one for the whole family.
    """

    #: ``"weak"`` or ``"strong"``.
    kind: str
    #: ``WF(pickup(e=0))``, ``SF(enter)``: the condition as reports name it.
    label: str
    family: str
    #: The indices (in :attr:`Model.actions`) of the instances the condition is about.
    actions: frozenset[int]

    def enabled(self, model: Model, state: Any) -> bool:
        """Whether one of the condition's action instances is enabled in ``state``."""
        return any(model.actions[k].successors(state) for k in sorted(self.actions))


@attrs.frozen
class ConstraintDef:
    """One ``@constraint`` of a model: states failing it are not explored further."""

    name: str
    check: Callable[[Any], Any] = attrs.field(repr=False, eq=False)
    source: str = ""


@attrs.frozen
class Model:
    """A spec instance compiled for the engines."""

    spec: Spec = attrs.field(repr=False)
    name: str
    parameters: dict[str, Any]
    initial_states: tuple[Any, ...]
    actions: tuple[ActionInstance, ...]
    properties: tuple[PropertyDef, ...]
    #: The spec's validated ``components`` declaration (see :mod:`modelcheck.components`).
    components: Mapping[str, str] = attrs.field(factory=dict)
    #: Auxiliary invariants (``@invariant(lemma=True)``): not properties of the
    #: protocol but aids to ``prove``, which proves them before relying on them.
    lemmas: tuple[PropertyDef, ...] = ()
    #: Seconds spent compiling, most of it computing the initial states; engines
    #: count it in the ``seconds`` they report, so a spec with many initial
    #: states is not timed as if they came for free.
    compile_seconds: float = attrs.field(default=0.0, eq=False, repr=False)
    #: State constraints (``@constraint``): a state failing one is outside the
    #: explored state space (see :meth:`within`).
    constraints: tuple[ConstraintDef, ...] = ()
    #: Fairness conditions (``@action(fair=...)``), in declaration order; none by default.
    fairness: tuple[FairnessDef, ...] = ()
    #: The action families marked ``@action(operator=True)``.
    operators: frozenset[str] = frozenset()
    #: The spec's symmetry declaration, compiled (``None``: none declared);
    #: used only when a check asks for symmetry reduction.
    symmetry: SymmetryDef | None = None

    def within(self, state: Any) -> bool:
        """Whether ``state`` satisfies every constraint, so that engines extend it."""
        return self.failed_constraint(state) is None

    def failed_constraint(self, state: Any) -> ConstraintDef | None:
        """The first constraint ``state`` fails, or ``None``."""
        for con in self.constraints:
            try:
                inside = con.check(state)
            except Exception as exc:
                raise SpecRuntimeError(
                    f"constraint {self.name}.{con.name} raised {type(exc).__name__}: {exc} "
                    f"on the state {state!r}"
                ) from exc
            if not inside:
                return con
        return None

    @property
    def families(self) -> tuple[str, ...]:
        """Action family names in declaration order."""
        return tuple(dict.fromkeys(a.family for a in self.actions))

    def property(self, name: str) -> PropertyDef:
        """The property called ``name`` (a clear error if there is none)."""
        for prop in self.properties:
            if prop.name == name:
                return prop
        names = [p.name for p in self.properties]
        raise SpecError(
            f"{self.name} has no property {name!r}.{closest(name, names)} "
            f"Its properties are: {', '.join(names) or '(none)'}."
        )

    def find_action(self, family: str, arguments: dict[str, Any]) -> ActionInstance | None:
        """The action instance with this family and these arguments, if any.

        For a step of a state-dependent family (or a labelled nondeterministic
        outcome) it is the instance specialised to those arguments: it is
        enabled only where the values are in their domains.
        """
        wanted = tuple(sorted(arguments.items()))
        for act in self.actions:
            if act.family == family and not act.chosen and tuple(sorted(act.args)) == wanted:
                return act
        for act in self.actions:
            if act.family != family or act.labelled is None:
                continue
            own = dict(act.args)
            if any(
                k not in arguments or _encoded(((k, v),)) != _encoded(((k, arguments[k]),))
                for k, v in own.items()
            ):
                continue
            if not set(act.chosen) <= set(arguments):
                continue
            extra = [k for k in act.chosen] + [
                k for k in arguments if k not in own and k not in act.chosen
            ]
            return act.specialise((*act.args, *((k, arguments[k]) for k in extra)))
        return None

    def successors(self, state: Any) -> list[tuple[ActionInstance, Any]]:
        """Every ``(action, next_state)`` pair from ``state``, in declaration order."""
        return [(act, nxt) for act in self.actions for nxt in act.successors(state)]

    def run_trace(
        self,
        initial: Any,
        steps: Iterable[tuple[ActionInstance, Any]],
        violates: str | None = None,
        kind: str | None = None,
        reason: str = "",
    ) -> Trace:
        """The :class:`~modelcheck.trace.Trace` of a run: ``(action, next state)`` pairs."""
        out = []
        before = initial
        for act, state in steps:
            if act.labelled is not None:
                act = self.step_action(act, before, state)
            out.append(Step(act.family, act.args, state, act.actor))
            before = state
        return Trace(
            initial,
            tuple(out),
            spec=self.name,
            parameters=dict(self.parameters),
            violates=violates,
            kind=kind,
            reason=reason,
        )

    def action_between(self, before: Any, after: Any) -> ActionInstance:
        """The first action (in declaration order) that leads from ``before`` to ``after``.

        A step of a labelled instance (a state-dependent family, a
        nondeterministic :class:`~modelcheck.spec.Choice`) comes back
        specialised to the first arguments that give it, so its ``args`` are
        the step's.
        """
        for act in self.actions:
            if act.labelled is None:
                if after in act.successors(before):
                    return act
            else:
                for args, nxt in act.labelled(before):
                    if nxt == after:
                        return act.specialise(args)
        raise self._no_step(before, after)

    def step_action(self, act: ActionInstance, before: Any, after: Any) -> ActionInstance:
        """``act`` specialised to the arguments of its step from ``before`` to ``after``."""
        if act.labelled is None:
            return act
        for args, nxt in act.labelled(before):
            if nxt == after:
                return act.specialise(args)
        raise self._no_step(before, after)

    def _no_step(self, before: Any, after: Any) -> SpecError:
        return SpecError(
            f"{self.name}: no action leads from {before!r} to {after!r}; the spec's actions "
            "gave different results when re-run. Actions must be deterministic functions of "
            "the state (do not read clocks, random numbers or mutable globals)."
        )


# --- compiling a spec ---------------------------------------------------------------


@attrs.frozen
class _ClassScan:
    actions: tuple[tuple[str, Callable[..., Any], ActionInfo], ...]
    properties: tuple[tuple[str, Callable[..., Any], PropertyInfo], ...]
    constraints: tuple[tuple[str, Callable[..., Any]], ...] = ()


def _where(cls: type, name: str, fn: Callable[..., Any]) -> str:
    try:
        line = inspect.getsourcelines(fn)[1]
        return f"{cls.__name__}.{name} ({inspect.getsourcefile(fn)}:{line})"
    except (OSError, TypeError):
        return f"{cls.__name__}.{name}"


_PROPERTY_ARITY = {
    "invariant": 1,
    "action": 2,
    "terminal": 1,
    "recoverable": 1,
    "reachable": 1,
    **dict.fromkeys(LIVENESS_KINDS, 1),
}
_KIND_PHRASE = {
    "invariant": "an invariant",
    "action": "an action property",
    "terminal": "a terminal-state property",
    "recoverable": "a recoverable property",
    "reachable": "a reachable (possibility) property",
    "eventually": "an eventually (<>P) property",
    "leads_to": "a leads_to (P ~> Q) property",
    "always_eventually": "an always_eventually ([]<>P) property",
    "eventually_always": "an eventually_always (<>[]P) property",
}


@cache
def _scan(cls: type) -> _ClassScan:
    actions = []
    properties = []
    constraints = []
    for name in _definition_order(cls):
        fn = getattr(cls, name, None)
        if fn is None:
            continue
        info = getattr(fn, _ACTION_ATTR, None)
        pinfo = getattr(fn, _PROPERTY_ATTR, None)
        marks = [m for m, v in (("an action", info), ("a property", pinfo)) if v is not None]
        if getattr(fn, _CONSTRAINT_ATTR, False):
            marks.append("a constraint")
        if len(marks) > 1:
            raise SpecError(
                f"{_where(cls, name, fn)} is marked both as {' and as '.join(marks)}; "
                "keep one decorator."
            )
        if "a constraint" in marks:
            params = _positional_names(fn)
            if len(params) != 2:
                raise SpecError(
                    f"{_where(cls, name, fn)} is a constraint and must take (self, state), "
                    f"not ({', '.join(params)})."
                )
            constraints.append((name, fn))
        elif info is not None:
            params = _positional_names(fn)
            expected = ["self", "state", *(n for n, _ in info.domains)]
            if len(params) != len(expected) or params[2:] != expected[2:]:
                raise SpecError(
                    f"{_where(cls, name, fn)} has parameters ({', '.join(params)}) but "
                    f"@action declares ({', '.join(n for n, _ in info.domains) or 'none'}); "
                    f"write it as def {name}({', '.join(expected)}) (the state parameter may "
                    "have any name)."
                )
            actions.append((name, fn, info))
        elif pinfo is not None:
            arity = _PROPERTY_ARITY[pinfo.kind]
            params = _positional_names(fn)
            if len(params) != arity + 1:
                shape = "self, state" if arity == 1 else "self, before, after"
                raise SpecError(
                    f"{_where(cls, name, fn)} is {_KIND_PHRASE[pinfo.kind]} and must take "
                    f"({shape}), not ({', '.join(params)})."
                )
            properties.append((name, fn, pinfo))
    if not actions:
        raise SpecError(
            f"{cls.__name__} declares no actions; mark each transition method with @action."
        )
    families = {name for name, _, _ in actions}
    for name, fn, pinfo in properties:
        if pinfo.kind == "leads_to":
            _check_trigger(cls, name, fn, pinfo.trigger)
        for fam in pinfo.using or ():
            if fam not in families:
                raise SpecError(
                    f"{_where(cls, name, fn)}: @recoverable(using=...) names {fam!r}, which is "
                    f"not an action family.{closest(fam, families)}"
                )
    return _ClassScan(tuple(actions), tuple(properties), tuple(constraints))


def _check_trigger(cls: type, name: str, fn: Callable[..., Any], trigger: Any) -> None:
    """A ``@leads_to`` trigger must be a method name of ``cls`` or a function (self, state)."""
    where = _where(cls, name, fn)
    if isinstance(trigger, str):
        target = getattr(cls, trigger, None)
        if target is None or not callable(target):
            methods = [n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n))]
            raise SpecError(
                f"{where}: @leads_to({trigger!r}) names no method of {cls.__name__}."
                f"{closest(trigger, methods)} Name a method (self, state) -> bool, or give a "
                "function: @leads_to(lambda self, s: ...)."
            )
        trigger = target
    try:
        params = _positional_names(trigger)
    except (TypeError, ValueError):
        return  # a builtin: it is called as trigger(spec, state)
    if len(params) != 2:
        raise SpecError(
            f"{where}: the @leads_to trigger must take (self, state), not ({', '.join(params)})."
        )


def _bound_trigger(spec: Spec, trigger: Any) -> Callable[[Any], Any]:
    if isinstance(trigger, str):
        return getattr(spec, trigger)
    return lambda state: trigger(spec, state)


def _fairness(
    spec: Spec, model_actions: list[ActionInstance], scan: _ClassScan
) -> tuple[FairnessDef, ...]:
    """The fairness conditions the spec's ``@action(fair=...)`` declarations give."""
    out: list[FairnessDef] = []
    for name, fn, info in scan.actions:
        kind = info.fair
        if callable(kind):
            try:
                kind = kind(spec)
            except Exception as exc:
                raise SpecError(
                    f"{_where(type(spec), name, fn)}: @action(fair=...) is a function of the "
                    f"spec and raised {type(exc).__name__}: {exc}"
                ) from exc
            if kind is not None and kind not in ("weak", "strong"):
                raise SpecError(
                    f"{_where(type(spec), name, fn)}: @action(fair=...) returned {kind!r}; it "
                    "must return 'weak', 'strong' or None"
                )
        if kind is None:
            continue
        prefix = "WF" if kind == "weak" else "SF"
        members = [a for a in model_actions if a.family == name]
        if not members:
            continue
        if info.fair_scope == "family" or (len(members) == 1 and not members[0].args):
            indices = frozenset(a.index for a in members)
            out.append(FairnessDef(kind, f"{prefix}({name})", name, indices))
        else:
            out.extend(
                FairnessDef(kind, f"{prefix}({a.label})", name, frozenset((a.index,)))
                for a in members
            )
    return tuple(out)


def _definition_order(cls: type) -> list[str]:
    # Base classes first, then each class's own definition order: stable and
    # independent of hash seeds.
    order: list[str] = []
    for klass in reversed(cls.__mro__):
        for name in vars(klass):
            if name not in order:
                order.append(name)
    return order


def _positional_names(fn: Callable[..., Any]) -> list[str]:
    sig = inspect.signature(fn)
    return [
        p.name
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]


def _state_dependent(
    cls: type, family: str, pname: str, domain: Any, earlier: list[str]
) -> tuple[str, ...] | None:
    """The earlier parameters a state-dependent domain takes, or ``None`` for a spec-level one.

    The rule: a function of one positional parameter gets the spec and is
    computed once; a function of two or more gets the spec, the state and
    then earlier parameters of the action by name, and is computed per state.
    """
    if isinstance(domain, str) or not callable(domain):
        return None
    try:
        params = inspect.signature(domain).parameters.values()
    except (TypeError, ValueError):
        return None  # a builtin or class: called with the spec, as before
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    where = f"{cls.__name__}.{family}"
    shapes = (
        "lambda self: ... (computed once from the spec) or lambda self, s: ... (computed in "
        "each state s"
        + (
            f"; add earlier parameters by name: lambda self, s, {earlier[0]}: ...)"
            if earlier
            else ")"
        )
    )
    if not names:
        raise SpecError(
            f"{where}: the domain of {pname!r} is a function of no parameters; write {shapes}."
        )
    if len(names) == 1:
        return None
    unknown = [n for n in names[2:] if n not in earlier]
    if unknown:
        raise SpecError(
            f"{where}: the domain of {pname!r} takes ({', '.join(names)}), but "
            f"{', '.join(repr(n) for n in unknown)} "
            f"{'is not a parameter' if len(unknown) == 1 else 'are not parameters'} of "
            f"{family} declared before {pname!r} (those are: {', '.join(earlier) or 'none'}). "
            f"A domain is {shapes}."
        )
    return tuple(names[2:])


def _domain_values(spec: Spec, family: str, pname: str, domain: Any) -> list[Any]:
    cls = type(spec)
    where = f"{cls.__name__}.{family}"
    if isinstance(domain, str):
        params = spec.parameters
        if domain not in params:
            raise SpecError(
                f"{where}: the domain of {pname!r} names {domain!r}, which is not a parameter "
                f"of {cls.__name__}.{closest(domain, params)} Name an int parameter "
                "(meaning range(value)) or give an iterable."
            )
        value = params[domain]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise SpecError(
                f"{where}: the domain of {pname!r} is range({domain}) but {domain}={value!r} "
                "is not a non-negative int."
            )
        return list(range(value))
    if isinstance(domain, int) and not isinstance(domain, bool):
        if domain < 0:
            raise SpecError(
                f"{where}: the domain of {pname!r} is {domain}; an int domain n means "
                "range(n), so give a non-negative int (or an iterable of values)."
            )
        return list(range(domain))  # @action(i=3): i in 0, 1, 2, as for a parameter's name
    try:
        values = list(_in_order(domain(spec) if callable(domain) else domain))
    except Exception as exc:
        hint = (
            " A domain function of one parameter is given the spec; to choose from the state, "
            "write lambda self, s: ... (see 'State-dependent choices' in the README)."
            if callable(domain)
            else ""
        )
        raise SpecError(
            f"{where}: computing the domain of {pname!r} failed: {exc!r}.{hint}"
        ) from exc
    for v in values:
        try:
            hash(v)
        except TypeError:
            raise SpecError(
                f"{where}: the domain of {pname!r} contains the unhashable value {v!r}; "
                "use ints, strings or tuples."
            ) from None
    return values


def _canonical_order(values: Any) -> list[Any]:
    """A state-dependent domain's values in the one canonical order, without repeats.

    Which value an existential choice tries first only decides which of
    several shortest traces is found first; sorting makes that the same on
    every run even when the spec builds the domain by iterating a set
    (``[m[1] for m in s.msgs]``), whose order changes with ``PYTHONHASHSEED``.
    Values with no canonical order keep the order the spec gave.
    """
    unique = list(dict.fromkeys(values))
    try:
        return sorted(unique, key=canonical_key)
    except TypeError:
        return unique


def _in_order(values: Any) -> Any:
    # A set's iteration order depends on hash seeds (strings): enumerate it
    # sorted so that searches and traces are the same on every run.
    if isinstance(values, set | frozenset):
        try:
            return sorted(values, key=canonical_key)
        except TypeError:  # a value canonical_key has no order for
            return sorted(values, key=repr)
    return values


def _chooser(
    spec: Spec,
    family: str,
    fixed: dict[str, Any],
    rest: list[tuple[str, Any, tuple[str, ...] | None]],
) -> Callable[[Any], list[tuple[Any, ...]]]:
    """``state -> [values of the rest, ...]``: every choice of the per-state parameters.

    ``rest`` holds ``(name, domain, earlier)`` in declaration order: a list of
    values when ``earlier`` is ``None``, else a function of
    ``(spec, state, *earlier)``.
    """
    where = f"{type(spec).__name__}.{family}"

    def values_of(i: int, state: Any, bound: dict[str, Any]) -> Any:
        name, domain, earlier = rest[i]
        if earlier is None:
            return domain
        try:
            produced = domain(spec, state, *(bound[n] for n in earlier))
        except Exception as exc:
            # Engines that explain a failure (the z3 engine) can say it was
            # the domain, not the action's body, that failed.
            if not hasattr(exc, "modelcheck_domain"):
                exc.modelcheck_domain = name  # type: ignore[attr-defined]
            raise
        if produced is None or isinstance(produced, str):
            raise SpecError(
                f"{where}: the state-dependent domain of {name!r} returned {produced!r}; "
                "return an iterable of values (an empty one when there is no choice)."
            )
        return _canonical_order(produced)

    if len(rest) == 1:
        return lambda state: [(v,) for v in values_of(0, state, fixed)]

    def choices(state: Any) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        bound = dict(fixed)

        def extend(i: int, acc: tuple[Any, ...]) -> None:
            if i == len(rest):
                out.append(acc)
                return
            for v in values_of(i, state, bound):
                bound[rest[i][0]] = v
                extend(i + 1, (*acc, v))

        extend(0, ())
        return out

    return choices


def _labelled_calls(
    bound: Callable[..., Any],
    family: str,
    info: ActionInfo,
    fixed: tuple[tuple[str, Any], ...],
    choices: Callable[[Any], list[tuple[Any, ...]]] | None,
    chosen: tuple[str, ...],
) -> tuple[Callable[[Any], list[Any]] | None, Callable[[Any], list[tuple[Arguments, Any]]]]:
    """``(call, labelled)`` of a state-dependent or nondeterministic instance.

    ``call`` (``None`` for a plain nondeterministic instance, which keeps its
    own) gives the next states; ``labelled`` the steps with their arguments.
    """
    prefix = tuple(v for _, v in fixed)
    names = {*chosen, *(k for k, _ in fixed)}

    def outcomes(state: Any, values: tuple[Any, ...]) -> list[Any]:
        result = bound(state, *prefix, *values)
        if not info.nondeterministic:
            return [] if result is None else [result]
        if result is None:
            label = ", ".join(f"{k}={v!r}" for k, v in (*fixed, *zip(chosen, values, strict=True)))
            raise SpecError(_returned_none(family, f"{family}({label})"))
        return list(result)

    def labelled(state: Any) -> list[tuple[Arguments, Any]]:
        steps: list[tuple[Arguments, Any]] = []
        for values in choices(state) if choices is not None else [()]:
            args = (*fixed, *zip(chosen, values, strict=True))
            for t in outcomes(state, values):
                if type(t) is Choice:
                    clash = [k for k, _ in t.labels if k in names]
                    if clash:
                        raise SpecError(
                            f"{family} yielded a Choice labelled {clash[0]!r}, which is also "
                            f"a parameter of {family}; give the label another name."
                        )
                    steps.append(((*args, *t.labels), t.state))
                else:
                    steps.append((args, t))
        return steps

    if choices is None:
        return None, labelled

    def call(state: Any) -> list[Any]:
        out: list[Any] = []
        for values in choices(state):
            for t in outcomes(state, values):
                out.append(t.state if type(t) is Choice else t)
        return out

    return call, labelled


def _returned_none(family: str, label: str) -> str:
    return (
        f"{family} is declared @action(nondeterministic=True) but returned None as {label}; "
        "return an empty list when it is not enabled."
    )


def _bind_action(
    bound: Callable[..., Any], args: tuple[Any, ...]
) -> tuple[Callable[[Any], Any], tuple[Callable[[Any, Any], Any], Any]]:
    if not args:
        return bound, (lambda s, _unused: bound(s), None)
    if len(args) == 1:
        (a,) = args
        return (lambda s: bound(s, a)), (bound, a)
    call = lambda s: bound(s, *args)  # noqa: E731
    return call, (lambda s, _unused: call(s), None)


def _actor_name(info: ActionInfo, family: str, args: tuple[tuple[str, Any], ...]) -> str | None:
    if info.actor is None:
        return None
    if callable(info.actor):
        return str(info.actor(**dict(args)))
    return info.actor


def _warn_if_empty(spec: Spec, family: str, info: ActionInfo, fixed: list[Any]) -> None:
    # An empty fixed domain leaves the family with no instance: it can never
    # run, and nothing else would say so (coverage lists instances only).
    for (pname, domain), values in zip(info.domains, fixed, strict=False):
        if values:
            continue
        given = (
            f"range({domain}) with {domain}={spec.parameters[domain]!r}"
            if isinstance(domain, str)
            else "no values"
        )
        warnings.warn(
            SpecWarning(
                f"{type(spec).__name__}.{family}: the domain of {pname!r} is empty ({given}), "
                f"so {family} has no instances and never runs. Check the parameters, or "
                "make the domain a function of the state (lambda self, s: ...) if it should "
                "be empty only in some states."
            ),
            stacklevel=3,
        )
        return


def _actor_of(info: ActionInfo, family: str, names: list[str]) -> Callable[[Arguments], str | None]:
    # A step's actor from its arguments: only the declared parameters (not
    # Choice labels) reach a callable ``actor``.
    return lambda args: _actor_name(info, family, tuple((k, v) for k, v in args if k in names))


def compile_spec(spec: Spec) -> Model:
    """Validate ``spec`` and build the :class:`Model` the engines use.

    A :class:`Model` is returned as it is, so library calls accept either.
    """
    if isinstance(spec, Model):
        return spec
    if not isinstance(spec, Spec):
        shown = repr(spec) if len(repr(spec)) <= 80 else f"a {type(spec).__name__} object"
        raise SpecError(
            f"{shown} is not a modelcheck spec; specs subclass modelcheck.Spec "
            "and are instantiated with their parameters, e.g. DnsRace(enactors=3)."
        )
    started = time.perf_counter()
    cls = type(spec)
    scan = _scan(cls)
    instances: list[ActionInstance] = []
    for name, fn, info in scan.actions:
        names = [n for n, _ in info.domains]
        kinds = [
            _state_dependent(cls, name, n, d, names[:i]) for i, (n, d) in enumerate(info.domains)
        ]
        # Parameters before the first state-dependent one are fixed per
        # instance (the fast path); the rest are chosen in each state.
        split = next((i for i, k in enumerate(kinds) if k is not None), len(names))
        domains = [
            _domain_values(spec, name, n, d) if k is None else d
            for (n, d), k in zip(info.domains, kinds, strict=True)
        ]
        _warn_if_empty(spec, name, info, domains[:split])
        bound = fn.__get__(spec, cls)
        for values in itertools.product(*domains[:split]):
            args = tuple(zip(names[:split], values, strict=True))
            chosen = tuple(names[split:])
            call, fast = _bind_action(bound, values)
            labelled = None
            if chosen or info.nondeterministic:
                choices = (
                    _chooser(
                        spec,
                        name,
                        dict(args),
                        [(n, domains[i], kinds[i]) for i, n in enumerate(names) if i >= split],
                    )
                    if chosen
                    else None
                )
                own_call, labelled = _labelled_calls(bound, name, info, args, choices, chosen)
                if own_call is not None:
                    call, fast = own_call, (lambda s, _unused, c=own_call: c(s), None)
            instances.append(
                ActionInstance(
                    index=len(instances),
                    family=name,
                    args=args,
                    nondeterministic=info.nondeterministic or bool(chosen),
                    call=call,
                    actor=None
                    if chosen and callable(info.actor)
                    else _actor_name(info, name, args),
                    fast=fast,
                    chosen=chosen,
                    labelled=labelled,
                    actor_of=_actor_of(info, name, names),
                )
            )
    initial = _initial_states(spec)
    defined = tuple(
        PropertyDef(
            name=name,
            kind=pinfo.kind,
            doc=inspect.getdoc(fn) or "",
            check=_step_check(fn.__get__(spec, cls), pinfo, _where(cls, name, fn), initial[0]),
            using=None if pinfo.using is None else frozenset(pinfo.using),
            source=_where(cls, name, fn),
            lemma=pinfo.lemma,
            trigger=None if pinfo.trigger is None else _bound_trigger(spec, pinfo.trigger),
        )
        for name, fn, pinfo in scan.properties
    )
    properties = tuple(p for p in defined if not p.lemma)
    return Model(
        spec=spec,
        name=cls.__name__,
        parameters=spec.parameters,
        initial_states=initial,
        actions=tuple(instances),
        properties=properties,
        lemmas=tuple(p for p in defined if p.lemma),
        components=checked_components(cls, initial[0]),
        compile_seconds=time.perf_counter() - started,
        constraints=tuple(
            ConstraintDef(name, fn.__get__(spec, cls), _where(cls, name, fn))
            for name, fn in scan.constraints
        ),
        fairness=_fairness(spec, instances, scan),
        operators=frozenset(name for name, _fn, info in scan.actions if info.operator),
        symmetry=compile_symmetry(spec, initial[0]),
    )


# --- the spec's components declaration (read by modelcheck.components for diagrams) ----


def checked_components(cls: type, example_state: Any) -> dict[str, str]:
    """Validate ``cls.components`` against the fields of ``example_state``."""
    declared = getattr(cls, "components", None) or {}
    where = f"{cls.__name__}.components"
    if not isinstance(declared, Mapping):
        raise SpecError(
            f"{where} must be a dict of state field -> component name, e.g. "
            '{"store": "Plan store", "dns": "DNS {}"}; got ' + f"{type(declared).__name__}."
        )
    fields = state_fields(example_state) or {}
    out: dict[str, str] = {}
    for field, name in declared.items():
        if field not in fields:
            raise SpecError(
                f"{where} names {field!r}, which is not a field of "
                f"{type(example_state).__name__}.{closest(str(field), fields)} "
                f"Its fields: {', '.join(fields)}."
            )
        if not isinstance(name, str) or not name:
            raise SpecError(f"{where}[{field!r}] must be a non-empty string, not {name!r}.")
        try:
            component_name(name, 0)
        except (IndexError, KeyError, ValueError) as exc:
            raise SpecError(
                f"{where}[{field!r}] = {name!r} is not a valid name pattern ({exc}); use "
                "{} (or {i}) where the position goes, e.g. 'DNS {}'."
            ) from None
        if splits_per_position(name) and not isinstance(fields[field], tuple):
            raise SpecError(
                f"{where}[{field!r}] = {name!r} splits the field per position, but "
                f"{field} is a {type(fields[field]).__name__}, not a tuple; drop the {{}}."
            )
        out[str(field)] = name
    return out


def splits_per_position(name: str) -> bool:
    """Whether a component name is a pattern with a place for the position (``"DNS {}"``)."""
    return component_name(name, 0) != name


def component_name(name: str, index: int) -> str:
    """The name of the component at ``index`` of a tuple field declared with pattern ``name``."""
    return name.format(index, i=index)


def _step_check(
    check: Callable[..., Any], info: PropertyInfo, where: str, example: Any
) -> Callable[..., Any]:
    """The check of an action property; with ``changing``, TLA+'s ``[A]_v``.

    Written with ``==`` and ``or`` (not a loop over ``getattr`` results in
    a set) so that it also runs on the symbolic engine's values.
    """
    if info.changing is None:
        return check
    names = state_fields(example)
    for field in info.changing:
        if names is not None and field not in names:
            raise SpecError(
                f"{where}: @action_property(changing=...) names {field!r}, which is not a "
                f"field of {type(example).__name__}.{closest(field, names)}"
            )
    fields = info.changing

    def stuttering_allowed(before: Any, after: Any) -> Any:
        for field in fields:
            if not getattr(before, field) == getattr(after, field):
                return check(before, after)
        return True

    return stuttering_allowed


def _initial_states(spec: Spec) -> tuple[Any, ...]:
    cls = type(spec)
    try:
        produced = spec.initial_states()
        states: Sequence[Any] = [produced] if is_frozen_state(produced) else list(produced)
    except SpecError:
        raise
    except NotImplementedError as exc:
        raise SpecError(str(exc)) from None
    except Exception as exc:
        raise SpecRuntimeError(
            f"{cls.__name__}.initial_states raised {type(exc).__name__}: {exc}"
        ) from exc
    if not states:
        raise SpecError(f"{cls.__name__}.initial_states returned no state; return at least one.")
    unique: dict[Any, None] = {}
    first_type = type(states[0])
    for st in states:
        check_state(st, f"{cls.__name__}.initial_states")
        if type(st) is not first_type:
            raise SpecError(
                f"{cls.__name__}.initial_states returned states of two types "
                f"({first_type.__name__} and {type(st).__name__}); use one state class."
            )
        unique.setdefault(st, None)
    return tuple(unique)


def check_state(st: Any, where: str) -> None:
    """Raise a :class:`SpecError` unless ``st`` is an immutable, hashable state."""
    if not is_frozen_state(st):
        raise SpecError(
            f"{where} produced {st!r} ({type(st).__name__}), which is not an immutable "
            "state record. Declare the state as a subclass of modelcheck.State (or a frozen "
            "attrs class) and return instances of it."
        )
    try:
        hash(st)
    except TypeError as exc:
        raise SpecError(
            f"{where} produced a state with an unhashable field ({exc}): {st!r}. "
            "State fields must be immutable: use tuple instead of list, frozenset instead "
            "of set."
        ) from None
