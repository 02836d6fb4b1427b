"""A trace as a sequence of messages between actors and components.

The diagram-neutral layout shared by the Mermaid renderer and the SVG drawn
by the HTML report: one participant per actor (in order of first step) and
per component written (in order of first write), one message per step from
its actor to the first shared component it writes (to itself when it only
changes its own state), and the violation.
"""

from __future__ import annotations

import attrs

from modelcheck.components import Ownership, actor_of, element_changes
from modelcheck.render.text import fields_of
from modelcheck.state import format_value
from modelcheck.trace import Trace


@attrs.frozen
class Participant:
    """A lifeline: an actor or a shared component."""

    key: str
    name: str
    is_actor: bool


@attrs.frozen
class Message:
    """One step as an arrow from ``source`` to ``target`` (participant names)."""

    step: int
    source: str
    target: str
    action: str
    #: ``(field label, new value)`` of every field the step changed, shared ones first.
    writes: tuple[tuple[str, str], ...]

    @property
    def text(self) -> str:
        """``7 apply(e=0): dns[0]=2, next[0]=1``."""
        written = ", ".join(f"{k}={v}" for k, v in self.writes) or "(no change)"
        return f"{self.step} {self.action}: {written}"


@attrs.frozen
class Sequence:
    """Participants, messages, and the note on the violated property."""

    participants: tuple[Participant, ...]
    messages: tuple[Message, ...]
    #: ``"<property> violated: <reason>"`` or None for a plain run.
    violation: str | None
    #: The participants the note spans (one or two names).
    note_over: tuple[str, ...]

    def key(self, name: str) -> str:
        """The identifier of the participant called ``name``."""
        return next(p.key for p in self.participants if p.name == name)


def build_sequence(trace: Trace) -> Sequence:
    """Lay out ``trace`` as a :class:`Sequence`."""
    owners = Ownership(trace)
    actors = list(owners.actors)
    components: list[str] = []
    messages = []
    before = fields_of(trace.initial)
    for n, step in enumerate(trace.steps, start=1):
        after = fields_of(step.state)
        actor = actor_of(step)
        shared: list[tuple[str, str]] = []
        own: list[tuple[str, str]] = []
        target = None
        for field, index, _, new in element_changes(before, after):
            label = field if index is None else f"{field}[{index}]"
            comp = owners.component(field, index)
            if owners.is_actor(comp):
                own.append((label, format_value(new)))
                continue
            shared.append((label, format_value(new)))
            if comp not in components:
                components.append(comp)
            if target is None:
                target = comp
        messages.append(Message(n, actor, target or actor, step.label, tuple(shared + own)))
        before = after
    names = actors + [c for c in components if c not in actors]
    if not names:
        names = [trace.spec or DEFAULT_NAME]
    participants = tuple(
        Participant(f"P{i}", name, name in actors or (name == DEFAULT_NAME and not messages))
        for i, name in enumerate(names, start=1)
    )
    violation = None
    if trace.violates:
        violation = f"{trace.violates} violated"
        if trace.reason.startswith(trace.violates):
            violation = trace.reason
        elif trace.reason:
            violation += f": {trace.reason}"
    if messages:
        last = messages[-1]
        over = (last.source,) if last.source == last.target else (last.source, last.target)
    else:
        over = (names[0],)
    return Sequence(participants, tuple(messages), violation, over)


#: The one participant of a trace with no step.
DEFAULT_NAME = "System"
