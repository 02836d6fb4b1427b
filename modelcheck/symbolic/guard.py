"""Python's identity and type tests, kept honest on symbolic values.

Most of what a spec does to a value goes through the value's own methods
(``==``, ``+``, ``if x:``, ``x[i]``), which the symbolic values implement.
A few operations never ask the value: ``a is b``, ``type(x)``,
``isinstance(x, T)``, ``id(x)``, ``callable(x)``, ``repr(x)``, ``vars(x)``,
``getattr(x, name)`` and ``match`` patterns.  On a symbolic value they would
quietly give a constant (``s.flag is False`` would always be false), and a
proof built on that constant would be wrong.

So while the symbolic engine runs a spec's code, every function of the spec
that contains one of these operations runs in an instrumented copy of
itself: the operation calls a check here, which asks the symbolic value for
Python's answer (``x is None`` is a term when ``None`` is one of the
declared values of ``x``; ``isinstance(x, int)`` is a constant when every
declared value answers alike) or rejects it as outside the subset, naming
its line.  Functions are found as they are first called (a trace function
sees every call), instrumented from their source, and the run that met them
is restarted; their code is put back when the engine is done, so the
explicit engines always run the spec's own code.  Functions whose source
cannot be read (a lambda on a line of its own, code built with ``exec``)
are rejected if they contain such an operation, never run unchecked.

This module does not import z3: it only calls the methods of
:class:`~modelcheck.symbolic.Symbolic` that the z3 engine's values implement.
"""

from __future__ import annotations

import ast
import builtins
import dis
import enum
import functools
import gc
import inspect
import sys
import sysconfig
import textwrap
import traceback
import types
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: The global name through which instrumented code reaches this module.
HOOK = "__modelcheck_guard__"

#: Builtins that look at an object without calling its methods (or that would
#: show the symbolic value's own attributes).
_INSPECTING = frozenset(
    {"isinstance", "type", "id", "callable", "repr", "ascii", "vars", "dir", "getattr", "hasattr"}
)
#: ``is``/``is not``, the jumps CPython compiles ``if x is None:`` into, and ``match``.
_CHECKED_OPCODES = frozenset(
    op
    for name, op in dis.opmap.items()
    if name == "IS_OP" or name.startswith("MATCH_") or name.endswith(("_IF_NONE", "_IF_NOT_NONE"))
)


class Restart(BaseException):
    """A function was instrumented while it was being called: run the code again.

    A ``BaseException``, so that a spec's own ``except Exception`` cannot swallow it.
    """


class GuardError(Exception):
    """A function that needs instrumenting cannot be (its source is unavailable)."""


# --- what instrumented code calls ---------------------------------------------------------


def _symbolic(x: Any) -> bool:
    from modelcheck.symbolic import Symbolic

    return isinstance(x, Symbolic)


def _holds_symbolic(x: Any, depth: int = 0) -> bool:
    if _symbolic(x):
        return True
    if depth < 8 and isinstance(x, tuple | list | frozenset | set):
        return any(_holds_symbolic(v, depth + 1) for v in x)
    if depth < 8 and isinstance(x, dict):
        return any(_holds_symbolic(v, depth + 1) for v in x.values())
    return False


def identity_safe(c: Any) -> bool:
    """Whether ``x is c`` means ``x == c`` for every value ``x`` equal to ``c``.

    True of ``None``, the bools, enum members, classes and functions; false of
    ints, strings and tuples, whose equal values may or may not be one object.
    """
    return (
        c is None
        or c is True
        or c is False
        or c is Ellipsis
        or c is NotImplemented
        or isinstance(c, enum.Enum | type | types.FunctionType | types.BuiltinFunctionType)
    )


def is_(a: Any, b: Any) -> Any:
    """``a is b``, with Python's meaning when either side is symbolic."""
    if a is b:
        return True
    if _symbolic(a):
        return a.identical(b)
    if _symbolic(b):
        return b.identical(a)
    if _holds_symbolic(a) or _holds_symbolic(b):
        other = b if _holds_symbolic(a) else a
        if identity_safe(other):
            return False  # a tuple or a state is never None, a bool or an enum member
        reject(
            "`is` between tuples or states holding symbolic values: whether two of them are "
            "one object depends on how the code built them; compare them with =="
        )
    return False


def is_not(a: Any, b: Any) -> Any:
    """``a is not b``."""
    result = is_(a, b)
    return not result  # a symbolic result splits the run here, as `not` in the spec would


