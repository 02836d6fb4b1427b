"""Traces: values and the versioned JSON trace format.

A :class:`Trace` is an initial state and a sequence of :class:`Step` values
(an action label with its arguments and the state it leads to).  Traces from
a search hold the spec's real state objects; traces loaded from a file hold
plain ``{field: value}`` dicts, decoded without pickle or eval.

JSON format, ``schema_version`` 1 (or 2 or 3, see below)::

    {
      "format": "modelcheck-trace",
      "schema_version": 1,
      "spec": {"name": "DnsRace", "parameters": {"enactors": 2, ...}},
      "property": {"name": "...", "kind": "invariant", "reason": "..."} | null,
      "initial": {"field": value, ...},
      "steps": [{"action": "pickup", "args": {"e": 0}, "actor": "Enactor 0",
                 "state": {...}}, ...],
      "components": {"store": "Plan store", "dns": "DNS {}", ...}
    }

Optional keys (readers of version 1 must accept their absence, and older
readers ignore them): a step's ``"actor"`` (who performed it, from
``@action(actor=...)``) and the top-level ``"components"`` (the spec's
``components`` declaration, see :mod:`modelcheck.components`).  Both only
serve diagrams; replay (:mod:`modelcheck.trace_replay`) ignores them.

Values: numbers, strings, booleans and null as themselves; tuples and lists
as arrays; sets and frozensets as ``{"$set": [...]}`` (sorted); enum members
as ``{"$enum": "Class.NAME"}``; nested state records as
``{"$state": "Class", "fields": {...}}``; anything else as
``{"$repr": "..."}`` (readable, not replayable).

Version 2 adds the containers of :mod:`modelcheck.containers`: a
:class:`~modelcheck.containers.FrozenMap` as ``{"$map": [[key, value], ...]}``
and a :class:`~modelcheck.containers.Bag` as ``{"$bag": [[element, count],
...]}``, both in canonical order, and both decoded back into those types so
that traces loaded from a file diff per key and replay.  A trace is written
as version 2 only when one of its values holds such a container, so every
other trace stays readable by older versions; this version reads both.

Version 3 is the version of *lassos*, the counterexamples to liveness
properties (infinite runs): it adds ``"loop_start"``, the position in the
run's states (0 is the initial state) where the loop starts, so that the
steps after it repeat forever and the last of them returns to the state at
``loop_start`` (a ``loop_start`` equal to the number of steps means the
last state stutters forever: no action is enabled in it), and
``"fairness"``, a list of sentences saying how the loop satisfies each of
the spec's fairness conditions.  A lasso is written as version 3 whether or
not it holds containers; versions 1 and 2 still load (without a loop), and
replay checks that the loop of a version-3 trace closes.
"""

from __future__ import annotations

import enum
import errno
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from modelcheck.containers import Bag, FrozenMap
from modelcheck.errors import ModelcheckError, TraceFormatError
from modelcheck.state import state_fields

FORMAT = "modelcheck-trace"
#: The version of traces without maps or bags (and of result files).
SCHEMA_VERSION = 1
#: The version of traces that hold a FrozenMap or a Bag.
CONTAINERS_SCHEMA_VERSION = 2
#: The version of lassos (``loop_start``); it may hold containers too.
LASSO_SCHEMA_VERSION = 3
#: Every version this module reads.
READABLE_VERSIONS = (1, 2, 3)


@attrs.frozen
class Step:
    """One step of a trace: the action taken and the state it leads to."""

    action: str
    args: tuple[tuple[str, Any], ...]
    state: Any
    #: Who performed the step (for diagrams); ``None`` when unknown.
    actor: str | None = None

    @property
    def label(self) -> str:
        """``action(name=value, ...)``."""
        inner = ", ".join(f"{k}={v!r}" for k, v in self.args)
        return f"{self.action}({inner})"


@attrs.frozen
class Trace:
    """A run of a spec from an initial state, usually a counterexample."""

    initial: Any
    steps: tuple[Step, ...] = ()
    spec: str | None = None
    parameters: Mapping[str, Any] = attrs.field(factory=dict)
    #: The name of the property this trace violates (None for a plain run).
    violates: str | None = None
    kind: str | None = None
    reason: str = ""
    #: The spec's ``components`` declaration (field -> component name), for diagrams.
    components: Mapping[str, str] = attrs.field(factory=dict)
    #: For a lasso (the counterexample to a liveness property, an infinite run):
    #: the position in :attr:`states` where the loop starts.  The steps after it
    #: repeat forever, the last of them returning to ``states[loop_start]``; when
    #: it equals ``len(steps)`` the last state stutters forever (no action is
    #: enabled there).  ``None`` for a finite run.
    loop_start: int | None = None
    #: For a lasso: how its loop satisfies each fairness condition of the spec.
    fairness: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def states(self) -> tuple[Any, ...]:
        """Every state of the run, the initial one first."""
        return (self.initial, *(s.state for s in self.steps))

    @property
    def final(self) -> Any:
        """The last state of the run."""
        return self.steps[-1].state if self.steps else self.initial

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)


