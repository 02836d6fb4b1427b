"""What users write: the :class:`Spec` base class and its decorators.

A spec is a class whose attributes are its parameters.  Subclassing
:class:`Spec` makes it a frozen attrs class, so ``DnsRace(enactors=3)`` just
works.  Methods carry decorators that only *record* what they are (an action
family, an invariant, ...); :func:`modelcheck.model.compile_spec` scans the
class once, validates it and builds the contract the engines consume.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Literal, TypeVar, dataclass_transform

import attrs

F = TypeVar("F", bound=Callable[..., Any])

#: How an action parameter's domain may be given: the name of an ``int`` spec
#: parameter (meaning ``range(value)``), a fixed iterable, a function of the
#: spec returning an iterable (``lambda self: ...``, computed once), or a
#: function of the spec, the state and earlier parameters by name
#: (``lambda self, s: ...``, ``lambda self, s, r: ...``, computed in each
#: state).  The number of positional parameters tells the two kinds apart.
Domain = str | Iterable[Any] | Callable[..., Iterable[Any]]

PropertyKind = Literal[
    "invariant",
    "action",
    "terminal",
    "recoverable",
    "reachable",
    "eventually",
    "leads_to",
    "always_eventually",
    "eventually_always",
]

#: The property kinds about infinite runs (checked on the whole state graph
#: by a fair-cycle search, see :mod:`modelcheck.engines.liveness`).
LIVENESS_KINDS = ("eventually", "leads_to", "always_eventually", "eventually_always")

#: Kinds of fairness an action family can be declared with (``@action(fair=...)``).
FAIRNESS_KINDS = ("weak", "strong")
#: What a fairness declaration applies to: each instance on its own, or the family as one.
FAIRNESS_SCOPES = ("instance", "family")


@attrs.frozen
class ActionInfo:
    """What ``@action`` recorded on a method."""

    domains: tuple[tuple[str, Domain], ...]
    nondeterministic: bool
    actor: str | Callable[..., str] | None
    #: ``"weak"``, ``"strong"`` or ``None`` (no fairness: the default), or a
    #: function of the spec giving one of them.
    fair: str | Callable[[Any], str | None] | None = None
    #: ``"instance"`` (each instance is fair on its own) or ``"family"``.
    fair_scope: str = "instance"
    #: An operator's action (a person's, not the automation's): a recoverability
    #: property that excludes it asks what the automation can do alone.
    operator: bool = False


@attrs.frozen
class PropertyInfo:
    """What a property decorator recorded on a method."""

    kind: PropertyKind
    using: tuple[str, ...] | None = None
    #: An auxiliary invariant stated to help ``prove`` (k-induction), which
    #: proves it too; the explicit engines ignore it.
    lemma: bool = False
    #: For an action property: the fields of ``[A]_v`` (checked only on steps
    #: that change one of them); ``None`` checks every step.
    changing: tuple[str, ...] | None = None
    #: For ``leads_to``: the trigger ``P`` of ``P ~> Q`` (the decorated method is ``Q``),
    #: a function ``(self, state) -> bool`` or the name of a method of the spec.
    trigger: Callable[..., Any] | str | None = None


_ACTION_ATTR = "__modelcheck_action__"
_PROPERTY_ATTR = "__modelcheck_property__"
_CONSTRAINT_ATTR = "__modelcheck_constraint__"


def action(
    _fn: F | None = None,
    *,
    nondeterministic: bool = False,
    actor: str | Callable[..., str] | None = None,
    fair: str | Callable[[Any], str | None] | None = None,
    fair_scope: str = "instance",
    operator: bool = False,
    **domains: Domain,
) -> Any:
    """Declare an action family.

    The method takes the spec, the current state and one argument per
    keyword given here; each keyword names a parameter and gives its finite
    domain::

        @action(e="enactors")            # e in range(self.enactors)
        def pickup(self, s, e): ...

    A domain may depend on the state (and on parameters declared before it):
    a function of two or more positional parameters is called per state with
    the spec, the state and those earlier parameters by name::

        @action(m=lambda self, s: s.msgs)   # m in the messages of this state
        def recv(self, s, m): ...

    It returns the next state, or ``None`` when the action is not enabled.
    With ``nondeterministic=True`` it instead returns an iterable of next
    states (empty when disabled); an item may be a :class:`Choice` to name
    the branch it took in traces.  ``actor`` names who performs the action in
    diagrams (a string, or a function of the action's arguments).

    ``fair`` declares fairness for the liveness properties (``@eventually``,
    ``@leads_to``, ...); without it an action is unfair, so a run may ignore
    it forever.  ``fair="weak"``: a run in which the action is enabled in
    every state from some point on must take it again and again (TLA+'s
    ``WF``); ``fair="strong"``: a run in which it is enabled again and again
    must take it again and again (``SF``).  By default each instance is fair
    on its own (``\\A e: WF(pickup(e))``: no Enactor is starved);
    ``fair_scope="family"`` makes the family fair as one action
    (``WF(\\E e: pickup(e))``: some Enactor progresses).  ``fair`` may
    also be a function of the spec (``fair=lambda self: "weak" if
    self.fair else None``), so that a parameter turns fairness on.

    ``operator=True`` marks an operator's action (a person's intervention,
    not the automation's).  A ``@recoverable`` property whose ``using``
    leaves it out asks whether the automation can recover alone, and where
    it cannot, the report says whether an operator can, and with which
    action.
    """
    if fair is not None and not callable(fair) and fair not in FAIRNESS_KINDS:
        raise TypeError(f"@action(fair={fair!r}): fair must be 'weak', 'strong' or None")
    if fair_scope not in FAIRNESS_SCOPES:
        raise TypeError(
            f"@action(fair_scope={fair_scope!r}): fair_scope must be 'instance' or 'family'"
        )

    def mark(fn: F) -> F:
        setattr(
            fn,
            _ACTION_ATTR,
            ActionInfo(tuple(domains.items()), nondeterministic, actor, fair, fair_scope, operator),
        )
        return fn

    if _fn is not None:
        if domains or nondeterministic or actor is not None or fair is not None or operator:
            raise TypeError("use @action or @action(...), not both")
        return mark(_fn)
    return mark


class Choice:
    """One outcome of a nondeterministic action, with the choice that produced it.

    ``yield Choice(next_state, outcome="lost")`` from an
    ``@action(nondeterministic=True)`` method makes the step read
    ``send(outcome='lost')`` in every trace, and lets ``replay`` re-take that
    branch.  The labels are keyword arguments with hashable values; a plain
    state (no :class:`Choice`) still works and shows no label.
    """

    __slots__ = ("labels", "state")

    def __init__(self, state: Any, /, **labels: Any) -> None:
        self.state = state
        self.labels: tuple[tuple[str, Any], ...] = tuple(labels.items())

    def __repr__(self) -> str:
        inner = "".join(f", {k}={v!r}" for k, v in self.labels)
        return f"Choice({self.state!r}{inner})"


def _property_decorator(kind: PropertyKind) -> Callable[..., Any]:
    def mark(fn: F) -> F:
        setattr(fn, _PROPERTY_ATTR, PropertyInfo(kind))
        return fn

    def decorator(_fn: F | None = None) -> Any:
        # Both @invariant and @invariant() work, like @action and @recoverable.
        return mark(_fn) if _fn is not None else mark

    return decorator


def invariant(_fn: F | None = None, *, lemma: bool = False) -> Any:
    """Declare an invariant: ``f(self, state) -> bool`` must hold in every state.

    ``@invariant(lemma=True)`` marks an auxiliary invariant: a fact stated to
    make another property provable by ``modelcheck prove`` (k-induction).
    ``prove`` proves each lemma before relying on it; the explicit engines
    ignore lemmas, so they never change what ``check`` reports.
    """

    def mark(fn: F) -> F:
        setattr(fn, _PROPERTY_ATTR, PropertyInfo("invariant", lemma=lemma))
        return fn

    return mark(_fn) if _fn is not None else mark


def action_property(_fn: F | None = None, *, changing: str | Iterable[str] | None = None) -> Any:
    """Declare an action property: ``f(self, before, after) -> bool`` must hold on every step.

    Every step means every transition an action returns, self-loops (an
    action returning the state it was given) included.  ``changing`` names
    state fields and gives TLA+'s ``[A]_v``: the property is then checked
    only on steps that change at least one of them, and steps that leave
    them all as they were (stuttering steps, for those fields) pass.
    """
    if isinstance(changing, str):
        changing = (changing,)  # changing="x" means the one field
    fields = None if changing is None else tuple(changing)
    if fields is not None and not fields:
        raise TypeError("@action_property(changing=...) needs at least one field name")

    def mark(fn: F) -> F:
        setattr(fn, _PROPERTY_ATTR, PropertyInfo("action", changing=fields))
        return fn

    return mark(_fn) if _fn is not None else mark


terminal = _property_decorator("terminal")
terminal.__doc__ = (
    "Declare the deadlock check: ``f(self, state) -> bool`` must hold in every state "
    "with no enabled action (a state failing it is an unexpected deadlock)."
)

reachable = _property_decorator("reachable")
reachable.__doc__ = (
    "Declare a possibility: ``f(self, state) -> bool`` must be true in *some* reachable "
    "state.  ``check`` shows the shortest run to such a state (a witness) and fails when a "
    "complete search finds none."
)


eventually = _property_decorator("eventually")
eventually.__doc__ = (
    "Declare ``<>P``: on every run, ``f(self, state) -> bool`` is true in some state.  Runs are "
    "infinite (a state with no enabled action stutters forever) and must be fair for the "
    "actions declared ``@action(fair=...)``; a counterexample is a lasso: a prefix and a loop "
    "that repeats forever without ever satisfying ``f``."
)

always_eventually = _property_decorator("always_eventually")
always_eventually.__doc__ = (
    "Declare ``[]<>P``: on every (fair, infinite) run, ``f(self, state) -> bool`` is true again "
    "and again; a counterexample is a lasso whose loop never satisfies ``f``."
)

eventually_always = _property_decorator("eventually_always")
eventually_always.__doc__ = (
    "Declare ``<>[]P``: every (fair, infinite) run reaches a point from which "
    "``f(self, state) -> bool`` stays true; a counterexample is a lasso whose loop has a state "
    "where ``f`` is false."
)


def leads_to(trigger: Callable[..., Any] | str) -> Callable[[F], F]:
    """Declare ``P ~> Q``: whenever ``trigger`` (``P``) holds, ``Q`` holds then or later.

    ``trigger`` is a function ``(self, state) -> bool`` or the name of a
    method of the spec; the decorated method ``f(self, state) -> bool`` is
    ``Q``::

        @leads_to(lambda self, s: s.pc[0] == "waiting")
        def enters(self, s):
            return s.pc[0] == "critical"

    Runs are infinite and fair as for :func:`eventually`; a counterexample
    is a lasso that reaches a state satisfying ``P`` and from there on never
    satisfies ``Q``.  A trigger no reachable state satisfies makes the
    property hold vacuously, and the check warns.
    """
    if not (callable(trigger) or isinstance(trigger, str)):
        raise TypeError(
            "@leads_to(trigger): give the trigger as a function (self, state) -> bool or the "
            f"name of a method of the spec, not {trigger!r}"
        )

    def mark(fn: F) -> F:
        setattr(fn, _PROPERTY_ATTR, PropertyInfo("leads_to", trigger=trigger))
        return fn

    return mark


def constraint(fn: F) -> F:
    """Declare a state constraint: ``f(self, state) -> bool`` bounds the search.

    As with TLC's ``CONSTRAINT``, a state that fails it is not part of the
    explored state space: it is not counted among the distinct states and
    its successors are not computed.  It is still a reachable state of the
    protocol, so the invariants (and ``@reachable`` predicates) are checked
    on it, and action properties on the step that reaches it.  Several
    constraints may be declared; a state must satisfy all of them.
    """
    setattr(fn, _CONSTRAINT_ATTR, True)
    return fn


def recoverable(_fn: F | None = None, *, using: Iterable[str] | None = None) -> Any:
    """Declare "always recoverable": ``f(self, state) -> bool`` names the good states.

    The property holds when from every reachable state some good state is
    reachable.  ``using`` restricts the recovery to the named action
    families (e.g. only the automation, no operator action).
    """

    if isinstance(using, str):
        # using="apply" means the one family, not the letters a, p, p, l, y.
        using = (using,)

    def mark(fn: F) -> F:
        setattr(
            fn,
            _PROPERTY_ATTR,
            PropertyInfo("recoverable", None if using is None else tuple(using)),
        )
        return fn

    return mark(_fn) if _fn is not None else mark


def _names(value: str | Iterable[str]) -> tuple[str, ...]:
    # per_id="pc" means the one field, not the letters p and c.
    return (value,) if isinstance(value, str) else tuple(value)


@attrs.frozen
class Symmetry:
    """A declaration that some process ids are interchangeable (symmetry reduction).

    ``ids`` names an ``int`` spec parameter ``n``: the ids are ``0..n-1``.
    ``per_id`` are the state fields that are tuples indexed by id (entry
    ``i`` belongs to process ``i``); they permute together.  ``holds_id``
    are the fields whose value *is* an id (or a tuple or frozenset of ids):
    they are renamed.  A value in a ``holds_id`` field that is not an id
    (``None``, ``-1``) is left as it is::

        symmetry = Symmetry("enactors", per_id=("pc", "plan", "next"))

    The declaration is a promise the checker relies on: renaming the ids
    maps the initial states to initial states, every step to a step, and
    leaves every property's truth unchanged.  ``check --symmetry`` then
    explores one state per orbit (see :mod:`modelcheck.symmetry`).
    """

    ids: str
    per_id: tuple[str, ...] = attrs.field(converter=_names, default=())
    holds_id: tuple[str, ...] = attrs.field(converter=_names, default=())

    def describe(self) -> str:
        """One line naming the ids and the fields, for reports."""
        parts = [f"per id: {', '.join(self.per_id)}"] if self.per_id else []
        if self.holds_id:
            parts.append(f"renamed: {', '.join(self.holds_id)}")
        return f"{self.ids} ({'; '.join(parts)})"


@dataclass_transform(frozen_default=True, field_specifiers=(attrs.field,))
class Spec:
    """Base class of specs.

    Subclasses are made frozen attrs classes automatically; their annotated
    class attributes are the spec's parameters (give each a default).  A
    subclass implements :meth:`initial_states` and declares actions and
    properties with the decorators of this module.
    """

    __modelcheck_spec__: ClassVar[bool] = True

    #: Which shared component each state field belongs to, for diagrams:
    #: ``{"store": "Plan store", "dns": "DNS {}"}``.  A ``{}`` in the name
    #: splits a tuple field per position (``dns[0]`` is "DNS 0"); a name equal
    #: to an actor's makes the field that actor's own state (``"pc": "Enactor
    #: {}"``).  Undeclared fields get defaults: see :mod:`modelcheck.components`.
    components: ClassVar[Mapping[str, str]] = {}

    #: Which process ids are interchangeable, for ``check --symmetry``: a
    #: :class:`Symmetry` (``None``: no symmetry declared).
    symmetry: ClassVar[Symmetry | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__attrs_attrs__" not in cls.__dict__:
            attrs.define(cls, frozen=True, slots=False, kw_only=True)
        for field in attrs.fields(cls):
            if field.default is attrs.NOTHING:
                # Imported here: errors is a leaf module, but keep spec.py's imports minimal.
                from modelcheck.errors import SpecError

                raise SpecError(
                    f"{cls.__name__}.{field.name}: every spec parameter needs a default "
                    f"(write `{field.name}: {getattr(field.type, '__name__', field.type)} = ...`);"
                    " the command line only overrides defaults with -p."
                )

    def initial_states(self) -> Iterable[Any]:
        """The initial states (at least one)."""
        raise NotImplementedError(
            f"{type(self).__name__} must define initial_states(self) returning its initial states"
        )

    @property
    def parameters(self) -> dict[str, Any]:
        """The spec's parameters and their values, in declaration order."""
        return {a.name: getattr(self, a.name) for a in attrs.fields(type(self))}
