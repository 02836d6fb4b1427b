"""Plain-text rendering of results and traces: stable, greppable, colour-free."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelcheck.containers import Bag, FrozenMap
from modelcheck.result import CheckResult, Status
from modelcheck.spec import LIVENESS_KINDS
from modelcheck.state import ABSENT, State, format_value, state_fields
from modelcheck.trace import Trace
from modelcheck.wording import n_steps


def fields_of(state: Any) -> dict[str, Any]:
    """``{field: value}`` of a real state or of a decoded one (already a dict)."""
    if isinstance(state, Mapping):
        return dict(state)
    fields = state_fields(state)
    return fields if fields is not None else {"state": state}


def _record(value: Any) -> Mapping[str, Any] | None:
    # The fields of a nested state: a live record, or one decoded from a file.
    if isinstance(value, Mapping):
        return value
    return value.to_dict() if isinstance(value, State) else None


def changes(
    before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = ""
) -> list[tuple[str, Any, Any]]:
    """``(name, old, new)`` for every changed field; tuples compare element-wise.

    A tuple field of fixed length (per-process or per-endpoint values)
    reports ``name[i]`` for each changed position, which is what a reader
    wants to see ("pc[1]: Applying → Cleaning").  A nested state reports
    ``name.field``, the same for a live trace and one loaded from a file.
    A :class:`FrozenMap` reports ``name[key]`` for each key whose value
    changed, with :data:`~modelcheck.state.ABSENT` (shown ``-``) for a key
    without one; a :class:`Bag` reports itself once, and :func:`trace_rows`
    shows what was added and removed (:func:`bag_change`).
    """
    out: list[tuple[str, Any, Any]] = []
    for name in dict.fromkeys([*before, *after]):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        old_record, new_record = _record(old), _record(new)
        if old_record is not None and new_record is not None:
            out.extend(changes(old_record, new_record, f"{prefix}{name}."))
        elif isinstance(old, FrozenMap) and isinstance(new, FrozenMap):
            out.extend(_map_changes(f"{prefix}{name}", old, new))
        elif (
            isinstance(old, tuple)
            and isinstance(new, tuple)
            and len(old) == len(new)
            and not isinstance(old, Mapping)
        ):
            out.extend(
                (f"{prefix}{name}[{i}]", o, n)
                for i, (o, n) in enumerate(zip(old, new, strict=True))
                if o != n
            )
        else:
            out.append((f"{prefix}{name}", old, new))
    return out


def _map_changes(name: str, old: FrozenMap[Any, Any], new: FrozenMap[Any, Any]) -> list[Any]:
    out: list[tuple[str, Any, Any]] = []
    # Keys of both maps, in canonical order: the old map's, then new ones in theirs.
    for key in dict.fromkeys([*old, *new]):
        before, after = old.get(key, ABSENT), new.get(key, ABSENT)
        if before == after:
            continue
        label = f"{name}[{format_value(key)}]"
        if isinstance(before, FrozenMap) and isinstance(after, FrozenMap):
            out.extend(_map_changes(label, before, after))
        else:
            out.append((label, before, after))
    return out


def bag_change(old: Bag[Any], new: Bag[Any]) -> str:
    """``+{added} -{removed}`` between two bags (copies counted), e.g. ``+{(prepare, r1)}``."""
    added = [(e, new.count(e) - old.count(e)) for e in new if new.count(e) > old.count(e)]
    removed = [(e, old.count(e) - new.count(e)) for e in old if old.count(e) > new.count(e)]
    parts = []
    if added:
        parts.append("+" + format_value(Bag.from_counts(added)))
    if removed:
        parts.append("-" + format_value(Bag.from_counts(removed)))
    return " ".join(parts)


def change_text(name: str, old: Any, new: Any) -> str:
    """One changed field as shown in a trace: ``name: old → new``, or a bag's ``+{..} -{..}``."""
    if isinstance(old, Bag) and isinstance(new, Bag):
        return f"{name}: {bag_change(old, new)}"
    return f"{name}: {format_value(old)} → {format_value(new)}"


def describe(fields: Mapping[str, Any]) -> list[str]:
    """``["a=1", "b=(0, 0)"]`` for a whole state."""
    return [f"{k}={format_value(v)}" for k, v in fields.items()]


def trace_rows(trace: Trace) -> list[tuple[str, str, list[str]]]:
    """``(step, action, changes)`` rows, the initial state (all fields) first."""
    rows = [("0", "(initial)", describe(fields_of(trace.initial)))]
    before = fields_of(trace.initial)
    for n, step in enumerate(trace.steps, start=1):
        after = fields_of(step.state)
        items = [change_text(k, o, v) for k, o, v in changes(before, after)]
        rows.append((str(n), step.label, items or ["(no change)"]))
        before = after
    return rows


