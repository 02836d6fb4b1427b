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


def _wrap(text: str, width: int) -> list[str]:
    words = text.split(" ")
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
    first_row = _TOP + _HEAD + 30
    bottom = first_row + _ROW * len(seq.messages)
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
    for row, m in enumerate(seq.messages):
        y = first_row + _ROW * row
        x1, x2 = x[m.source], x[m.target]
        klass = "msg culprit" if m.step in culprits else "msg"
        parts = [
            f'<g class="{klass}" data-step="{m.step}"><title>{escape(m.text)}</title>',
            f'<rect class="hit" x="{_SIDE}" y="{y - 22}" width="{width - 2 * _SIDE}" '
            f'height="{_ROW - 2}"/>',
        ]
        if m.source == m.target:
            parts.append(
                f'<path d="M{x1},{y - 6} h28 v12 h-26" marker-end="url(#{dom_id}-arrow)"/>'
                f'<text x="{x1 + 34}" y="{y + 4}">{escape(m.text)}</text>'
            )
        else:
            end = x2 - 4 if x2 > x1 else x2 + 4
            parts.append(
                f'<line x1="{x1}" y1="{y}" x2="{end}" y2="{y}" '
                f'marker-end="url(#{dom_id}-arrow)"/>'
                f'<text x="{(x1 + x2) / 2}" y="{y - 6}" text-anchor="middle">'
                f"{escape(m.text)}</text>"
            )
        parts.append("</g>")
        out.append("".join(parts))
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
