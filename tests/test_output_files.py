"""Output files: only regular files are replaced; links, pipes and devices survive.

Writing used to go through a temporary file renamed over the path, whatever
was there: a FIFO, a device or ``/dev/stdout`` became a regular file and a
symlink was replaced by a copy.  New folders were created without a word.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelcheck.cli import app
from modelcheck.trace import write_text_atomic

LOCK = f"{Path(__file__).resolve().parent / 'toy_specs.py'}:TwoProcessLock"


def run(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old\n")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    result = run("check", LOCK, "-q", "--json", link)
    assert result.exit_code == 0, result.output
    assert link.is_symlink()
    assert json.loads(target.read_text())["statistics"]["states"] > 0


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "made.json")
    write_text_atomic(link, "x\n")
    assert link.is_symlink() and (tmp_path / "made.json").read_text() == "x\n"


def test_a_fifo_is_streamed_to_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    result = run("check", LOCK, "-q", "--json", fifo)
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert json.loads(received[0])["statistics"]["states"] > 0


def device(tmp_path: Path, name: str, minor: int) -> Path:
    """A copy of a memory device (1, minor) in ``tmp_path``, so no real device is at risk."""
    path = tmp_path / name
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot make a device node here: {exc}")
    return path


def test_a_character_device_is_written_to_not_replaced(tmp_path):
    null = device(tmp_path, "null", 3)
    result = run("check", LOCK, "-q", "--json", null)
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(null.stat().st_mode)


def test_a_full_device_is_an_error_naming_it_not_a_replacement(tmp_path):
    full = device(tmp_path, "full", 7)
    result = run("check", LOCK, "-q", "--json", full)
    assert result.exit_code == 2
    assert f"No space left on device: {full}" in result.stderr
    assert stat.S_ISCHR(full.stat().st_mode)


def test_a_new_folder_for_an_output_is_announced(tmp_path):
    out = tmp_path / "new" / "deeper" / "result.json"
    result = run("check", LOCK, "-q", "--json", out)
    assert result.exit_code == 0
    assert out.exists()
    assert f"created folder {tmp_path / 'new'}" in result.stderr


def test_a_new_trace_folder_is_announced(tmp_path):
    traces = tmp_path / "traces"
    result = run("check", LOCK, "-p", "broken=true", "-q", "--trace-dir", traces)
    assert result.exit_code == 1
    assert f"created folder {traces}" in result.stderr


def test_an_existing_folder_is_not_announced(tmp_path):
    result = run("check", LOCK, "-q", "--json", tmp_path / "result.json")
    assert "created folder" not in result.stderr