def render_trace(trace: Trace, width: int = 100) -> str:
    """A trace as a table: one row per step with the fields that changed (old → new)."""
    title = "Trace"
    witness = trace.kind == "reachable"
    if trace.violates:
        title = (
            f"{'Witness for' if witness else 'Counterexample to'} {trace.violates} ({trace.kind})"
        )
    lines = [f"{title}: {n_steps(len(trace))}"]
    rows = trace_rows(trace)
    w_step = max(len("step"), *(len(r[0]) for r in rows))
    w_action = max(len("action"), *(len(r[1]) for r in rows))
    indent = w_step + w_action + 6
    lines.append(f"  {'step'.rjust(w_step)}  {'action'.ljust(w_action)}  changes")
    loop = trace.loop_start
    for number, (step, label, items) in enumerate(rows):
        if loop is not None and number == loop + 1:
            lines.append(f"  {LOOP_OPEN} (the steps below repeat forever)")
        wrapped = _wrap(items, max(30, width - indent))
        lines.append(f"  {step.rjust(w_step)}  {label.ljust(w_action)}  {wrapped[0]}")
        lines.extend(" " * indent + more for more in wrapped[1:])
    if loop is not None:
        lines.append(f"  {loop_close_text(trace)}")
    if trace.violates:
        lines.append(
            f"  {'satisfied' if witness else 'violated'}: {trace.reason or trace.violates}"
        )
    return "\n".join(lines)


def lasso_shape(trace: Trace) -> str:
    """``lasso: 1 step to a loop of 3 steps`` (or ``..., then stutters forever``)."""
    start = trace.loop_start or 0
    if start == len(trace):
        return f"lasso: {n_steps(start)}, then it stutters forever"
    return f"lasso: {n_steps(start)} to a loop of {n_steps(len(trace) - start)}"


#: The line a text trace shows before the first step of a lasso's loop.
LOOP_OPEN = "--- loop ---"


def loop_close_text(trace: Trace) -> str:
    """How a lasso's loop ends: back to the state at ``loop_start``, or stuttering."""
    start = trace.loop_start
    if start == len(trace.steps):
        return (
            f"--- loop: no action is enabled after step {start}, so the run stutters there "
            "forever ---"
            if start
            else "--- loop: no action is enabled in the initial state: the run stutters forever ---"
        )
    back = "the initial state" if start == 0 else f"the state after step {start}"
    return f"--- end of loop: step {len(trace.steps)} is back in {back}; it repeats forever ---"


def _wrap(items: list[str], width: int) -> list[str]:
    """Join items with ", ", starting a new line before one that would pass ``width``."""
    lines: list[str] = []
    current = ""
    for item in items:
        candidate = item if not current else f"{current}, {item}"
        if current and len(candidate) > width:
            lines.append(current + ",")
            current = item
        else:
            current = candidate
    lines.append(current)
    return lines


def _parameters(parameters: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in parameters.items())


def _verdict_cell(status: Status) -> str:
    return {"holds": "holds", "violated": "VIOLATED", "unknown": "unknown"}[status.value]


def engine_line(result: CheckResult) -> str:
    """Which engine ran, what compiling it cost, and why another did not run."""
    line = f"engine: {result.engine}"
    if result.statistics.workers > 1:
        line += f" on {result.statistics.workers} workers"
    if result.statistics.shards:
        line += f" on {result.statistics.shards} shards"
    if result.statistics.compile_seconds:
        line += (
            f" (compiled in {result.statistics.compile_seconds:.2f} s, apart from the search: "
            "path extraction, code generation, JIT)"
        )
    if result.engine_note:
        line += f"; {result.engine_note}"
    return line


def store_line(result: CheckResult) -> str:
    """What the fingerprint store means for the result: not exact, and how likely a miss is."""
    chance = result.statistics.collision_probability or 0.0
    return (
        "store: fingerprints, NOT an exact search: states were told apart by 64-bit "
        f"fingerprints; the chance that a collision hid a state is about {chance:.1e} "
        "(n^2/2^65 for n states, the birthday bound)"
    )


