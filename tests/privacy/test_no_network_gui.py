"""No network unless the user starts a download or a Hub search: the desktop app's main flows
(start, load, chat, export, settings, documents, and opening the model pages and the Hub
dialog without searching) run with every socket guarded (tests/privacy/socket_guard.py) and
must not try once."""

from __future__ import annotations

import json
import os

from PySide6.QtWidgets import QApplication

from app.paths import app_paths
from app.settings import AppSettings
from app.ui.launch import run_gui
from app.ui.window.main_window import MainWindow
from tests.faults.windows import desktop_window
from tests.privacy.socket_guard import guarded

WAIT_MS = 60_000
QUESTION = "How often is the coolant pump replaced?"


def close_when_shown(app: QApplication) -> None:
    for widget in app.topLevelWidgets():
        if isinstance(widget, MainWindow):
            widget.close()
    app.quit()


def start_and_quit() -> int:
    """``qwq-desktop`` from start to exit (single-instance lock, settings, store, window)."""
    previous = os.umask(0o022)
    try:
        return run_gui([], on_shown=close_when_shown)
    finally:
        os.umask(previous)


def test_start_load_chat_export_settings_and_documents_use_no_network(
    qapp, qtbot, tiny_answer_gguf, tmp_path
):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "pump.md").write_text("# Pump\n\nThe coolant pump is replaced every 4000 hours.\n")
    export = tmp_path / "chat.json"
    with guarded() as attempts:
        assert start_and_quit() == 0
        with desktop_window(qtbot, app_paths().ensure()) as window:
            window.load_model(str(tiny_answer_gguf))
            qtbot.waitUntil(lambda: window.engine.model is not None, timeout=WAIT_MS)

            assert window.send_message("What is the capital of France?")
            qtbot.waitUntil(lambda: not window.controller.generating, timeout=WAIT_MS)
            conv_id = window.controller.conv_id
            window.export_conversation(conv_id, str(export), "json")
            qtbot.waitUntil(export.is_file, timeout=WAIT_MS)

            changed = {**window.settings.to_dict(), "theme": "dark", "font_size": 15}
            window.preferences.apply_settings(AppSettings.from_dict(changed))

            dialog = window.docs.show_dialog()
            dialog.create_collection("Notes")
            qtbot.waitUntil(lambda: dialog.current() == "Notes", timeout=WAIT_MS)
            dialog.add_paths([str(notes)])
            manager = window.docs.manager
            qtbot.waitUntil(
                lambda: not manager.indexing("Notes") and manager.stats("Notes")["files"] == 1,
                timeout=WAIT_MS,
            )
            dialog.close()
            window.docs.button.toggle("Notes", True)
            assert window.send_message(QUESTION)
            qtbot.waitUntil(lambda: not window.controller.generating, timeout=WAIT_MS)
            reply = window.chat_view.last_widget()

            window.show_models()  # the model pages and the Hub dialog, opened, not used
            window.show_first_run()
            window.show_hub_search()
            qtbot.waitUntil(lambda: window.model_pages.hub_search.isVisible(), timeout=WAIT_MS)
            window.model_pages.hub_search.close()
    assert attempts == [], "\n\n".join(attempts)
    # the flows really ran
    assert json.loads(export.read_text())["messages"]
    assert reply.message.content == "Paris" and reply.citations.buttons
    assert window.settings.theme == "dark"
