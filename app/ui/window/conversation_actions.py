"""The main window's conversations: the sidebar's requests (open, rename, pin, delete and undo,
search) and export/import. Search, export and import run as jobs on one lane; every failure,
in a job or in a slot, reaches the user through the window's ``NoticeBridge``."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QFileDialog

from app.about import APP_NAME as APP_TITLE
from app.atomic import atomic_write_text
from app.errors import UserFacingError
from app.store import Conversation, ImportFormatError
from app.ui.common.jobs import Job, JobLane
from app.ui.common.notices import guarded

if TYPE_CHECKING:
    from .main_window import MainWindow


def read_import_file(path: str) -> dict:
    """Read an exported conversation; a file that is not JSON raises ``ImportFormatError``."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ImportFormatError(f"Could not read {path} ({exc.strerror or exc})") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise ImportFormatError(
            f"{path} is not a conversation exported by QwQ Desktop (not valid JSON: {exc})",
            "choose a .json file made with Export as JSON",
        ) from exc


class ConversationActions(QObject):
    """What the window does with conversations (the sidebar and the File/Chat menus)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.store = window.store
        self.sidebar = window.sidebar
        self.controller = window.controller
        self.notices = window.notices
        self.lane = JobLane("TaskThread", self)
        self.search_job: Job | None = None

    # -- the list ----------------------------------------------------------------------------
    @Slot()
    @guarded("listing the conversations")
    def refresh(self) -> None:
        self.sidebar.set_conversations(self.store.list_conversations(), self.controller.conv_id)

    @Slot(int)
    @guarded("opening the conversation")
    def open(self, conv_id: int) -> None:
        self.window.pages.setCurrentWidget(self.window.chat_page)
        if conv_id != self.controller.conv_id:
            self.controller.open_conversation(conv_id)

    @Slot(int, str)
    @guarded("renaming the chat")
    def rename(self, conv_id: int, title: str) -> None:
        conv = self.store.rename(conv_id, title)
        if conv_id == self.controller.conv_id:
            self.on_current_changed(conv)
        self.refresh()

    @Slot(int, bool)
    @guarded("pinning the chat")
    def pin(self, conv_id: int, pinned: bool) -> None:
        self.store.set_pinned(conv_id, pinned)
        self.refresh()

    @Slot(int)
    @guarded("deleting the chat")
    def delete(self, conv_id: int) -> None:
        """Soft-delete a conversation; the sidebar offers Undo for a few seconds."""
        conv = self.store.get_conversation(conv_id)
        if conv_id == self.controller.conv_id:
            self.controller.open_conversation(None)
        self.store.delete(conv_id)
        self.sidebar.undo_bar.offer(conv_id, conv.title)
        self.refresh()

    @Slot(int)
    @guarded("restoring the chat")
    def undo_delete(self, conv_id: int) -> None:
        self.store.restore(conv_id)
        self.refresh()
        self.controller.open_conversation(conv_id)
        self.sidebar.select(conv_id)

    @Slot()
    def rename_current(self) -> None:
        if self.controller.conv_id is not None:
            self.sidebar.start_rename(self.controller.conv_id)

    @Slot()
    @guarded("pinning the chat")
    def toggle_pin_current(self) -> None:
        conv_id = self.controller.conv_id
        if conv_id is not None:
            self.pin(conv_id, not self.store.get_conversation(conv_id).pinned)

    @Slot()
    def delete_current(self) -> None:
        if self.controller.conv_id is not None:
            self.delete(self.controller.conv_id)

    @Slot(object)
    def on_current_changed(self, conv: Conversation | None) -> None:
        w = self.window
        w.header.title.setText(conv.title if conv is not None else "New chat")
        w.setWindowTitle(f"{conv.title} — {APP_TITLE}" if conv is not None else APP_TITLE)
        for action in (w.rename_action, w.pin_action, w.delete_action):
            action.setEnabled(conv is not None)
        for action in (w.export_md_action, w.export_json_action):
            action.setEnabled(conv is not None)
        if conv is not None:
            w.pin_action.setText("Un&pin chat" if conv.pinned else "&Pin chat")
            self.sidebar.select(conv.id)

    # -- search, export, import (background) ---------------------------------------------------
    @Slot(str)
    def search(self, query: str) -> Job:
        """Search all chats in the background; only the newest search's hits are shown."""
        if self.search_job is not None:
            self.search_job.discard()
        store = self.store
        self.search_job = self.lane.submit(lambda job: store.search(query), "searching the chats")
        self.search_job.finished.connect(partial(self._on_search_done, query))
        self.search_job.errored.connect(self._on_job_error)
        return self.search_job

    def _on_search_done(self, query: str, hits: list) -> None:
        self.sidebar.show_hits(query, hits)

    def export(self, conv_id: int, path: str, fmt: str) -> Job:
        """Write a conversation to ``path`` as "markdown" or "json", in the background; the
        thinking is included when "Include thinking in exports" is checked."""
        store = self.store
        thinking = self.window.include_thinking_action.isChecked()

        def work(job: Job) -> str:
            if fmt == "json":
                data = store.export_json(conv_id, include_thinking=thinking)
                text = json.dumps(data, indent=2, ensure_ascii=False)
            else:
                text = store.export_markdown(conv_id, include_thinking=thinking)
            atomic_write_text(path, text)
            return path

        job = self.lane.submit(work, "exporting the chat")
        job.finished.connect(self._on_exported)
        job.errored.connect(self._on_job_error)
        return job

    def import_file(self, path: str) -> Job:
        """Add the conversation exported in ``path``, in the background, and open it."""
        store = self.store
        job = self.lane.submit(
            lambda job: store.import_json(read_import_file(path)), "importing the chat"
        )
        job.finished.connect(self._on_imported)
        job.errored.connect(self._on_job_error)
        return job

    @Slot(object)
    def _on_exported(self, path: str) -> None:
        self.notices.show(f"Exported to {path}", "info")

    @Slot(object)
    @guarded("opening the imported chat")
    def _on_imported(self, conv_id: int) -> None:
        self.refresh()
        self.controller.open_conversation(conv_id)
        self.notices.show("Conversation imported.", "info")

    @Slot(object)
    def _on_job_error(self, error: UserFacingError) -> None:
        self.notices.report(error)

    def _export_dialog(self, fmt: str) -> None:
        conv_id = self.controller.conv_id
        if conv_id is None:
            return
        title = self.store.get_conversation(conv_id).title
        suffix, label = (".json", "JSON (*.json)") if fmt == "json" else (".md", "Markdown (*.md)")
        safe = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in title).strip()
        start = str(Path.home() / f"{safe or 'conversation'}{suffix}")
        path, _ = QFileDialog.getSaveFileName(self.window, "Export chat", start, label)
        if path:
            self.export(conv_id, path, fmt)

    @Slot()
    @guarded("exporting the chat")
    def choose_export_markdown(self) -> None:
        self._export_dialog("markdown")

    @Slot()
    @guarded("exporting the chat")
    def choose_export_json(self) -> None:
        self._export_dialog("json")

    @Slot()
    @guarded("importing a chat")
    def choose_import_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Import a chat", str(Path.home()), "QwQ Desktop chats (*.json)"
        )
        if path:
            self.import_file(path)

    def shutdown(self) -> None:
        """Let the running job finish, drop the queued ones and stop the thread."""
        self.lane.shutdown()
