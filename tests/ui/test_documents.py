"""Documents in the GUI, as a user goes through them: a collection made from a folder of PDFs
in the Documents dialog (indexed in the background, paused and resumed), attached to a chat
with the header's button, a question answered by the tiny model with numbered sources, and
the citation opening the source panel on the right page with the passage."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QDropEvent

from tests.docs.manuals import PUMP, write_pdfs

WAIT_MS = 60_000
SHOTS = Path(os.environ.get("QWQ_SCREENSHOTS", "/tmp/qwq-docs-shots"))


def shot(widget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(SHOTS / f"{name}.png"))


def wait_indexed(qtbot, manager, name: str, files: int) -> None:
    qtbot.waitUntil(
        lambda: (
            name in manager.names()
            and not manager.indexing(name)
            and manager.stats(name)["files"] >= files
        ),
        timeout=WAIT_MS,
    )


@pytest.fixture
def pdfs(tmp_path) -> Path:
    # twelve pages each: more than the tiny model's context takes whole, so passages are
    # retrieved and ranked
    return write_pdfs(tmp_path / "manuals", pages_per_file=12)


def test_folder_of_pdfs_attached_asked_and_cited(answer_window, qtbot, pdfs, monkeypatch):
    window = answer_window
    docs = window.docs
    dialog = docs.show_dialog()
    dialog.create_collection("Manuals")
    qtbot.waitUntil(lambda: dialog.current() == "Manuals", timeout=WAIT_MS)
    (pdfs / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    # The lane is held until the pause is asked, so the pause is taken before the first file
    # whatever the machine's load (it is taken between files: asked during the last file, it
    # would never come).
    held = threading.Event()
    docs.manager.lane.submit(lambda job: held.wait(WAIT_MS / 1000), "holding the lane")
    dialog.add_paths([str(pdfs)])
    run = docs.manager.run("Manuals")
    docs.manager.pause("Manuals")
    held.set()
    qtbot.waitUntil(lambda: run.paused, timeout=WAIT_MS)
    status = dialog.status.text()
    assert dialog.pause_button.text() == "Resume"
    assert status.startswith("Paused 0 of 4"), status
    shot(dialog, "documents-paused")
    dialog.pause_button.click()  # Resume
    wait_indexed(qtbot, docs.manager, "Manuals", 4)
    stats = docs.manager.stats("Manuals")
    assert (stats["indexed"], stats["failed"]) == (3, 1)
    items = [dialog.files.topLevelItem(i) for i in range(dialog.files.topLevelItemCount())]
    rows = {item.text(0): (item.text(1), item.text(4)) for item in items}
    assert rows["b.pdf"] == ("indexed", "")
    assert rows["broken.pdf"][0] == "skipped" and rows["broken.pdf"][1]  # the reason
    assert not dialog.progress.isVisible()
    shot(dialog, "documents-indexed")
    dialog.close()

    window.docs.button.toggle("Manuals", True)  # the header's menu entry, checked
    assert window.controller.collections() == ["Manuals"]
    assert window.docs.button.text() == "Documents (1)"
    assert window.send_message("How often is the coolant pump replaced?")
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=WAIT_MS)
    conv_id = window.controller.conv_id
    assert window.store.attached_collections(conv_id) == ["Manuals"]  # kept with the chat
    reply = window.chat_view.last_widget()
    assert reply.message.content == "Paris"
    bar = reply.citations
    assert bar.isVisible() and bar.buttons
    first = bar.buttons[0]
    assert first.text() == "[1] b.pdf, p. 3"
    stored = window.store.get_message(reply.message.id).stats["sources"]
    assert stored[0]["page"] == 3 and PUMP in stored[0]["text"]
    exported = window.store.export_json(conv_id)
    assert "sources" in json.dumps(exported)

    first.click()
    panel = window.docs.source_panel
    assert panel.isVisible() and panel.page == 3
    assert Path(panel.source.file).name == "b.pdf"
    assert PUMP in panel.passage.toPlainText()
    assert "page 3" in panel.location.text()
    qtbot.waitUntil(lambda: not panel.page_image.pixmap().isNull(), timeout=WAIT_MS)
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    panel.open_button.click()
    assert [Path(u.toLocalFile()).name for u in opened] == ["b.pdf"]
    window.resize(1400, 860)
    qtbot.wait(50)
    shot(window, "chat-with-source-panel")

    assert window.send_message("Which zebra won the chess olympiad?")
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=WAIT_MS)
    qtbot.wait(100)
    reply = window.chat_view.last_widget()
    assert not reply.citations.buttons
    assert "Nothing in Manuals matches" in reply.citations.notice.text()
    shot(window, "chat-nothing-found")

    window.controller.open_conversation(None)  # reopening shows the stored sources again
    window.controller.open_conversation(conv_id)
    assert window.docs.button.text() == "Documents (1)"
    replies = [w for w in window.chat_view.widgets() if w.message.role == "assistant"]
    assert replies[0].citations.buttons[0].text() == "[1] b.pdf, p. 3"


def test_files_dropped_on_the_chat_become_its_documents(window, qtbot, pdfs):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(pdfs / "b.pdf"))])
    event = QDropEvent(
        QPointF(40, 40),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.chat_page.dropEvent(event)
    conv_id = window.controller.conv_id
    assert conv_id is not None
    name = f"Chat {conv_id} files"
    wait_indexed(qtbot, window.docs.manager, name, 1)
    assert window.store.attached_collections(conv_id) == [name]
    assert window.docs.manager.stats(name)["indexed"] == 1
    assert window.notice_bar.isVisible() and "b.pdf" in window.notice_bar.text()


def test_cancel_keeps_finished_files_and_delete_detaches(window, qtbot, pdfs):
    manager = window.docs.manager
    dialog = window.docs.show_dialog()
    manager.add_paths("Cancelled", [str(pdfs)], create=True)
    run = manager.run("Cancelled")
    manager.pause("Cancelled")
    qtbot.waitUntil(lambda: run.paused, timeout=WAIT_MS)
    manager.cancel("Cancelled")
    qtbot.waitUntil(lambda: not manager.indexing("Cancelled"), timeout=WAIT_MS)
    assert manager.stats("Cancelled")["indexed"] < 3
    window.controller.set_collections(["Cancelled"])
    conv_id = window.controller.ensure_conversation("x")
    assert window.store.attached_collections(conv_id) == ["Cancelled"]
    manager.delete("Cancelled")
    qtbot.waitUntil(lambda: "Cancelled" not in manager.names(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.store.attached_collections(conv_id) == [], timeout=WAIT_MS)
    assert window.docs.button.text() == "Documents"
    dialog.refresh()
    assert dialog.current() is None


def test_watched_folder_changes_are_indexed_on_the_timer(window, qtbot, pdfs):
    manager = window.docs.manager
    manager.add_paths("Watched", [str(pdfs)], create=True)
    wait_indexed(qtbot, manager, "Watched", 3)
    (pdfs / "notes.md").write_text("# Notes\n\nThe filter is cleaned every week.\n")
    manager.poll_watch()  # what the QTimer does every WATCH_INTERVAL_MS
    wait_indexed(qtbot, manager, "Watched", 4)
    assert manager.stats("Watched")["indexed"] == 4
