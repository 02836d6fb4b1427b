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
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import Any

import attrs

from modelcheck.components import checked_components
from modelcheck.containers import canonical_key
from modelcheck.errors import SpecError, SpecRuntimeError, closest
from modelcheck.spec import (
    _ACTION_ATTR,
    _CONSTRAINT_ATTR,
    _PROPERTY_ATTR,
    ActionInfo,
    PropertyInfo,
    PropertyKind,
    Spec,
)
from modelcheck.state import is_frozen_state, state_fields
from modelcheck.trace import Step, Trace


@attrs.frozen
class ActionInstance:
    """One member of an action family: the family with its arguments fixed.

    ``call(state)`` returns the next state or ``None`` (deterministic
    actions), or an iterable of next states (nondeterministic ones).
    """

    index: int
    family: str
    args: tuple[tuple[str, Any], ...]
    nondeterministic: bool
    call: Callable[[Any], Any] = attrs.field(repr=False, eq=False)
    actor: str | None = None
    #: ``(function, argument)`` such that ``function(state, argument)`` equals
    #: ``call(state)``; engines' hot loops use it to save a Python call for
    #: the common one-parameter family.
    fast: tuple[Callable[[Any, Any], Any], Any] = attrs.field(repr=False, eq=False, default=None)

    @property
    def label(self) -> str:
        """``family(name=value, ...)``, as shown in traces."""
        inner = ", ".join(f"{k}={v!r}" for k, v in self.args)
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
                raise SpecError(
                    f"{self.family} is declared @action(nondeterministic=True) but returned "
                    f"None as {self.label}; return an empty list when it is not enabled."
                )
            return list(result)
        return [] if result is None else [result]


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
        """The action instance with this family and these arguments, if any."""
        wanted = tuple(sorted(arguments.items()))
        for act in self.actions:
            if act.family == family and tuple(sorted(act.args)) == wanted:
                return act
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
        return Trace(
            initial,
            tuple(Step(act.family, act.args, state, act.actor) for act, state in steps),
            spec=self.name,
            parameters=dict(self.parameters),
            violates=violates,
            kind=kind,
            reason=reason,
        )

    def action_between(self, before: Any, after: Any) -> ActionInstance:
        """The first action (in declaration order) that leads from ``before`` to ``after``."""
        for act in self.actions:
            if after in act.successors(before):
                return act
        raise SpecError(
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


_PROPERTY_ARITY = {"invariant": 1, "action": 2, "terminal": 1, "recoverable": 1, "reachable": 1}
_KIND_PHRASE = {
    "invariant": "an invariant",
    "action": "an action property",
    "terminal": "a terminal-state property",
    "recoverable": "a recoverable property",
    "reachable": "a reachable (possibility) property",
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
        for fam in pinfo.using or ():
            if fam not in families:
                raise SpecError(
                    f"{_where(cls, name, fn)}: @recoverable(using=...) names {fam!r}, which is "
                    f"not an action family.{closest(fam, families)}"
                )
    return _ClassScan(tuple(actions), tuple(properties), tuple(constraints))


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
    try:
        values = domain(spec) if callable(domain) else domain
        if isinstance(values, frozenset | set):
            # A set's order changes with PYTHONHASHSEED; action order must not.
            values = sorted(values, key=canonical_key)
        values = list(values)
    except Exception as exc:
        raise SpecError(f"{where}: computing the domain of {pname!r} failed: {exc!r}") from exc
    for v in values:
        try:
            hash(v)
        except TypeError:
            raise SpecError(
                f"{where}: the domain of {pname!r} contains the unhashable value {v!r}; "
                "use ints, strings or tuples."
            ) from None
    return values


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
        domains = [_domain_values(spec, name, n, d) for n, d in info.domains]
        bound = fn.__get__(spec, cls)
        for values in itertools.product(*domains):
            args = tuple(zip(names, values, strict=True))
            call, fast = _bind_action(bound, values)
            instances.append(
                ActionInstance(
                    index=len(instances),
                    family=name,
                    args=args,
                    nondeterministic=info.nondeterministic,
                    call=call,
                    actor=_actor_name(info, name, args),
                    fast=fast,
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
    )


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