# --- values <-> JSON --------------------------------------------------------------


def encode_value(value: Any) -> Any:
    """A JSON-ready form of a state field value (see the module docs)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, _Display):
        # A value decoded from a file re-encodes as it was read, so replay can
        # compare a loaded trace with the spec's own states.
        return value.encoded
    if isinstance(value, DecodedState):
        return {"$state": value.state_class, "fields": encode_fields(value)}
    if isinstance(value, enum.Enum):
        return {"$enum": f"{type(value).__name__}.{value.name}"}
    if isinstance(value, FrozenMap):
        return {"$map": [[encode_value(k), encode_value(v)] for k, v in value.items()]}
    if isinstance(value, Bag):
        return {"$bag": [[encode_value(e), n] for e, n in value.items()]}
    fields = state_fields(value)
    if fields is not None:
        return {"$state": type(value).__name__, "fields": encode_fields(fields)}
    if isinstance(value, dict) and not _is_tagged(value):
        return {"$map": [[encode_value(k), encode_value(v)] for k, v in value.items()]}
    if isinstance(value, tuple | list):
        return [encode_value(v) for v in value]
    if isinstance(value, frozenset | set):
        items = [encode_value(v) for v in value]
        items.sort(key=lambda v: json.dumps(v, sort_keys=True))
        return {"$set": items}
    return {"$repr": repr(value)}


def _is_tagged(value: dict[str, Any]) -> bool:
    return len(value) in (1, 2) and any(str(k).startswith("$") for k in value)


def encode_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Encode a ``{field: value}`` mapping."""
    return {k: encode_value(v) for k, v in fields.items()}


def encode_state(state: Any) -> dict[str, Any]:
    """Encode a state (a record, or an already-decoded field dict)."""
    fields = state if isinstance(state, dict) else state_fields(state)
    if fields is None:
        raise TypeError(f"cannot encode {state!r}: not a state record")
    return encode_fields(fields)


def decode_value(value: Any, where: str) -> Any:
    """Inverse of :func:`encode_value` into plain Python values (no objects built)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return tuple(decode_value(v, where) for v in value)
    if isinstance(value, dict):
        if set(value) == {"$set"} and isinstance(value["$set"], list):
            return frozenset(decode_value(v, where) for v in value["$set"])
        if set(value) == {"$enum"} and isinstance(value["$enum"], str):
            return _Display(value["$enum"], value)
        if set(value) == {"$repr"} and isinstance(value["$repr"], str):
            return _Display(value["$repr"], value)
        if (
            set(value) == {"$state", "fields"}
            and isinstance(value["$state"], str)
            and isinstance(value["fields"], dict)
        ):
            return DecodedState(
                value["$state"],
                {str(k): decode_value(v, f"{where}.{k}") for k, v in value["fields"].items()},
            )
        if set(value) == {"$map"} and _pairs(value["$map"]):
            # The file's order is kept (it is canonical when this module wrote
            # it), so the map re-encodes exactly as it was read.
            return FrozenMap._trusted(
                {decode_value(k, where): decode_value(v, where) for k, v in value["$map"]}
            )
        if set(value) == {"$bag"} and _pairs(value["$bag"]):
            counts = {decode_value(e, where): n for e, n in value["$bag"]}
            if all(type(n) is int and n > 0 for n in counts.values()):
                return Bag._trusted(counts)
    raise TraceFormatError(f"{where}: cannot decode the value {value!r}")


def _pairs(items: Any) -> bool:
    return isinstance(items, list) and all(
        isinstance(pair, list) and len(pair) == 2 for pair in items
    )


def _holds_container(value: Any) -> bool:
    """Whether ``value`` is or contains a FrozenMap or a Bag (so needs version 2)."""
    if isinstance(value, FrozenMap | Bag):
        return True
    if isinstance(value, str | int | float | type(None) | _Display | enum.Enum):
        return False
    if isinstance(value, tuple | list | frozenset | set):
        return any(_holds_container(v) for v in value)
    fields = value if isinstance(value, dict) else state_fields(value)
    return fields is not None and any(_holds_container(v) for v in fields.values())


@attrs.frozen
class _Display:
    """A decoded value known only by its text (enum members, reprs)."""

    text: str
    encoded: Any = attrs.field(eq=False, hash=False)

    def __repr__(self) -> str:
        return self.text


class DecodedState(dict):  # type: ignore[type-arg]
    """A nested state record read from a file: its fields, and its class's name."""

    def __init__(self, state_class: str, fields: dict[str, Any]) -> None:
        super().__init__(fields)
        self.state_class = state_class

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.items())
        return f"{self.state_class}({inner})"

    def __hash__(self) -> int:  # decoded values may sit in frozensets, like real states
        return hash((self.state_class, tuple(self.items())))