def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` for a builtin that inspects its argument directly."""
    if not args or not _holds_symbolic(args[0]):
        return fn(*args, **kwargs)
    subject = args[0]
    if fn is builtins.isinstance and len(args) == 2 and _symbolic(subject):
        return subject.python_isinstance(args[1])
    if fn is builtins.type and len(args) == 1 and _symbolic(subject):
        return subject.python_type()
    if fn is builtins.callable and len(args) == 1 and _symbolic(subject):
        return subject.python_isinstance(_CallableCheck)
    if fn is builtins.isinstance or fn is builtins.type or fn is builtins.callable:
        return fn(*args, **kwargs)  # a tuple or state holding symbolic values: its own type
    if fn in (builtins.getattr, builtins.hasattr) and not _symbolic(subject):
        return fn(*args, **kwargs)  # a field of a state: no symbolic value is inspected
    name = getattr(fn, "__name__", "this builtin")
    reject(f"{name}() of a symbolic value (its answer would not be about the value)")
    raise AssertionError  # pragma: no cover - reject raises


class _CallableMeta(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        return callable(instance)


class _CallableCheck(metaclass=_CallableMeta):
    """Stands for "callable" in an isinstance test: ``callable(x)`` is ``isinstance(x, this)``."""


def class_of(value: Any) -> Any:
    """``value.__class__``: ``type(value)``, asked of the value when it is symbolic."""
    return value.python_type() if _symbolic(value) else value.__class__


def subject(value: Any) -> Any:
    """The subject of a ``match`` statement: symbolic values are outside the subset there."""
    if _holds_symbolic(value):
        reject(
            "`match` on a symbolic value (its patterns test identity and types); "
            "write if/elif with =="
        )
    return value


def chain(first: Callable[[], Any], rest: Iterable[tuple[str, Callable[[], Any]]]) -> Any:
    """A comparison chain with ``is`` in it, evaluated pairwise like Python does."""
    ops: dict[str, Callable[[Any, Any], Any]] = {
        "is": is_,
        "is not": is_not,
        "==": lambda x, y: x == y,
        "!=": lambda x, y: x != y,
        "<": lambda x, y: x < y,
        "<=": lambda x, y: x <= y,
        ">": lambda x, y: x > y,
        ">=": lambda x, y: x >= y,
        "in": lambda x, y: x in y,
        "not in": lambda x, y: x not in y,
    }
    left = first()
    result: Any = True
    for op, get in rest:
        right = get()
        result = ops[op](left, right)
        if not result:
            return result
        left = right
    return result


#: Errors raised while running spec code, kept in case the spec catches them
#: (``except Exception:`` around a symbolic operation must not hide it).
_pending: list[BaseException] = []


def record(error: BaseException) -> BaseException:
    """Remember ``error`` until :func:`take_pending`; returns it, for ``raise record(...)``."""
    _pending.append(error)
    return error


def take_pending() -> BaseException | None:
    """The first error recorded since the last call (and forget them all)."""
    first = _pending[0] if _pending else None
    _pending.clear()
    return first


def called_by_library() -> bool:
    """Whether the caller of the function calling this is modelcheck or the standard library."""
    frame = sys._getframe(2)
    name = frame.f_code.co_filename
    return name.startswith("<") or str(Path(name).resolve()).startswith(_library_dirs())


def user_location() -> str:
    """``file:line: code`` of the innermost frame of the spec's own code."""
    library = _library_dirs()
    for frame in reversed(traceback.extract_stack()):
        name = frame.filename
        if name.startswith("<") or str(Path(name).resolve()).startswith(library):
            continue
        code = (frame.line or "").strip()
        return f"{name}:{frame.lineno}" + (f": {code}" if code else "")
    return "(line unknown)"


def reject(what: str) -> None:
    """Raise (and record) the "outside the symbolic subset" error for the current line."""
    from modelcheck.symbolic import SubsetError

    raise record(SubsetError(f"outside the symbolic subset at {user_location()}: {what}"))


# --- rewriting a function's source --------------------------------------------------------

_COMPARE_TEXT = {
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}


def _hook(name: str) -> ast.expr:
    return ast.Attribute(ast.Name(HOOK, ast.Load()), name, ast.Load())


def _thunk(node: ast.expr) -> ast.Lambda:
    empty = ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])
    return ast.Lambda(empty, node)


class _Rewriter(ast.NodeTransformer):
    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        self.generic_visit(node)
        if not any(isinstance(op, ast.Is | ast.IsNot) for op in node.ops):
            return node
        if len(node.ops) == 1:
            name = "is_" if isinstance(node.ops[0], ast.Is) else "is_not"
            return ast.copy_location(
                ast.Call(_hook(name), [node.left, node.comparators[0]], []), node
            )
        rest = ast.Tuple(
            [
                ast.Tuple([ast.Constant(_COMPARE_TEXT[type(op)]), _thunk(c)], ast.Load())
                for op, c in zip(node.ops, node.comparators, strict=True)
            ],
            ast.Load(),
        )
        return ast.copy_location(ast.Call(_hook("chain"), [_thunk(node.left), rest], []), node)

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in _INSPECTING:
            return ast.copy_location(
                ast.Call(_hook("call"), [node.func, *node.args], node.keywords), node
            )
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        self.generic_visit(node)
        if node.attr == "__class__" and isinstance(node.ctx, ast.Load):
            return ast.copy_location(ast.Call(_hook("class_of"), [node.value], []), node)
        return node

    def visit_Match(self, node: ast.Match) -> ast.Match:
        self.generic_visit(node)
        node.subject = ast.copy_location(ast.Call(_hook("subject"), [node.subject], []), node)
        return node


def _risky(code: types.CodeType) -> bool:
    """Whether ``code`` (or code nested in it) has an operation the guard must check."""
    if _INSPECTING.intersection(code.co_names) or "__class__" in code.co_names:
        return True
    if any(ins.opcode in _CHECKED_OPCODES for ins in dis.get_instructions(code)):
        return True
    return any(isinstance(c, types.CodeType) and _risky(c) for c in code.co_consts)


def _nested(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from _nested(c)


def _where(code: types.CodeType) -> str:
    return f"{code.co_qualname} ({code.co_filename}:{code.co_firstlineno})"


def instrumented(code: types.CodeType) -> types.CodeType:
    """A copy of ``code`` with its identity and type tests routed through this module."""
    try:
        lines, start = inspect.getsourcelines(code)
    except (OSError, TypeError):
        raise GuardError(
            f"{_where(code)} uses `is`, isinstance(), type() or a similar test, which the "
            "symbolic engine must check on symbolic values, but its source cannot be read to "
            "do so; define it in a file, as a def"
        ) from None
    try:
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except SyntaxError:
        tree = None
    node = tree.body[0] if tree is not None and tree.body else None
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.name != code.co_name:
        raise GuardError(
            f"{_where(code)} uses `is`, isinstance(), type() or a similar test, which the "
            "symbolic engine must check on symbolic values; it can only do so in a function "
            "defined with def (not a lambda): rewrite it as a def, or use =="
        )
    node.decorator_list = []
    node = _Rewriter().visit(node)
    ast.fix_missing_locations(node)
    body: ast.stmt = node
    owner = code.co_qualname.rpartition(".")[0]
    if owner and not owner.endswith("<locals>"):
        # Inside its class again, so that private names are mangled as before.
        body = ast.copy_location(ast.ClassDef(owner.rpartition(".")[2], [], [], [body], []), node)
    if code.co_freevars:
        params = [ast.arg(name) for name in code.co_freevars if name != "__class__"]
        args = ast.arguments(
            posonlyargs=[], args=params, kwonlyargs=[], kw_defaults=[], defaults=[]
        )
        cells = ast.FunctionDef("__modelcheck_cells__", args, [body], [], None)
        body = ast.copy_location(cells, node)
    module = ast.Module([body], [])
    ast.fix_missing_locations(module)
    ast.increment_lineno(module, start - 1)
    compiled = compile(module, code.co_filename, "exec")
    for candidate in _nested(compiled):
        if candidate.co_name == code.co_name and candidate.co_freevars == code.co_freevars:
            return candidate
    raise GuardError(  # pragma: no cover - the rewritten def is always in the module
        f"{_where(code)}: instrumenting it for the symbolic engine failed (please report this)"
    )


# --- finding the spec's functions as they are called --------------------------------------


@functools.cache
def _library_dirs() -> tuple[str, ...]:
    own = str(Path(__file__).resolve().parent.parent)
    paths = sysconfig.get_paths()
    dirs = [own, *(paths[k] for k in ("stdlib", "platstdlib") if k in paths)]
    return tuple(str(Path(d).resolve()) for d in dirs)


class Guard:
    """While active, every spec function with an identity or type test runs instrumented."""

    def __init__(self, also_library: Iterable[str] = ()) -> None:
        self._library = (*_library_dirs(), *also_library)
        self._seen: set[types.CodeType] = set()
        self._swapped: list[tuple[types.FunctionType, types.CodeType]] = []
        self._previous: Any = None

    def _is_library(self, filename: str) -> bool:
        if filename.startswith("<"):
            # attrs writes its generated methods under names like "<attrs generated eq ...>".
            return filename.startswith(("<frozen", "<attrs generated", "<modelcheck "))
        return str(Path(filename).resolve()).startswith(self._library)

    def _trace(self, frame: types.FrameType, event: str, arg: Any) -> None:
        code = frame.f_code
        if event != "call" or code in self._seen:
            return None
        self._seen.add(code)
        if self._is_library(code.co_filename) or not _risky(code):
            return None
        self.instrument(code)
        raise Restart

    def instrument(self, code: types.CodeType) -> None:
        """Swap ``code`` for its instrumented copy in every function that runs it."""
        try:
            new = instrumented(code)
        except GuardError as exc:
            reject(str(exc))
            raise  # pragma: no cover - reject raises
        self._seen.update(_nested(new))
        functions = [
            f
            for f in gc.get_referrers(code)
            if isinstance(f, types.FunctionType) and f.__code__ is code
        ]
        for fn in functions:
            fn.__globals__.setdefault(HOOK, sys.modules[__name__])
            self._swapped.append((fn, code))
            fn.__code__ = new

    def resume(self) -> None:
        """Trace calls again (after a :class:`Restart`, which unset the trace function)."""
        sys.settrace(self._trace)

    @contextmanager
    def active(self) -> Iterator[Guard]:
        """Guard the code run inside the ``with`` block; restore every function after."""
        self._previous = sys.gettrace()
        sys.settrace(self._trace)
        try:
            yield self
        finally:
            sys.settrace(self._previous)
            for fn, code in reversed(self._swapped):
                fn.__code__ = code
            self._swapped.clear()


__all__ = ["HOOK", "Guard", "GuardError", "Restart", "identity_safe", "instrumented"]