def render_summary(result: CheckResult) -> str:
    """Statistics and one line per property (no traces)."""
    st = result.statistics
    state = "complete" if result.complete else f"INCOMPLETE (stopped by {result.stopped_by})"
    outside = (
        f" (and {st.constrained} outside the constraint, checked but not explored)"
        if st.constrained
        else ""
    )
    lines = [
        f"{result.spec}({_parameters(result.parameters)})",
        # Depth counts steps (TLC's "depth" counts states: one more).
        f"explored {st.states} distinct states{outside}, {st.transitions} transitions, "
        f"depth {n_steps(st.depth)}, "
        f"in {st.seconds:.2f} s ({st.states_per_second:,.0f} states/s, "
        f"peak memory {st.peak_memory_bytes / 2**20:.0f} MiB): {state}",
        engine_line(result),
        "",
    ]
    if not result.exact:
        lines[-1:-1] = [store_line(result)]
    if result.reduced:
        lines[1] = lines[1].replace("distinct states", "distinct states (orbits)", 1)
        lines[-1:-1] = [
            f"symmetry: the counts are reduced, one state per orbit of renaming {result.symmetry}"
        ]
    if result.stopped_by in ("out_of_memory", "memory_limit"):
        ran_out = (
            "ran out of memory"
            if result.stopped_by == "out_of_memory"
            else "reached its memory limit (--memory-limit)"
        )
        lines[-1:-1] = [
            f"The search {ran_out} after {st.states:,} states; what it found so far is "
            "below. To go further, bound the search (--max-states, --max-depth), check smaller "
            "parameters, or use a machine with more memory"
            + (" (or raise --memory-limit)." if result.stopped_by == "memory_limit" else ".")
        ]
    w_name = max([len("property"), *(len(v.property) for v in result.verdicts)])
    w_kind = max([len("kind"), *(len(v.kind) for v in result.verdicts)])
    lines.append(f"  {'property'.ljust(w_name)}  {'kind'.ljust(w_kind)}  verdict")
    for v in result.verdicts:
        extra = ""
        if v.counterexample is not None and v.counterexample.loop_start is not None:
            extra = f"  ({lasso_shape(v.counterexample)})"
        elif v.counterexample is not None:
            n = len(v.counterexample)
            extra = f"  (shortest counterexample: {n_steps(n)})"
        elif v.witness is not None:
            extra = f"  (shortest witness: {n_steps(len(v.witness))})"
        elif (v.kind == "reachable" or v.kind in LIVENESS_KINDS) and v.reason:
            extra = f"  ({v.reason})"
        lines.append(
            f"  {v.property.ljust(w_name)}  {v.kind.ljust(w_kind)}  "
            f"{_verdict_cell(v.status)}{extra}"
        )
    lines.extend(f"WARNING: {w}" for w in result.warnings)
    return "\n".join(lines)


def render_coverage(result: CheckResult) -> str:
    """Action coverage (as TLC's): per action instance, states enabled in and steps fired.

    Ends with a ``WARNING`` line for every action never enabled, which almost
    always means a guard in the spec can never be true.  Empty when the
    result has no coverage (it is counted only on request).
    """
    if not result.coverage:
        return ""
    w_label = max(len("action"), *(len(c.label) for c in result.coverage))
    rows = [(c.label, f"{c.enabled:,}", f"{c.fired:,}") for c in result.coverage]
    w_en = max(len("enabled"), *(len(r[1]) for r in rows))
    w_fi = max(len("fired"), *(len(r[2]) for r in rows))
    lines = [
        "Action coverage (enabled: states it was enabled in; fired: steps it took)",
        f"  {'action'.ljust(w_label)}  {'enabled'.rjust(w_en)}  {'fired'.rjust(w_fi)}",
    ]
    lines.extend(f"  {a.ljust(w_label)}  {e.rjust(w_en)}  {f.rjust(w_fi)}" for a, e, f in rows)
    # Instances that choose values per state: which values their steps took.
    lines.extend(
        f"  {c.label} took: {'; '.join(c.value_labels)}" for c in result.coverage if c.values
    )
    never = [c.label for c in result.coverage if c.enabled == 0 and not c.operator]
    if never and not result.complete:
        lines.append(
            "  (the search was incomplete: an action may be enabled in a state not reached)"
        )
    lines.extend(
        f"WARNING: {label} was never enabled; its guard may be impossible (a bug in the spec?)"
        for label in never
    )
    return "\n".join(lines)


def summary_line(result: CheckResult) -> str:
    """One stable ``key=value`` line for scripts and benchmarks."""
    outcome = {0: "holds", 1: "violated", 3: "incomplete"}[int(result.exit_code)]
    st = result.statistics
    violated = ",".join(v.property for v in result.violated) or "-"
    return (
        f"result={outcome} states={st.states} transitions={st.transitions} depth={st.depth} "
        f"complete={'true' if result.complete else 'false'} violated={violated} "
        f"seconds={st.seconds:.3f}"
        # Only when reduced, so that unreduced lines stay as they were.
        + (f" symmetry={result.symmetry.split(' ', 1)[0]}" if result.reduced else "")
        # Likewise only for the fingerprint store.
        + (
            f" store=fingerprints collision={result.statistics.collision_probability or 0.0:.1e}"
            if not result.exact
            else ""
        )
    )


def render_result(result: CheckResult, traces: bool = True, width: int = 100) -> str:
    """Summary, then each counterexample, then the ``key=value`` line."""
    parts = [render_summary(result)]
    if result.coverage:
        parts.append(render_coverage(result))
    if traces:
        for v in result.verdicts:
            if v.counterexample is not None:
                parts.append(render_trace(v.counterexample, width))
            if v.witness is not None:
                parts.append(render_trace(v.witness, width))
    parts.append(summary_line(result))
    return "\n\n".join(parts)
