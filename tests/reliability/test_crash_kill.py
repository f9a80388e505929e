"""Crash safety (tests/reliability/crash_kill.py): the checks themselves, then a few kills of
each scenario (the long run, 20 kills each, is ``python -m tests.reliability.crash_kill``)."""

from __future__ import annotations

import os
import signal
import sqlite3

import psutil
import pytest

from tests.reliability.crash_kill import SCENARIOS, run_scenario
from tests.reliability.harness import child_env, partial_files, run_killed, sqlite_problems
from tests.reliability.kill_download import is_prefix
from tests.reliability.kill_stream import kept_problems

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")

SLEEPER = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(child.pid, flush=True)
time.sleep(60)
"""


def test_a_running_child_is_killed_with_what_it_started(tmp_path):
    run = run_killed(["-c", SLEEPER], child_env(tmp_path), 0.2, marker=lambda line: True)
    assert run.killed and run.returncode == -signal.SIGKILL
    assert run.orphans == 1
    grandchild = int(run.stdout[0])
    try:  # gone, or dead and waiting for init to reap it
        assert psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        pass


def test_a_child_that_ended_first_is_not_counted_as_killed(tmp_path):
    run = run_killed(["-c", "print('done')"], child_env(tmp_path), 5.0)
    assert not run.killed and run.returncode == 0 and run.stdout == ["done"]


def test_the_integrity_check_reports_a_damaged_database(tmp_path):
    db = tmp_path / "t.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.execute("CREATE INDEX t_x ON t(x)")
    conn.executemany("INSERT INTO t VALUES (?)", [(f"row {i}" * 20,) for i in range(2000)])
    conn.commit()
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 't_x'").fetchone()[0]
    conn.close()
    assert sqlite_problems(db) == []
    with open(db, "r+b") as f:  # the index's root page overwritten
        f.seek((root - 1) * page_size + 8)
        f.write(b"\xff" * 64)
    assert sqlite_problems(db)


def test_half_written_files_are_found_by_name(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("model.gguf", ".model.gguf.0a1b2c3d.partial", "sub/tiny.gguf.abc.part"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in partial_files(tmp_path)] == [
        ".model.gguf.0a1b2c3d.partial",
        "tiny.gguf.abc.part",
    ]


def test_a_reply_must_keep_what_was_saved_before_the_kill():
    saved = ("hmm ok so hmm", "")
    assert kept_problems(1, "interrupted", saved, ("hmm ok so hmm ok", "")) == []
    assert kept_problems(1, "interrupted", saved, ("hmm ok", ""))  # lost saved text
    assert kept_problems(1, "interrupted", saved, ("hmm XX so hmm ok", ""))  # garbled
    assert kept_problems(1, "complete", saved, ("hmm ok so hmm ok so", "Paris")) == []
    # after Stop the reply holds what was on screen: a little less than saved is right
    assert kept_problems(1, "cancelled", saved, ("hmm ok so", "")) == []
    assert kept_problems(1, "cancelled", saved, ("hmm XX", ""))


def test_a_partial_download_must_be_the_start_of_the_file():
    data = bytes(range(256)) * 4
    assert is_prefix(data[:100], data) and is_prefix(b"", data)
    assert not is_prefix(data[1:101], data)
    assert not is_prefix(data + b"x", data)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_few_kills_lose_nothing(scenario, tmp_path):
    report = run_scenario(scenario, kills=2, seed=7, workdir=tmp_path, quick=True)
    assert report["kills"] == 2, report["cycles"]
    assert report["problems"] == []
