"""The package's layout holds: who may import z3 and numba, the ground floor, no import circles.

A static check over the source (``ast``, nothing is imported): every import
statement counts, at module level, under ``if TYPE_CHECKING:`` and inside
functions alike, because an import that is deferred to dodge a circle is
still a circle in the design.  The layout is the project's DESIGN.md
("Layout"): ``errors`` and ``state`` are the ground floor, dependencies
point one way, one package per heavy library.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "modelcheck"

#: Modules that import nothing of modelcheck but each other.
GROUND_FLOOR = {"modelcheck.errors", "modelcheck.containers", "modelcheck.state"}


def module_names(package: Path) -> dict[str, Path]:
    """Dotted module name -> source file, for every module of the package at ``package``."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(path: Path, name: str) -> list[tuple[str, list[str], int]]:
    """``(module, [imported names], line)`` of every import statement in ``path``, absolute."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, module] if module else base)
            out.append((module, [alias.name for alias in node.names], node.lineno))
    return out


def import_graph(package: Path) -> dict[str, dict[str, int]]:
    """Module -> {module of the package it imports: line of the first such import}.

    ``from a.b import c`` is an import of ``a.b.c`` when that is a module, else of
    ``a.b``; the packages above the module imported are not counted (every module
    would otherwise depend on the package root).
    """
    modules = module_names(package)
    top = package.name
    graph: dict[str, dict[str, int]] = {}
    for name, path in modules.items():
        edges: dict[str, int] = {}
        for module, names, line in _imports(path, name):
            if module.partition(".")[0] != top:
                continue
            targets = [f"{module}.{n}" for n in names if f"{module}.{n}" in modules]
            if len(targets) < len(names) or not names:
                owner = module
                while owner and owner not in modules:
                    owner = owner.rpartition(".")[0]
                targets.append(owner)
            for target in targets:
                if target and target != name:
                    edges.setdefault(target, line)
        graph[name] = edges
    return graph


def third_party_importers(package: Path, library: str) -> list[str]:
    """``module:line`` of every import of ``library`` in the package."""
    found = []
    for name, path in module_names(package).items():
        for module, _, line in _imports(path, name):
            if module.partition(".")[0] == library:
                found.append(f"{name}:{line}")
    return found


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Every import circle, as its strongly connected set of modules (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in graph:
                    continue
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(graph[succ])))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))
    return found


def _describe(graph: dict[str, dict[str, int]], group: list[str]) -> str:
    members = set(group)
    return "; ".join(
        f"{m} -> {t} (line {line})"
        for m in group
        for t, line in sorted(graph[m].items())
        if t in members
    )


# --- the package -------------------------------------------------------------------------


def test_only_the_z3_engine_imports_z3():
    outside = [
        where
        for where in third_party_importers(PACKAGE, "z3")
        if not where.startswith("modelcheck.engines.z3")
    ]
    assert not outside, f"z3 imported outside modelcheck/engines/z3: {outside}"
    assert third_party_importers(PACKAGE, "z3")  # the scan sees the engine's own imports


def test_only_the_compiled_engine_imports_numba():
    outside = [
        where
        for where in third_party_importers(PACKAGE, "numba")
        if not where.startswith("modelcheck.engines.compiled")
    ]
    assert not outside, f"numba imported outside modelcheck/engines/compiled: {outside}"
    assert third_party_importers(PACKAGE, "numba")


def test_the_compiled_engine_reaches_the_z3_engine_only_through_path_extraction():
    graph = import_graph(PACKAGE)
    used = {
        f"{m} -> {t}"
        for m, edges in graph.items()
        if m.startswith("modelcheck.engines.compiled")
        for t in edges
        if t.startswith("modelcheck.engines.z3") and t != "modelcheck.engines.z3.extract"
    }
    assert not used, f"the compiled engine uses the z3 engine beyond extract: {sorted(used)}"


def test_errors_imports_nothing_of_modelcheck():
    assert import_graph(PACKAGE)["modelcheck.errors"] == {}


def test_the_ground_floor_imports_only_the_ground_floor():
    graph = import_graph(PACKAGE)
    above = {m: sorted(set(graph[m]) - GROUND_FLOOR) for m in GROUND_FLOOR}
    assert all(not targets for targets in above.values()), above


def test_model_and_components_depend_one_way():
    graph = import_graph(PACKAGE)
    assert "modelcheck.components" not in graph["modelcheck.model"]


def test_there_is_no_import_circle_in_the_package():
    graph = import_graph(PACKAGE)
    assert len(graph) > 50  # the scan sees the whole package
    found = cycles(graph)
    assert not found, "import circles: " + " | ".join(_describe(graph, g) for g in found)


# --- the checks themselves can fail ------------------------------------------------------


def _package(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / "modelcheck" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "modelcheck"


def test_a_circle_through_type_checking_or_a_function_level_import_is_found(tmp_path):
    package = _package(
        tmp_path,
        {
            "__init__.py": "",
            "errors.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from modelcheck.trace import Trace\n"
            ),
            "trace.py": "from modelcheck.errors import TraceFormatError\n",
            "model.py": "from modelcheck.components import checked\n",
            "components.py": "def f():\n    from . import model\n",
            "spec.py": "from modelcheck import errors\n",
        },
    )
    graph = import_graph(package)
    assert graph["modelcheck.errors"] == {"modelcheck.trace": 3}
    assert graph["modelcheck.components"] == {"modelcheck.model": 2}
    assert graph["modelcheck.spec"] == {"modelcheck.errors": 1}
    assert sorted(cycles(graph)) == [
        ["modelcheck.components", "modelcheck.model"],
        ["modelcheck.errors", "modelcheck.trace"],
    ]


def test_a_package_importing_its_own_command_modules_back_is_a_circle(tmp_path):
    package = _package(
        tmp_path,
        {
            "__init__.py": "",
            "cli/__init__.py": "app = 1\nfrom modelcheck.cli import check_cmd\n",
            "cli/check_cmd.py": "from modelcheck.cli import app\n",
            "cli/root.py": "",
        },
    )
    assert cycles(import_graph(package)) == [["modelcheck.cli", "modelcheck.cli.check_cmd"]]


@pytest.mark.parametrize(
    ("library", "source", "expected"),
    [
        ("z3", "import z3\n", ["modelcheck.symbolic.extract:1"]),
        ("z3", "def f():\n    from z3 import Solver\n", ["modelcheck.symbolic.extract:2"]),
        ("z3", "from modelcheck.engines import z3\n", []),  # our package, not the library
        ("numba", "import numba.core\n", ["modelcheck.symbolic.extract:1"]),
    ],
)
def test_a_library_import_is_found_wherever_it_is(tmp_path, library, source, expected):
    package = _package(
        tmp_path,
        {"__init__.py": "", "symbolic/__init__.py": "", "symbolic/extract.py": source},
    )
    assert third_party_importers(package, library) == expected


def test_the_formerly_documented_z3_path_still_gives_the_engine():
    # The README showed `from modelcheck.integrations.z3 import bmc, prove` before
    # the engine became modelcheck.engines.z3; that import keeps working.
    from modelcheck.engines import z3 as engine
    from modelcheck.integrations import z3 as former

    assert former.bmc is engine.bmc and former.prove is engine.prove
    assert set(former.__all__) == set(engine.__all__)
