"""Disk full (ENOSPC on a real, small tmpfs) while saving a chat, downloading a model,
converting one and indexing documents: a clear message each time, and nothing lost — what was
saved before is intact, and the same action succeeds once there is room again."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from app.paths import app_paths
from app.store import ConversationStore, StoreIOError
from tests.faults.conftest import fill, run_app, wait_for
from tests.faults.windows import desktop_window

BIG = "x" * 300_000  # a reply that needs new pages in the database


def integrity(db) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def test_saving_a_chat_on_a_full_disk(small_disk):
    disk = small_disk(2 << 20)
    db = disk / "conversations.sqlite3"
    with ConversationStore.open(db) as store:
        conv = store.create_conversation("kept")
        store.add_message(conv.id, "user", "first question")
        store.add_message(conv.id, "assistant", "first answer")
        filler = fill(disk)
        with pytest.raises(StoreIOError) as full:
            store.add_message(conv.id, "user", BIG)
        assert "disk is full" in full.value.message or "full" in full.value.message.lower()
        assert "disk is not full" in full.value.hint
        texts = [m.content for m in store.messages(conv.id)]
        assert texts == ["first question", "first answer"]  # nothing half-written
        filler.unlink()
        store.add_message(conv.id, "user", BIG)  # room again: the same save works
    assert integrity(db) == "ok"
    with ConversationStore.open(db) as store:
        assert [m.content[:5] for m in store.messages(conv.id)] == ["first", "first", "xxxxx"]


def test_the_desktop_app_saving_a_chat_on_a_full_disk(small_disk, qtbot, tiny_answer_gguf):
    """The user sends while the disk is full: a notice says so; once there is room the chat
    goes on, and the exchange saved before is still there."""
    home = small_disk(8 << 20, "home")
    paths = app_paths(home).ensure()
    with desktop_window(qtbot, paths) as window:
        store = window.store
        window.load_model(str(tiny_answer_gguf))
        qtbot.waitUntil(lambda: window.engine.model is not None, timeout=60_000)
        assert window.send_message("What is the capital of France?")
        qtbot.waitUntil(lambda: not window.controller.generating, timeout=60_000)
        conv_id = window.controller.conv_id
        filler = fill(home)
        window.send_message(BIG)
        qtbot.waitUntil(lambda: not window.controller.generating, timeout=60_000)
        qtbot.waitUntil(lambda: "full" in window.notice_bar.text().lower(), timeout=10_000)
        assert window.notice_bar.kind == "error"
        filler.unlink()
        assert window.send_message("And of Italy?")
        qtbot.waitUntil(lambda: not window.controller.generating, timeout=60_000)
        contents = [m.content for m in store.messages(conv_id)]
        assert contents[:2] == ["What is the capital of France?", "Paris"]
        assert contents[-2:] == ["And of Italy?", "Paris"]
    assert integrity(paths.conversations_db) == "ok"


def test_a_download_onto_a_disk_that_fills_up(small_disk, tiny_answer_gguf, tmp_path):
    """``qwq-desktop models download`` while another program fills the disk: exit 5 with a
    message; the partial file stays, and the same command resumes it once there is room."""
    from tests.fixtures.fake_hub import FakeHub
    from tests.models.helpers import child_env

    home = small_disk(24 << 20, "home")  # the file and the download's 16 MiB margin
    data = tiny_answer_gguf.read_bytes()
    partials = home / "cache" / "downloads"
    with FakeHub() as hub:
        hub.add_repo("org/tiny-GGUF", {"tiny.gguf": data})
        hub.throttle(200_000)
        env = child_env(hub.endpoint, HF_HOME=str(tmp_path / "hf"))
        args = ["models", "download", "org/tiny-GGUF", "tiny.gguf"]
        child = run_app(args, home, background=True, **env)

        def started() -> bool:
            return any(p.stat().st_size > 200_000 for p in partials.rglob("*") if p.is_file())

        wait_for(started, child)
        filler = fill(home)
        out, err = child.communicate(timeout=300)
        assert child.returncode == 5, err[-2000:]
        assert "Traceback" not in err and "error: " in err and "disk" in err.lower()
        kept = sum(p.stat().st_size for p in partials.rglob("*") if p.is_file())
        assert kept > 200_000  # the bytes already fetched were kept
        filler.unlink()
        hub.throttle(None)
        again = run_app(args, home, **env)
        assert again.returncode == 0, again.stderr[-2000:]
        assert hub.served_bytes("tiny.gguf") < 2 * len(data)  # resumed, not restarted
    installed = next((home / "models").rglob("tiny.gguf"))
    assert installed.read_bytes() == data


def test_converting_onto_a_full_disk(small_disk, tmp_path):
    """``qwq-quantize convert`` with too little room for the GGUF: one message, exit 2, and no
    partial file left that could be taken for a model; with room, the same command works."""
    from tests.fixtures.hf_repo import write_hf_repo

    repo = write_hf_repo(tmp_path / "hf").path
    disk = small_disk(64 << 10)  # the GGUF is about 270 kB
    out = disk / "tiny-f32.gguf"
    args = ["quantize", "convert", str(repo), "--outtype", "f32", "-o", str(out)]
    done = run_app(args, tmp_path / "home")
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout
    assert "error" in done.stderr.lower() and "space" in done.stderr.lower()
    assert " kB" in done.stderr and "0.0 GB" not in done.stderr  # sizes a person can compare
    assert sorted(p.name for p in disk.iterdir()) == []  # no partial output
    roomy = tmp_path / "roomy.gguf"
    again = run_app([*args[:-1], str(roomy)], tmp_path / "home")
    assert again.returncode == 0, again.stderr[-2000:]
    assert roomy.stat().st_size > 64 << 10  # really more than the small disk held


# The free-space check passes (as when another program takes the space after it): the disk
# then really fills up under the converter's writes.
ROOMY_CHECK = """
import shutil, sys
real = shutil.disk_usage
shutil.disk_usage = lambda path: real(path)._replace(free=1 << 40)
from quantize.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_disk_filling_up_in_the_middle_of_a_conversion(small_disk, tmp_path):
    from tests.fixtures.hf_repo import write_hf_repo

    repo = write_hf_repo(tmp_path / "hf").path
    disk = small_disk(64 << 10)
    args = ["-c", ROOMY_CHECK, "convert", str(repo), "--outtype", "f32", "-o", f"{disk}/t.gguf"]
    done = run_app(args, tmp_path / "home", module="")
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr + done.stdout  # it was an OSError traceback
    assert "error: The disk filled up while writing" in done.stderr
    assert list(disk.iterdir()) == []  # the unfinished GGUF was removed