def _decode_state(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict) or not data:
        raise TraceFormatError(f"{where}: a state must be a non-empty object of fields")
    return {str(k): decode_value(v, f"{where}.{k}") for k, v in data.items()}


def _reencode(value: Any) -> Any:
    if isinstance(value, _Display):
        return value.encoded
    if isinstance(value, dict):
        return {k: _reencode(v) for k, v in value.items()}
    return value


# --- files ------------------------------------------------------------------------


def trace_to_json(trace: Trace) -> dict[str, Any]:
    """The trace as a JSON-ready dict in the documented format."""
    holds_container = any(_holds_container(s) for s in trace.states) or any(
        _holds_container(v) for _, v in (a for step in trace.steps for a in step.args)
    )
    version = CONTAINERS_SCHEMA_VERSION if holds_container else SCHEMA_VERSION
    if trace.loop_start is not None:
        version = LASSO_SCHEMA_VERSION
    data: dict[str, Any] = {
        "format": FORMAT,
        "schema_version": version,
        "spec": {
            "name": trace.spec,
            "parameters": {k: encode_value(v) for k, v in trace.parameters.items()},
        },
        "property": None
        if trace.violates is None
        else {"name": trace.violates, "kind": trace.kind, "reason": trace.reason},
        "initial": _state_json(trace.initial),
        "steps": [_step_json(s) for s in trace.steps],
    }
    if trace.loop_start is not None:
        data["loop_start"] = trace.loop_start
        data["fairness"] = list(trace.fairness)
    if trace.components:
        data["components"] = dict(trace.components)
    return data


def _step_json(step: Step) -> dict[str, Any]:
    item: dict[str, Any] = {
        "action": step.action,
        "args": {k: encode_value(v) for k, v in step.args},
    }
    if step.actor is not None:
        item["actor"] = step.actor
    item["state"] = _state_json(step.state)
    return item


