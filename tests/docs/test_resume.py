"""A SIGKILL during indexing, then a restart: finished files are not redone, the index is
sound, and the rest is indexed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.docs import DocsLibrary, FileIndexed
from tests.docs.makers import write_pdf

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_then_restart_resumes(tmp_path):
    folder = tmp_path / "pdfs"
    folder.mkdir()
    for i in range(12):
        pages = [f"Document {i} page {p}: the serial code is ALPHA{i}X{p}." for p in range(1, 4)]
        write_pdf(folder / f"doc{i:02d}.pdf", pages)
    index_dir = tmp_path / "index"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.docs.index_child", str(index_dir), str(folder)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    done = []
    try:
        while len(done) < 4:
            line = child.stdout.readline()
            assert line, "the child ended before it was killed"
            done.append(line.strip())
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    db_files = list(index_dir.glob("*.sqlite3"))
    conn = sqlite3.connect(db_files[0])  # the killed writer's WAL is recovered on open
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()

    with DocsLibrary(index_dir) as library:
        collection = library.get("Killed")
        committed = {f.path for f in collection.files() if f.status == "indexed"}
        assert set(done) <= committed  # everything reported as done survived
        events = []
        summary = collection.index(on_event=events.append)
        redone = {e.path for e in events if isinstance(e, FileIndexed)}
        assert not redone & committed  # finished files were not redone
        assert summary.indexed == 12 - len(committed)
        assert len(collection.files()) == 12
        hit = collection.search("serial code ALPHA11X2", k=1)[0]
        assert (Path(hit.file).name, hit.page) == ("doc11.pdf", 2)
