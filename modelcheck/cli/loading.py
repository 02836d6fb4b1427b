"""Finding a spec class in a file and building it from ``-p name=value`` options."""

from __future__ import annotations

import enum
import importlib.util
import sys
import types
import typing
from pathlib import Path
from typing import Any

import attrs

from modelcheck.errors import ParameterError, SpecError, SpecLoadError, closest
from modelcheck.model import Model, compile_spec
from modelcheck.spec import Spec
from modelcheck.trace import Trace


def load_module(path: str | Path) -> types.ModuleType:
    """Import a Python file as a module (its directory is importable while it loads)."""
    path = Path(path)
    if not path.exists():
        raise SpecLoadError(f"{path}: no such file. Give the path of a Python file with a spec.")
    if path.is_dir() or path.suffix != ".py":
        raise SpecLoadError(f"{path}: not a Python file; give a .py file that defines a spec.")
    name = f"_modelcheck_spec_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - defensive
        raise SpecLoadError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    directory = str(path.resolve().parent)
    sys.path.insert(0, directory)
    try:
        spec.loader.exec_module(module)
    except SpecError:
        raise
    except SyntaxError as exc:
        where = f"{path}:{exc.lineno}" if exc.lineno else str(path)
        raise SpecLoadError(
            f"{where}: syntax error: {exc.msg}; fix the file (is it a Python source file?)."
        ) from None
    except SystemExit as exc:
        # Without this, a spec file calling sys.exit(0) would make `check` exit 0.
        raise SpecLoadError(
            f"{path}: importing the file called sys.exit({exc.code!r}); a spec file must only "
            'define specs (put scripts under `if __name__ == "__main__":`).'
        ) from None
    except Exception as exc:
        raise SpecLoadError(
            f"{path}: importing the file raised {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        sys.path.remove(directory)
    return module


def specs_in(module: types.ModuleType) -> list[type[Spec]]:
    """The spec classes defined in ``module`` (not imported into it), in file order."""
    found = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, Spec)
        and obj is not Spec
        and obj.__module__ == module.__name__
    ]
    return found


def load_spec_class(target: str) -> type[Spec]:
    """Resolve ``PATH`` or ``PATH:SpecClass`` to a spec class."""
    path, _, cls_name = target.partition(":")
    if ":" in target and len(path) == 1 and target[1:3] in (":\\", ":/"):  # pragma: no cover
        path, _, cls_name = target[2:].partition(":")  # Windows drive letters
        path = target[:2] + path
    module = load_module(path)
    specs = specs_in(module)
    if cls_name:
        for cls in specs:
            if cls.__name__ == cls_name:
                return cls
        names = [c.__name__ for c in specs]
        raise SpecLoadError(
            f"{path} has no spec class {cls_name!r}.{closest(cls_name, names)} "
            f"Specs in this file: {', '.join(names) or '(none)'}."
        )
    if not specs:
        raise SpecLoadError(
            f"{path} defines no spec: a spec is a class that subclasses modelcheck.Spec."
        )
    if len(specs) > 1:
        names = ", ".join(c.__name__ for c in specs)
        raise SpecLoadError(
            f"{path} defines several specs ({names}); choose one with {path}:ClassName."
        )
    return specs[0]