@pytest.mark.parametrize("room", [0, 256], ids=["full", "fills-up"])
def test_indexing_documents_on_a_full_disk(small_disk, tmp_path, room):
    """``qwq-desktop docs add`` when the disk is full or fills up: a message, no traceback;
    the collection indexed before is intact, and the same command finishes once there is
    room."""
    home = small_disk(16 << 20, "home")
    notes, more = tmp_path / "notes", tmp_path / "more"
    notes.mkdir()
    more.mkdir()
    (notes / "pump.md").write_text("# Pump\n\nThe coolant pump is replaced every 4000 hours.\n")
    for i in range(40):
        (more / f"log-{i}.md").write_text(f"# Log {i}\n\n" + f"valve {i} checked. " * 2000)
    assert run_app(["docs", "add", "Notes", str(notes)], home).returncode == 0
    filler = fill(home)
    with open(filler, "r+b") as handle:  # room to open the index and start, not to finish
        handle.truncate(filler.stat().st_size - (room << 10))
    full = run_app(["docs", "add", "Notes", str(more)], home)
    assert full.returncode != 0
    assert "Traceback" not in full.stderr + full.stdout, full.stderr[-3000:]
    assert "error: " in full.stderr and "disk" in full.stderr, full.stderr[-2000:]
    search = ["docs", "search", "Notes", "coolant pump", "--json"]
    meanwhile = run_app(search, home)  # works, or says the disk is full
    assert meanwhile.returncode == 0 or "disk has room" in meanwhile.stderr
    filler.unlink()
    found = run_app(search, home)  # what was indexed before is all there
    assert found.returncode == 0 and "4000 hours" in json.loads(found.stdout)[0]["text"]
    again = run_app(["docs", "add", "Notes", str(more)], home)
    assert again.returncode == 0, again.stderr[-2000:]
    listed = json.loads(run_app(["docs", "list", "--json"], home).stdout)
    assert listed[0]["files"] == 41


def test_the_download_queue_on_a_disk_that_fills_up(small_disk, tiny_answer_gguf, monkeypatch):
    """The desktop app's download queue (DownloadManager): the task fails with the disk-full
    error (even though its own state file cannot be saved then), and resumes with room."""
    from app.models import DownloadManager, ModelRegistry, TaskState
    from tests.fixtures.fake_hub import FakeHub

    home = small_disk(24 << 20, "home")
    monkeypatch.setenv("QWQ_DESKTOP_HOME", str(home))
    data = tiny_answer_gguf.read_bytes()
    with FakeHub() as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        hub.add_repo("org/tiny-GGUF", {"tiny.gguf": data})
        hub.throttle(200_000)
        manager = DownloadManager(ModelRegistry(app_paths().ensure()))
        try:
            task = manager.enqueue("org/tiny-GGUF", "tiny.gguf")
            deadline = time.monotonic() + 60
            while manager.task(task.id).done_bytes < 200_000 and time.monotonic() < deadline:
                time.sleep(0.05)
            filler = fill(home)
            failed = manager.wait(task.id, timeout=120)
            assert failed.state == TaskState.FAILED
            assert "disk" in failed.error.message.lower()
            filler.unlink()
            hub.throttle(None)
            manager.resume(task.id)
            done = manager.wait(task.id, timeout=120)
            assert done.state == TaskState.DONE, done.error
        finally:
            manager.shutdown()
    assert hub.served_bytes("tiny.gguf") < 2 * len(data)


def test_the_desktop_app_indexing_on_a_disk_that_fills_up(small_disk, qtbot, tmp_path):
    home = small_disk(16 << 20, "home")
    notes = tmp_path / "notes"
    notes.mkdir()
    for i in range(40):
        (notes / f"log-{i}.md").write_text(f"# Log {i}\n\n" + f"valve {i} checked. " * 2000)
    with desktop_window(qtbot, app_paths(home).ensure()) as window:
        dialog = window.docs.show_dialog()
        dialog.create_collection("Notes")
        qtbot.waitUntil(lambda: dialog.current() == "Notes", timeout=30_000)
        filler = fill(home)
        with open(filler, "r+b") as handle:  # room to start indexing, not to finish
            handle.truncate(filler.stat().st_size - (256 << 10))
        dialog.add_paths([str(notes)])
        manager = window.docs.manager
        qtbot.waitUntil(lambda: "disk is full" in window.notice_bar.text(), timeout=60_000)
        qtbot.waitUntil(lambda: not manager.indexing("Notes"), timeout=60_000)
        filler.unlink()
        dialog.add_paths([str(notes)])  # room again: the same action finishes
        qtbot.waitUntil(
            lambda: not manager.indexing("Notes") and manager.stats("Notes")["indexed"] == 40,
            timeout=120_000,
        )
        dialog.close()
