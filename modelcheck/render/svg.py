"""A sequence diagram as inline SVG, drawn without any JavaScript library.

The HTML report embeds this so it works offline: one lifeline per
participant of :func:`~modelcheck.render.sequence.build_sequence`, one arrow
per step (a loop for a step that only changes the actor's own state), and a
note box for the violation.  Each step is a ``<g class="msg"
data-step="N">`` so the report's script can highlight the current one.
"""

from __future__ import annotations

from html import escape

from modelcheck.render.sequence import Sequence

_CHAR = 6.7  # width of one character of the 11px monospace label font, in px
_TOP = 12
_HEAD = 30
_ROW = 34
_SIDE = 16


_LINE = 13  # height of one more line of a wrapped message label


def _longest(lines: list[str]) -> float:
    return max(len(line) for line in lines) * _CHAR


def _text(lines: list[str], x: float, last_y: float, anchor: str) -> str:
    """A ``<text>`` whose last line sits at ``last_y`` (the others above it)."""
    first = last_y - _LINE * (len(lines) - 1)
    spans = "".join(
        f'<tspan x="{x}" y="{first + _LINE * k}">{escape(line)}</tspan>'
        for k, line in enumerate(lines)
    )
    return f'<text x="{x}" y="{first}" text-anchor="{anchor}">{spans}</text>'


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken at spaces (or inside
    a word longer than a line)."""
    words: list[str] = []
    for word in text.split(" "):
        words += [word[i : i + width] for i in range(0, len(word), width)] or [""]
    lines: list[str] = []
    current = ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return [*lines, current] if current else lines


def sequence_svg(seq: Sequence, dom_id: str, culprits: frozenset[int] = frozenset()) -> str:
    """``<svg>`` markup for ``seq``; ``dom_id`` keeps marker ids unique in a page."""
    position = {p.name: k for k, p in enumerate(seq.participants)}
    widest_name = max(len(p.name) for p in seq.participants)
    col = max(140.0, widest_name * _CHAR + 30)
    for m in seq.messages:
        span = abs(position[m.target] - position[m.source])
        need = len(m.text) * _CHAR + 24
        col = max(col, min(340.0, need / span if span else need / 1.6))
    col = round(col)
    width = round(_SIDE * 2 + col * len(seq.participants))
    x = {p.name: _SIDE + col * k + col / 2 for k, p in enumerate(seq.participants)}
    # Labels wrap to the room their arrow gives them (a self-message gets a
    # column and a half), so none is clipped or runs into the next one.
    labels: list[list[str]] = []
    for m in seq.messages:
        span = abs(position[m.target] - position[m.source])
        room = span * col - 16 if span else col * 1.5 - 44
        labels.append(_wrap(m.text, max(16, int(room / _CHAR))))
    for m, lines in zip(seq.messages, labels, strict=True):
        if m.source == m.target:  # drawn to the right of the lifeline
            width = max(width, round(x[m.source] + 34 + _longest(lines) + _SIDE))
    first_row = _TOP + _HEAD + 30
    rows = [_ROW + _LINE * (len(lines) - 1) for lines in labels]
    bottom = first_row + sum(rows)
    note_lines: list[str] = []
    left = right = 0.0
    if seq.violation:
        xs = [x[name] for name in seq.note_over]
        left = max(_SIDE, min(xs) - col / 2 + 6)
        right = min(width - _SIDE, max(xs) + col / 2 - 6)
        if right - left < 300:  # a narrow note would wrap into many lines: widen it
            left, right = _SIDE, width - _SIDE
        note_lines = _wrap(seq.violation, max(20, int((right - left - 16) / _CHAR)))
    box_h = len(note_lines) * 15 + 12
    height = bottom + (box_h + 16 if note_lines else 0) + 12
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sequence" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="sequence diagram">',
        f'<defs><marker id="{dom_id}-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>',
    ]
    for p in seq.participants:
        cx = x[p.name]
        box_w = col - 20
        kind = "actor" if p.is_actor else "component"
        out.append(
            f'<g class="participant {kind}"><line class="lifeline" x1="{cx}" y1="{_TOP + _HEAD}" '
            f'x2="{cx}" y2="{bottom}"/><rect x="{cx - box_w / 2}" y="{_TOP}" width="{box_w}" '
            f'height="{_HEAD}" rx="{8 if p.is_actor else 2}"/><text x="{cx}" '
            f'y="{_TOP + _HEAD / 2 + 4}" text-anchor="middle">{escape(p.name)}</text></g>'
        )
    top = first_row - 22
    for m, lines, height in zip(seq.messages, labels, rows, strict=True):
        extra = _LINE * (len(lines) - 1)
        y = top + 22 + extra  # the arrow; its label's lines stand above it
        x1, x2 = x[m.source], x[m.target]
        klass = "msg culprit" if m.step in culprits else "msg"
        parts = [
            f'<g class="{klass}" data-step="{m.step}"><title>{escape(m.text)}</title>',
            f'<rect class="hit" x="{_SIDE}" y="{top}" width="{width - 2 * _SIDE}" '
            f'height="{height - 2}"/>',
        ]
        if m.source == m.target:
            parts.append(
                f'<path d="M{x1},{y - 6} h28 v12 h-26" marker-end="url(#{dom_id}-arrow)"/>'
                + _text(lines, x1 + 34, y + 4, "start")
            )
        else:
            end = x2 - 4 if x2 > x1 else x2 + 4
            parts.append(
                f'<line x1="{x1}" y1="{y}" x2="{end}" y2="{y}" '
                f'marker-end="url(#{dom_id}-arrow)"/>'
                + _text(lines, (x1 + x2) / 2, y - 6, "middle")
            )
        parts.append("</g>")
        out.append("".join(parts))
        top += height
    if note_lines:
        y0 = bottom + 8
        out.append(
            f'<g class="note"><rect x="{left}" y="{y0}" width="{right - left}" height="{box_h}"/>'
        )
        for k, line in enumerate(note_lines):
            out.append(f'<text x="{left + 8}" y="{y0 + 18 + 15 * k}">{escape(line)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)