def parameter_types(cls: type[Spec]) -> dict[str, Any]:
    """``{parameter: type}`` from the spec's annotations (``str`` where unknown)."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:
        hints = {}
    return {
        a.name: hints.get(a.name, a.type if isinstance(a.type, type) else str)
        for a in attrs.fields(cls)
    }


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def parse_value(name: str, text: str, kind: Any) -> Any:
    """Parse ``text`` as a ``kind``: bool, int, float, str, an enum (by name) or a Literal."""
    if kind is bool:
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ParameterError(f"-p {name}={text}: {name} is a bool; write true or false.")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ParameterError(
                f"-p {name}={text}: {name} is an int; write a whole number."
            ) from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise ParameterError(
                f"-p {name}={text}: {name} is a number; write one, e.g. -p {name}=0.5."
            ) from None
    if kind is str:
        return text
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        if text in kind.__members__:
            return kind[text]
        raise ParameterError(
            f"-p {name}={text}: {name} is a {kind.__name__}; write one of "
            f"{', '.join(kind.__members__)}.{closest(text, kind.__members__)}"
        )
    if typing.get_origin(kind) is typing.Literal:
        for choice in typing.get_args(kind):
            if str(choice) == text:
                return choice
        raise ParameterError(
            f"-p {name}={text}: {name} is one of "
            f"{', '.join(str(c) for c in typing.get_args(kind))}; write one of them."
        )
    # Anything else (tuples, sets, ...) would silently become a string.
    shown = getattr(kind, "__name__", str(kind))
    raise ParameterError(
        f"-p {name}={text}: {name} is a {shown}, which -p cannot set (only bool, int, float, "
        "str and enum parameters can); change its default in the spec instead."
    )


def split_assignment(
    cls: type,
    item: str,
    types_: dict[str, Any],
    example: str = "-p enactors=3",
    form: str = "name=value",
) -> tuple[str, str]:
    """``name=text`` split, with ``name`` checked to be one of ``cls``'s parameters."""
    name, sep, text = item.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ParameterError(f"-p {item}: expected {form}, e.g. {example}.")
    if name not in types_:
        raise ParameterError(
            f"-p {item}: {cls.__name__} has no parameter {name!r}.{closest(name, types_)} "
            f"Its parameters: {', '.join(types_) or '(none)'}."
        )
    return name, text


def build_spec(
    cls: type[Spec], assignments: list[str] | None = None, values: dict[str, Any] | None = None
) -> Spec:
    """Instantiate ``cls`` from ``name=value`` strings and/or already-typed values."""
    types_ = parameter_types(cls)
    params: dict[str, Any] = dict(values or {})
    for item in assignments or []:
        name, text = split_assignment(cls, item, types_)
        params[name] = parse_value(name, text, types_[name])
    unknown = [k for k in params if k not in types_]
    if unknown:
        raise ParameterError(
            f"{cls.__name__} has no parameter {unknown[0]!r}.{closest(unknown[0], types_)}"
        )
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{cls.__name__}({params}): {exc}") from None


def model_for_trace(target: str, trace: Trace, assignments: list[str] | None) -> Model:
    """Compile the spec at ``target`` with the parameters recorded in ``trace``.

    ``assignments`` (``-p name=value``) override the recorded values.  A trace
    made by another spec class only draws a warning when its parameters fit
    (replaying it is how one finds out whether it still applies, e.g. after a
    rename); when they do not, the error says which spec made it.
    """
    cls = load_spec_class(target)
    made_by = trace.spec if trace.spec and trace.spec != cls.__name__ else None
    overridden = {item.partition("=")[0].strip() for item in assignments or []}
    try:
        recorded = {
            name: _recorded_value(cls, name, value)
            for name, value in trace.parameters.items()
            if name not in overridden
        }
        spec = build_spec(cls, assignments, values=recorded)
    except ParameterError as exc:
        if made_by is not None:
            raise ParameterError(
                f"the trace was made by {made_by}, not {cls.__name__}, and its parameters do "
                f"not fit {cls.__name__} ({str(exc).rstrip('.')}). Give the spec that made it: "
                f"the file that defines {made_by}, as PATH or PATH:{made_by}."
            ) from None
        raise ParameterError(f"the trace's parameters do not fit {cls.__name__}: {exc}") from None
    if made_by is not None:
        sys.stderr.write(f"warning: the trace was made by {made_by}, using {cls.__name__}\n")
    return compile_spec(spec)


def _recorded_value(cls: type[Spec], name: str, value: Any) -> Any:
    """A parameter value read from a trace file, checked against its declared type."""
    kind = parameter_types(cls).get(name)
    if kind is None:
        return value  # build_spec names the unknown parameter
    fits = {
        bool: lambda v: isinstance(v, bool),
        int: lambda v: isinstance(v, int) and not isinstance(v, bool),
        float: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        str: lambda v: isinstance(v, str),
    }.get(kind)
    # Other declared types (tuples, enums, ...) are passed on as decoded; a
    # value only known by its text (an enum member, a repr: it has the
    # ``encoded`` form it was read from) cannot be rebuilt from the file.
    if (fits is not None and not fits(value)) or (fits is None and hasattr(value, "encoded")):
        shown = getattr(kind, "__name__", str(kind))
        raise ParameterError(
            f"it records {name}={value!r}, which is not a valid {shown}; "
            f"give the value with -p {name}=VALUE"
        )
    return value
