"""One install gives every engine: what the package imports, pyproject.toml installs.

A static check (no network at test time): every third-party module imported
anywhere in ``modelcheck/`` must belong to a distribution listed in the
default ``[project] dependencies``, not only in an extra.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "modelcheck"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    return _normalise(re.split(r"[ ;<>=!~\[]", requirement.strip(), maxsplit=1)[0])


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def default_dependencies() -> set[str]:
    return {_requirement_name(r) for r in project()["dependencies"]}


def third_party_imports() -> dict[str, list[str]]:
    """Top-level names of every non-stdlib module imported in the package -> where."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top == "modelcheck" or top in sys.stdlib_module_names or top == "__future__":
                    continue
                found.setdefault(top, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_the_scan_finds_the_engines_third_party_imports():
    imports = third_party_imports()
    # The z3 engine and the Hypothesis bridge are the reason for this test.
    assert "z3" in imports and "hypothesis" in imports
    assert any("engines/z3/" in where for where in imports["z3"])


#: Modules an extra installs, and the one package allowed to import each (lazily:
#: the option that needs it says what to install when it is missing).
OPTIONAL = {"ray": ("ray", "modelcheck/engines/cluster/")}


def test_every_module_the_package_imports_is_a_default_dependency():
    owners = packages_distributions()
    wanted = default_dependencies()
    extras = project()["optional-dependencies"]
    missing = []
    for module, where in sorted(third_party_imports().items()):
        if module == "pytest" and all("pytest_plugin.py" in w for w in where):
            continue  # the pytest plugin is only ever imported by pytest itself
        if module in OPTIONAL:
            extra, package = OPTIONAL[module]
            assert module in {_requirement_name(r) for r in extras[extra]}, extra
            outside = [w for w in where if not w.startswith(package)]
            assert not outside, f"{module} is an extra's, imported outside {package}: {outside}"
            continue
        distributions = {_normalise(d) for d in owners.get(module, [])}
        assert distributions, f"{module} (imported at {where[0]}) is not installed here"
        if not distributions & wanted:
            missing.append(f"{module} ({', '.join(sorted(distributions))}; {where[0]})")
    assert not missing, "imported but not a default dependency: " + "; ".join(missing)


def test_extras_hold_only_the_heavy_optional_parts():
    extras = project().get("optional-dependencies", {})
    # The engines' libraries are not hidden behind an extra any more ...
    for name in ("z3", "hypothesis"):
        assert name not in extras
    # ... and no extra repeats a default dependency (it would suggest one is needed).
    wanted = default_dependencies()
    for extra, requirements in extras.items():
        repeated = {_requirement_name(r) for r in requirements} & wanted
        assert not repeated, f"extra {extra!r} repeats default dependencies {repeated}"


def test_the_test_extra_has_what_the_report_tests_validate_with():
    test_extra = {_requirement_name(r) for r in project()["optional-dependencies"]["test"]}
    assert {"pytest", "jsonschema"} <= test_extra


def _import_without(module: str, blocked: str) -> str:
    """Import ``module`` in a fresh Python where ``blocked`` cannot be imported; its stderr."""
    import subprocess

    code = (
        "import sys\n"
        f"sys.modules[{blocked!r}] = None  # makes `import {blocked}` raise ImportError\n"
        "try:\n"
        f"    import {module}\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    return done.stderr


def test_a_missing_z3_says_it_is_a_broken_install_and_gives_the_one_package_to_install():
    message = _import_without("modelcheck.engines.z3", "z3")
    assert message.startswith("ModelcheckError")
    assert "pip install z3-solver" in message
    assert "modelcheck[" not in message  # there is no extra to install any more


def test_a_missing_hypothesis_says_it_is_a_broken_install_and_gives_the_package_to_install():
    message = _import_without("modelcheck.integrations.hypothesis", "hypothesis")
    assert message.startswith("ModelcheckError")
    assert "pip install hypothesis" in message


def test_every_extra_the_readme_names_exists_and_every_extra_is_described():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    extras = set(project().get("optional-dependencies", {}))
    named = set(re.findall(r"""(?:modelcheck|\.)\[([a-z0-9_,-]+)\]""", readme))
    named = {e for group in named for e in group.split(",")}
    assert named <= extras, f"the README installs extras that do not exist: {named - extras}"
    sentence = re.search(r"The only extras are (.*?)\.(?:\s|$)", readme.replace("\n", " "))
    assert sentence is not None
    described = set(re.findall(r"`([a-z0-9_-]+)`", sentence.group(1)))
    assert described == extras


def test_ci_builds_a_fresh_venv_without_extras_and_runs_every_engine_from_it():
    script = ROOT / ".ci" / "fresh-venv"
    text = script.read_text(encoding="utf-8")
    assert script.stat().st_mode & 0o111, ".ci/fresh-venv must be executable"
    assert "python -m venv" in text and "mktemp -d" in text
    install = re.search(r'pip install [^\n]*"\$root"\s*$', text, re.MULTILINE)
    assert install is not None and "[" not in install.group(0), "install . without extras"
    for command in ("check", "simulate", "bmc", "prove"):
        assert re.search(rf'"\$mc" {command} ', text), command
    assert "import modelcheck.integrations.hypothesis" in text
    assert ".ci/fresh-venv" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