def _state_json(state: Any) -> dict[str, Any]:
    if isinstance(state, dict):
        return {
            k: _reencode(v) if isinstance(v, _Display) else encode_value(v)
            for k, v in state.items()
        }
    return encode_state(state)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file, so no partial file is ever left.

    The file gets the permissions a plain ``open(path, "w")`` would give (the
    umask's): ``mkstemp`` makes its file private, and traces and reports are
    meant to be shared.  An error names ``path``, not the temporary file.

    Only a regular file (or nothing) at ``path`` is replaced.  A symlink is
    written through, so the link stays a link; a terminal, pipe, device or
    socket (``/dev/stdout``, a FIFO) is streamed to, since replacing it
    would destroy it and there is no partial file to avoid.
    """
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    if mode is not None and stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
    if mode is not None and not stat.S_ISREG(mode):
        try:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


def json_text(data: Any) -> str:
    """``data`` as the JSON text modelcheck writes (indented, newline-terminated)."""
    try:
        return json.dumps(data, indent=2) + "\n"
    except ValueError:  # an int too long for Python's int-to-text limit
        raise ModelcheckError(
            "cannot write JSON: a state holds an integer with more digits than Python "
            f"converts to text by default ({sys.get_int_max_str_digits():,}). Set "
            "PYTHONINTMAXSTRDIGITS=0 in the environment to lift the limit."
        ) from None


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write JSON to ``path`` atomically (see :func:`write_text_atomic`)."""
    write_text_atomic(path, json_text(data))


def save_trace(trace: Trace, path: str | Path) -> None:
    """Write ``trace`` to ``path`` as JSON (atomically)."""
    write_json_atomic(path, trace_to_json(trace))


def trace_from_json(data: Any, source: str = "trace") -> Trace:
    """Validate a decoded JSON document and build a :class:`Trace` of field dicts."""
    if not isinstance(data, dict):
        raise TraceFormatError(f"{source}: expected a JSON object, got {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise TraceFormatError(
            f'{source}: not a modelcheck trace (its "format" is {data.get("format")!r}, '
            f"expected {FORMAT!r}). Traces are written by `modelcheck check --trace-dir`."
        )
    version = data.get("schema_version")
    if type(version) is not int or version not in READABLE_VERSIONS:
        raise TraceFormatError(
            f"{source}: schema_version {version!r} is not supported (this modelcheck reads "
            f"version {', '.join(map(str, READABLE_VERSIONS[:-1]))} or {READABLE_VERSIONS[-1]}); "
            "re-create the trace with "
            "this version."
        )
    spec = data.get("spec") or {}
    if (
        not isinstance(spec, dict)
        or not isinstance(spec.get("parameters", {}), dict)
        or not isinstance(spec.get("name"), str | None)
    ):
        raise TraceFormatError(
            f'{source}: "spec" must be an object with a "name" string and "parameters"'
        )
    prop = data.get("property")
    if prop is not None and (
        not isinstance(prop, dict)
        or not isinstance(prop.get("name"), str)
        or not isinstance(prop.get("kind"), str | None)
    ):
        raise TraceFormatError(
            f'{source}: "property" must be null or an object with a "name" and a "kind" string'
        )
    steps_data = data.get("steps")
    if not isinstance(steps_data, list):
        raise TraceFormatError(f'{source}: "steps" must be a list')
    steps = []
    for n, item in enumerate(steps_data, start=1):
        where = f"{source}: step {n}"
        if not isinstance(item, dict) or not isinstance(item.get("action"), str):
            raise TraceFormatError(f'{where}: each step needs an "action" name')
        args = item.get("args", {})
        if not isinstance(args, dict):
            raise TraceFormatError(f'{where}: "args" must be an object')
        actor = item.get("actor")
        if actor is not None and not isinstance(actor, str):
            raise TraceFormatError(f'{where}: "actor" must be a string when present')
        steps.append(
            Step(
                action=item["action"],
                args=tuple((k, decode_value(v, where)) for k, v in args.items()),
                state=_decode_state(item.get("state"), where),
                actor=actor,
            )
        )
    loop_start = data.get("loop_start")
    if loop_start is not None and (
        version < LASSO_SCHEMA_VERSION
        or type(loop_start) is not int
        or not 0 <= loop_start <= len(steps)
    ):
        raise TraceFormatError(
            f'{source}: "loop_start" must be a state position from 0 to the number of steps '
            f"({len(steps)}), in a trace of schema_version {LASSO_SCHEMA_VERSION}; it is "
            f"{loop_start!r} (schema_version {version})"
        )
    fairness = data.get("fairness", [])
    if not isinstance(fairness, list) or not all(isinstance(f, str) for f in fairness):
        raise TraceFormatError(f'{source}: "fairness" must be a list of strings')
    components = data.get("components", {})
    if not isinstance(components, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in components.items()
    ):
        raise TraceFormatError(
            f'{source}: "components" must be an object of field name -> component name'
        )
    return Trace(
        initial=_decode_state(data.get("initial"), f"{source}: initial state"),
        steps=tuple(steps),
        spec=spec.get("name"),
        parameters={k: decode_value(v, source) for k, v in spec.get("parameters", {}).items()},
        violates=None if prop is None else prop["name"],
        kind=None if prop is None else prop.get("kind"),
        reason="" if prop is None else str(prop.get("reason") or ""),
        components=components,
        loop_start=loop_start,
        fairness=tuple(fairness),
    )


def load_trace(path: str | Path) -> Trace:
    """Read a trace file (a clear :class:`TraceFormatError` for anything malformed)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TraceFormatError(f"{path}: no such trace file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceFormatError(f"{path}: cannot read the trace file ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TraceFormatError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            "is this a modelcheck trace file?"
        ) from None
    except ValueError:  # Python's limit on the digits of an int read from text
        raise TraceFormatError(
            f"{path}: holds an integer with more digits than Python reads by default "
            f"({sys.get_int_max_str_digits():,}); no state of a spec has one unless the spec "
            "makes it. If yours does, set PYTHONINTMAXSTRDIGITS=0 in the environment to lift "
            "the limit."
        ) from None
    except RecursionError:
        raise TraceFormatError(f"{path}: {_TOO_DEEP}") from None
    try:
        return trace_from_json(data, str(path))
    except RecursionError:
        raise TraceFormatError(f"{path}: {_TOO_DEEP}") from None


_TOO_DEEP = (
    "values are nested too deeply to read (more levels of arrays or objects than Python's "
    "recursion limit allows); a modelcheck trace nests only as deep as its states' values, "
    "so this file was not written by modelcheck or has been damaged"
)
