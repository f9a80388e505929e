"""``DocsFeature``: documents wired into the main window (which alone knows both features).

It makes the ``DocsManager`` (library + indexing lane), gives the chat controller the library
(turns are grounded in the attached collections), puts the "Documents" button in the chat
header and the ``SourcePanel`` beside the chat, opens the ``DocumentsDialog`` (given the
window's download queue, for its embedding-model offer), and turns files dropped on the chat
into a collection of that chat. The window passes itself; nothing here
imports the chat package (the objects are used through their public methods and signals).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Slot

from app.ui.common.notices import guarded

from .attach_button import CollectionsButton
from .documents_dialog import DocumentsDialog
from .manager import DocsManager
from .source_panel import SourcePanel


def dropped_collection_name(conv_id: int) -> str:
    """The collection that holds the files dropped on one chat."""
    return f"Chat {conv_id} files"


class DocsFeature(QObject):
    """Documents for one main window; ``shutdown()`` (idempotent) stops its threads."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.notices = window.notices
        self.controller = window.controller
        self.store = window.store
        self.manager = DocsManager(window.paths.docs_index_dir, window.notices, window.paths, self)
        self.controller.docs_library = self.manager.library
        self.button = CollectionsButton(self.manager, window.header)
        window.header.add_widget(self.button)
        self.source_panel = SourcePanel(window.notices, window)
        window.centralWidget().addWidget(self.source_panel)  # the splitter, right of the chat
        self.dialog: DocumentsDialog | None = None
        self.button.attachedChanged.connect(self.controller.set_collections)
        self.button.manageRequested.connect(self.show_dialog)
        self.controller.attachedChanged.connect(self._on_attached_changed)
        self.controller.sourceRequested.connect(self.source_panel.show_source)
        self.manager.collectionDeleted.connect(self._on_deleted)
        window.chat_page.filesDropped.connect(self.add_dropped)
        self.button.set_attached(self.controller.collections())

    @Slot()
    @guarded("opening the documents")
    def show_dialog(self) -> DocumentsDialog:
        """Show the Documents dialog (one per window, not modal)."""
        if self.dialog is None:
            downloads = self.window.model_pages.download_queue()
            self.dialog = DocumentsDialog(self.manager, self.window, downloads)
            self.dialog.attachRequested.connect(self.attach)
        self.dialog.refresh()
        self.dialog.embedder_offer.refresh()
        if self.dialog.isVisible():  # behind the window: bring it forward
            self.dialog.raise_()
            self.dialog.activateWindow()
        self.dialog.show()
        return self.dialog

    @Slot(str)
    @guarded("attaching the collection")
    def attach(self, name: str) -> None:
        self.controller.attach_collection(name)

    @Slot(list)
    @guarded("adding the dropped files")
    def add_dropped(self, paths: list[str]) -> None:
        """Index dropped files or folders into this chat's own collection and attach it."""
        paths = [p for p in paths if Path(p).exists()]
        if not paths:
            return
        conv_id = self.controller.ensure_conversation(f"About {Path(paths[0]).name}")
        name = dropped_collection_name(conv_id)
        self.manager.add_paths(name, paths, create=True)
        self.controller.attach_collection(name)
        what = Path(paths[0]).name if len(paths) == 1 else f"{len(paths)} items"
        self.notices.show(f"Indexing {what} for this chat; answers will cite it.", "info")

    @Slot(list)
    def _on_attached_changed(self, names: list[str]) -> None:
        self.button.set_attached(names)

    @Slot(str)
    @guarded("detaching the deleted collection")
    def _on_deleted(self, name: str) -> None:
        self.store.forget_collection(name)
        self.button.set_attached(self.controller.collections())

    def shutdown(self) -> None:
        """Stop indexing and rendering, close the library. Idempotent."""
        self.source_panel.shutdown()
        self.manager.shutdown()
