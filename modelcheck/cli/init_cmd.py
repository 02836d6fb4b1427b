"""``modelcheck init NAME``: a commented starter spec and its pytest file."""

from __future__ import annotations

import keyword
import sys
from pathlib import Path
from typing import Annotated

import typer

from modelcheck.cli.common import reported_errors
from modelcheck.cli.root import app
from modelcheck.errors import ModelcheckError
from modelcheck.result import ExitCode

#: Module names a spec file must not take: ``import NAME`` in the test would find them,
#: or the spec would hide them from everything else on the path.
_TAKEN = set(sys.stdlib_module_names) | {"modelcheck", "pytest", "hypothesis", "attrs", "typer"}

_SPEC = '''"""{cls}: two workers add one to a shared counter (a starter spec).

Written by `modelcheck init`; edit it into your own protocol.

Each worker reads the counter, then writes back what it read plus one.  The
two steps are separate actions, so another worker can run in between, and
an update is lost: `modelcheck check {stem}.py` finds it (exit code 1) and
prints a shortest counterexample.  The fix is a parameter: with
`-p compare_and_set=true` a worker writes only if the counter still holds
what it read (else it reads again), and every property holds (exit code 0).
"""

from modelcheck import Spec, State, action, invariant


class Counter(State):
    """A state: immutable and hashable; make the next one with s.replace(...)."""

    counter: int  # the shared counter
    pc: tuple[str, ...]  # per worker: "idle", "read" or "done"
    seen: tuple[int, ...]  # per worker: the value it read


class {cls}(Spec):
    """Workers adding to a shared counter; parameters are attributes with defaults."""

    workers: int = 2
    compare_and_set: bool = False

    def initial_states(self):
        return Counter(counter=0, pc=("idle",) * self.workers, seen=(0,) * self.workers)

    # One action per worker w in 0..workers-1.  An action returns the next
    # state, or None when it is not enabled in state s.
    @action(w="workers")
    def read(self, s, w):
        if s.pc[w] != "idle":
            return None
        return s.replace(pc=_put(s.pc, w, "read"), seen=_put(s.seen, w, s.counter))

    @action(w="workers")
    def write(self, s, w):
        if s.pc[w] != "read":
            return None
        if self.compare_and_set and s.counter != s.seen[w]:
            # Someone wrote in between: start again.
            return s.replace(pc=_put(s.pc, w, "idle"))
        return s.replace(counter=s.seen[w] + 1, pc=_put(s.pc, w, "done"))

    # An invariant must hold in every reachable state.  Other kinds:
    # @action_property (every step), @terminal (deadlock), @recoverable.
    @invariant
    def no_lost_update(self, s):
        """The counter counts every worker that is done."""
        return s.counter == s.pc.count("done")


def _put(values, i, value):
    """values with position i replaced."""
    return values[:i] + (value,) + values[i + 1 :]
'''

_TEST = '''"""pytest runs each property of {cls} as its own test (modelcheck's pytest plugin).

`pytest {test}` reports {cls}::no_lost_update as failed, with the
counterexample and the `modelcheck replay` command, and the fixed
configuration {cls}CompareAndSet::no_lost_update as passed.
"""

from {stem} import {cls}

from modelcheck.integrations.pytest_plugin import spec_tests

# One search per spec_tests(...); keyword arguments are the spec's parameters.
as_written = spec_tests({cls})
fixed = spec_tests(
    {cls},
    compare_and_set=True,
    name="{cls}CompareAndSet",  # the node name; the default is the class name
)
'''


def _class_name(stem: str) -> str:
    name = "".join(part[:1].upper() + part[1:] for part in stem.split("_") if part)
    return name if name.isidentifier() else f"Spec{name}"


def _paths(name: str) -> tuple[Path, Path, str]:
    given = Path(name[:-3] if name.endswith(".py") else name)
    stem = given.name
    if not stem.isidentifier() or keyword.iskeyword(stem) or stem.startswith("test_"):
        raise ModelcheckError(
            f"init {name}: {stem!r} cannot name a spec module; give a Python identifier "
            "that does not start with test_, e.g. modelcheck init my_protocol "
            "(letters, digits and _, not starting with a digit)."
        )
    if stem in _TAKEN:
        raise ModelcheckError(
            f"init {name}: {stem!r} is the name of an existing Python module, which the spec "
            f"file would hide (or be hidden by); choose another name, e.g. my_{stem}."
        )
    folder = given.parent
    if not folder.is_dir():
        raise ModelcheckError(
            f"init {name}: the folder {folder} does not exist; create it first or give "
            "another path."
        )
    return folder / f"{stem}.py", folder / f"test_{stem}.py", stem


@app.command("init")
def init_command(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME",
            help="The spec's module name (a Python identifier), optionally in a folder: "
            "writes NAME.py and test_NAME.py.",
            show_default=False,
        ),
    ],
) -> None:
    """Write a commented starter spec NAME.py and a pytest file test_NAME.py for it."""
    with reported_errors():
        spec_path, test_path, stem = _paths(name)
        existing = [str(p) for p in (spec_path, test_path) if p.exists() or p.is_symlink()]
        if existing:
            raise ModelcheckError(
                f"init {name}: {' and '.join(existing)} already "
                f"{'exist' if len(existing) > 1 else 'exists'}; init never overwrites a file. "
                "Choose another name or move the file away."
            )
        cls = _class_name(stem)
        texts = {
            spec_path: _SPEC.format(cls=cls, stem=stem),
            test_path: _TEST.format(cls=cls, stem=stem, test=test_path.name),
        }
        written: list[Path] = []
        try:
            for path, text in texts.items():
                with open(path, "x", encoding="utf-8") as out:  # "x": never over a file
                    out.write(text)
                written.append(path)
        except OSError:
            for path in written:  # all or nothing
                path.unlink(missing_ok=True)
            raise
        typer.echo(
            f"wrote {spec_path} (the spec {cls}) and {test_path} (its pytest file).\n"
            f"Next: modelcheck check {spec_path}    finds a lost update (exit code 1)\n"
            f"      modelcheck check {spec_path} -p compare_and_set=true    all hold (exit 0)\n"
            f"      pytest {test_path}    one failed (with the counterexample), one passed"
        )
    raise typer.Exit(int(ExitCode.OK))
