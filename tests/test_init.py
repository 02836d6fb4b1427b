"""``modelcheck init NAME``: a starter spec that checks out of the box, and its pytest file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelcheck.cli import app

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = "modelcheck.integrations.pytest_plugin"


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_init_writes_a_spec_whose_check_finds_the_lost_update_and_its_fix_holds(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    done = invoke("init", "demo")
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.py", "test_demo.py"]
    assert "modelcheck check demo.py" in done.stdout
    checked = invoke("check", "demo.py", "-q")
    assert checked.exit_code == 1, checked.output
    assert "violated=no_lost_update" in checked.stdout
    # By hand: (idle, idle), (read, idle) and (idle, read), (read, read), (done, idle) and
    # (idle, done) are one state each; (done, read) and (read, done) two each (the second
    # worker read before or after the write); (done, done) three: counter=1 with seen=(0, 0)
    # (the lost update), counter=2 with seen=(0, 1) or (1, 0).  1+2+1+2+4+3 = 13.
    assert "states=13 " in checked.stdout
    shown = invoke("check", "demo.py")
    assert "Counterexample to no_lost_update (invariant): 4 steps" in shown.stdout
    fixed = invoke("check", "demo.py", "-p", "compare_and_set=true", "-q")
    assert fixed.exit_code == 0, fixed.output
    listed = invoke("list", "demo.py")
    assert "Demo:" in listed.stdout and "no_lost_update (invariant)" in listed.stdout


def test_the_generated_files_are_lint_clean(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke("init", "my_protocol").exit_code == 0
    for name in ("my_protocol.py", "test_my_protocol.py"):
        lint = subprocess.run(
            [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E,F,W", name],
            capture_output=True,
            text=True,
        )
        assert lint.returncode == 0, lint.stdout
    assert "class MyProtocol(Spec)" in (tmp_path / "my_protocol.py").read_text()


def test_pytest_on_the_generated_test_file_fails_the_race_and_passes_the_fix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke("init", "demo").exit_code == 0
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", PLUGIN, "-p", "no:cacheprovider", "-v"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "test_demo.py::Demo::no_lost_update FAILED" in done.stdout
    assert "test_demo.py::DemoCompareAndSet::no_lost_update PASSED" in done.stdout
    assert "1 failed, 1 passed" in done.stdout
    assert "modelcheck replay demo.py:Demo " in done.stdout


def test_init_never_overwrites_and_writes_nothing_when_one_file_exists(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "test_demo.py").write_text("# mine\n")
    done = invoke("init", "demo")
    assert done.exit_code == 2
    assert "test_demo.py already exists; init never overwrites a file" in done.stderr
    assert not (tmp_path / "demo.py").exists()
    assert (tmp_path / "test_demo.py").read_text() == "# mine\n"
    assert "Traceback" not in done.output


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("2fast", "cannot name a spec module"),
        ("my-spec", "cannot name a spec module"),
        ("class", "cannot name a spec module"),
        ("test_x", "cannot name a spec module"),
        ("json", "is the name of an existing Python module"),
        ("no_such_folder/demo", "does not exist"),
    ],
)
def test_a_bad_name_is_a_clear_error(tmp_path, monkeypatch, name, says):
    monkeypatch.chdir(tmp_path)
    done = invoke("init", name)
    assert done.exit_code == 2, done.output
    assert says in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_init_accepts_a_folder_and_a_py_suffix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    done = invoke("init", "specs/lock.py")
    assert done.exit_code == 0, done.output
    assert (tmp_path / "specs" / "lock.py").is_file()
    assert (tmp_path / "specs" / "test_lock.py").is_file()
    assert invoke("check", "specs/lock.py", "-q").exit_code == 1


def test_python_dash_m_modelcheck_init_works(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "modelcheck", "init", "demo"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "demo.py").is_file()


def test_the_readme_quick_start_gives_the_exit_codes_it_shows(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(modelcheck init demo .*?)```", text, re.DOTALL).group(1)
    monkeypatch.chdir(tmp_path)
    ran = 0
    for line in block.splitlines():
        command, _, comment = line.partition("#")
        words = command.split()
        if words[0] != "modelcheck":
            assert words == ["pytest", "test_demo.py"]
            # What the pytest run gives is checked by the test above that runs it.
            assert "1 failed (the race), 1 passed (the fix)" in comment
            continue
        expected = int(m.group(1)) if (m := re.search(r"exit (\d)", comment)) else 0
        assert invoke(*words[1:]).exit_code == expected, line
        ran += 1
    assert ran == 3
