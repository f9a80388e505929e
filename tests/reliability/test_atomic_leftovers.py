"""The next write of a file removes what a killed writer of it left (``.partial`` files named
after their writer's process), and never the file of a writer still running. Found by the
settings kill (crash_kill.py, scenario "settings"): every kill during a save left a hidden
``.settings.json.*.partial`` that no later run removed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from quantize.atomic import atomic_path, partial_target, remove_stale_partials, writer_running
from tests.reliability.harness import ROOT, child_env

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")

WRITER = """
import sys, time
from quantize.atomic import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_text("half")
    print(tmp, flush=True)
    time.sleep(float(sys.argv[2]))
    tmp.write_text("whole")
"""


def _writer(target: Path, seconds: float, tmp_path: Path):
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(target), str(seconds)], cwd=ROOT,
        env=child_env(tmp_path / "home"), stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    partial = Path(child.stdout.readline().strip())
    assert partial.is_file() and partial_target(partial) == target.name
    return child, partial


def test_the_next_write_removes_what_a_killed_writer_left(tmp_path):
    target = tmp_path / "settings.json"
    child, partial = _writer(target, 60, tmp_path)
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    child.stdout.close()
    other = tmp_path / f".models.json.0123abcd.p{child.pid}.partial"  # another file's
    other.write_text("x")
    assert partial.exists() and not writer_running(partial)
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert not partial.exists() and other.exists()


def test_a_running_writers_file_is_kept(tmp_path):
    target = tmp_path / "settings.json"
    child, partial = _writer(target, 1.0, tmp_path)
    try:
        assert writer_running(partial)
        with atomic_path(target) as tmp:  # another process saves meanwhile
            tmp.write_text("mine")
        assert remove_stale_partials(tmp_path) == []
        assert partial.exists()
    finally:
        assert child.wait(30) == 0
        child.stdout.close()
    assert target.read_text() == "whole"  # its rename still worked: the later save wins


def test_files_of_earlier_versions_without_a_process_id_count_as_left_over(tmp_path):
    old = tmp_path / ".m.gguf.0123abcd.partial"
    old.write_bytes(b"12345")
    assert partial_target(old) == "m.gguf" and not writer_running(old)
    with atomic_path(tmp_path / "m.gguf") as tmp:
        tmp.write_bytes(b"new")
    assert not old.exists()
