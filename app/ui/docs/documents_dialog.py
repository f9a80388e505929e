"""The Documents dialog: collections on the left, the selected one's files on the right.

The user creates a named collection, adds files or a folder (indexed in the background by
``DocsManager``), watches its progress with Pause/Resume and Cancel, sees the files that could
not be read with the reason, and removes files or the whole collection. Nothing here reads a
document or an index run on the GUI thread; the file list and counts are quick index reads.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.docs import events as ev
from app.sizes import format_bytes
from app.ui.common.notices import guarded

from .embedder_offer import EmbedderOffer
from .manager import DocsManager

DOCUMENT_FILTER = (
    "Documents (*.pdf *.docx *.md *.markdown *.txt *.html *.htm *.rst *.py *.js *.ts *.c *.cpp "
    "*.h *.java *.go *.rs *.json *.yaml *.yml *.toml *.csv);;All files (*)"
)


def describe_collection(stats: dict, run) -> str:
    """ "Manuals — 12 files · 340 chunks" or "Manuals — indexing 45%"."""
    if run is not None:
        state = "paused" if run.paused else f"indexing {int(run.fraction * 100)}%"
        return f"{stats['name']} — {state}"
    failed = f" · {stats['failed']} skipped" if stats["failed"] else ""
    return f"{stats['name']} — {stats['indexed']} files · {stats['chunks']} chunks{failed}"


class DocumentsDialog(QDialog):
    """Create collections, add and remove documents, follow indexing."""

    attachRequested = Signal(str)  # a collection to attach to the open chat

    def __init__(self, manager: DocsManager, parent: QWidget | None = None, downloads=None) -> None:
        """``downloads``: the window's download queue, for the embedding model's offer."""
        super().__init__(parent)
        self.manager = manager
        self.downloads = downloads
        self.notices = manager.notices
        self.setWindowTitle("Documents")
        self.setAccessibleName("Documents")
        self.resize(900, 540)
        self._build()
        manager.collectionsChanged.connect(self.refresh)
        manager.runChanged.connect(self._on_run_changed)
        manager.indexEvent.connect(self._on_index_event)
        self.refresh()

    def _build(self) -> None:
        splitter = QSplitter(self)
        left = QWidget(splitter)
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(QLabel("Collections", left))
        self.collections = QListWidget(left)
        self.collections.setAccessibleName("Collections")
        self.collections.currentItemChanged.connect(self._on_selected)
        lv.addWidget(self.collections, 1)
        row = QHBoxLayout()
        self.new_button = QPushButton("New collection…", left)
        self.new_button.clicked.connect(self._on_new)
        self.delete_button = QPushButton("Delete", left)
        self.delete_button.setAccessibleName("Delete collection")
        self.delete_button.clicked.connect(self._on_delete)
        row.addWidget(self.new_button)
        row.addWidget(self.delete_button)
        lv.addLayout(row)

        right = QWidget(splitter)
        rv = QVBoxLayout(right)
        rv.setContentsMargins(8, 0, 0, 0)
        self.title = QLabel("No collection yet: make one with “New collection…”", right)
        self.title.setObjectName("ChatTitle")
        self.title.setWordWrap(True)
        rv.addWidget(self.title)
        self.summary = QLabel(right)
        self.summary.setObjectName("MutedLabel")
        self.summary.setWordWrap(True)
        rv.addWidget(self.summary)
        progress_row = QHBoxLayout()
        self.progress = QProgressBar(right)
        self.progress.setRange(0, 1000)
        self.progress.setAccessibleName("Indexing progress")
        self.pause_button = QPushButton("Pause", right)
        self.pause_button.clicked.connect(self._on_pause)
        self.cancel_button = QPushButton("Cancel", right)
        self.cancel_button.setAccessibleName("Cancel indexing")
        self.cancel_button.clicked.connect(self._on_cancel)
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.pause_button)
        progress_row.addWidget(self.cancel_button)
        rv.addLayout(progress_row)
        self.status = QLabel(right)
        self.status.setObjectName("MutedLabel")
        rv.addWidget(self.status)
        self.files = QTreeWidget(right)
        self.files.setAccessibleName("Files of the collection")
        self.files.setHeaderLabels(["File", "Status", "Pages", "Chunks", "Problem"])
        self.files.setRootIsDecorated(False)
        self.files.setColumnWidth(0, 220)
        for column, width in ((1, 70), (2, 54), (3, 64)):
            self.files.setColumnWidth(column, width)
        rv.addWidget(self.files, 1)
        buttons = QHBoxLayout()
        self.add_files_button = QPushButton("Add files…", right)
        self.add_files_button.clicked.connect(self._on_add_files)
        self.add_folder_button = QPushButton("Add folder…", right)
        self.add_folder_button.clicked.connect(self._on_add_folder)
        self.remove_button = QPushButton("Remove file", right)
        self.remove_button.clicked.connect(self._on_remove_file)
        self.reindex_button = QPushButton("Update", right)
        self.reindex_button.setToolTip("Index what changed on disk")
        self.reindex_button.clicked.connect(self._on_reindex)
        self.attach_button = QPushButton("Use in this chat", right)
        self.attach_button.setObjectName("PrimaryButton")
        self.attach_button.clicked.connect(self._on_attach)
        for b in (self.add_files_button, self.add_folder_button, self.remove_button):
            buttons.addWidget(b)
        buttons.addWidget(self.reindex_button)
        buttons.addStretch(1)
        buttons.addWidget(self.attach_button)
        rv.addLayout(buttons)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([260, 640])
        outer = QVBoxLayout(self)
        self.embedder_offer = EmbedderOffer(self.downloads, self.manager.paths, self.notices, self)
        outer.addWidget(self.embedder_offer)
        outer.addWidget(splitter, 1)

    # -- state ------------------------------------------------------------------------------

    def current(self) -> str | None:
        item = self.collections.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def select(self, name: str) -> None:
        for row in range(self.collections.count()):
            if self.collections.item(row).data(Qt.ItemDataRole.UserRole) == name:
                self.collections.setCurrentRow(row)
                return

    @Slot()
    @guarded("listing the collections")
    def refresh(self) -> None:
        keep = self.current()
        self.collections.blockSignals(True)
        self.collections.clear()
        for name in self.manager.names():
            item = QListWidgetItem(self._describe(name))
            item.setToolTip(item.text())
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.collections.addItem(item)
        self.collections.blockSignals(False)
        if self.collections.count():
            self.select(keep) if keep in self.manager.names() else self.collections.setCurrentRow(0)
        self._show_current()

    def _describe(self, name: str) -> str:
        return describe_collection(self.manager.stats(name), self.manager.run(name))

    def _show_current(self) -> None:
        name = self.current()
        has = name is not None
        for w in (
            self.delete_button,
            self.add_files_button,
            self.add_folder_button,
            self.remove_button,
            self.reindex_button,
            self.attach_button,
            self.files,
        ):
            w.setEnabled(has)
        if not has:
            self.title.setText("No collection yet: make one with “New collection…”")
            self.summary.setText("")
            self.files.clear()
            self._show_run(None)
            return
        stats = self.manager.stats(name)
        self.title.setText(name)
        roots = ", ".join(stats["roots"]) or "no files yet: add files or a folder"
        self.summary.setText(
            f"{stats['indexed']} indexed · {stats['failed']} skipped · {stats['pages']} pages · "
            f"{stats['chunks']} chunks · {format_bytes(stats['index_bytes'])} · "
            f"{stats['embedder'] or 'keyword search (no embedding model)'}\nWatching: {roots}"
        )
        self._fill_files(name)
        self._show_run(name)

    def _fill_files(self, name: str) -> None:
        self.files.clear()
        for record in self.manager.files(name):
            status = "indexed" if record.status == "indexed" else "skipped"
            item = QTreeWidgetItem(
                [
                    Path(record.path).name,
                    status,
                    str(record.pages or ""),
                    str(record.chunks),
                    record.error or "",
                ]
            )
            item.setToolTip(4, record.error or "")
            item.setToolTip(0, record.path)
            item.setToolTip(1, record.error or status)
            item.setData(0, Qt.ItemDataRole.UserRole, record.path)
            self.files.addTopLevelItem(item)

    def _show_run(self, name: str | None) -> None:
        run = self.manager.run(name) if name else None
        for w in (self.progress, self.pause_button, self.cancel_button):
            w.setVisible(run is not None)
        if run is None:
            self.status.setText("")
            return
        self.progress.setValue(int(run.fraction * 1000))
        self.pause_button.setText("Resume" if run.paused else "Pause")
        what = "Paused" if run.paused else "Indexing"
        current = f": {Path(run.current).name}" if run.current else ""
        failed = f" · {len(run.failed)} skipped" if run.failed else ""
        self.status.setText(f"{what} {run.files_done} of {run.files_total}{current}{failed}")

    # -- manager signals --------------------------------------------------------------------

    @Slot(str)
    def _on_run_changed(self, name: str) -> None:
        for row in range(self.collections.count()):
            item = self.collections.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == name and name in self.manager.names():
                item.setText(self._describe(name))
        if name == self.current():
            self._show_run(name)

    @Slot(object)
    def _on_index_event(self, event: ev.IndexEvent) -> None:
        if event.collection != self.current():
            return
        if isinstance(event, (ev.FileIndexed, ev.FileFailed, ev.FileRemoved)):
            self._fill_files(event.collection)
        elif isinstance(event, ev.IndexingFinished):
            self._show_current()

    # -- actions (also called by tests with their arguments) ---------------------------------

    def create_collection(self, name: str):
        job = self.manager.create(name)
        job.finished.connect(self._on_created)
        return job

    def add_paths(self, paths: list[str], name: str | None = None):
        name = name or self.current()
        if name is None or not paths:
            return None
        return self.manager.add_paths(name, [str(p) for p in paths])

    @Slot(object)
    def _on_created(self, name: str) -> None:
        self.refresh()
        self.select(name)

    @Slot(QListWidgetItem, QListWidgetItem)
    @guarded("showing the collection")
    def _on_selected(self, *_items) -> None:
        self._show_current()

    @Slot()
    @guarded("creating the collection")
    def _on_new(self) -> None:
        name, ok = QInputDialog.getText(self, "New collection", "Name of the collection:")
        if ok and name.strip():
            self.create_collection(name.strip())

    @Slot()
    @guarded("adding files")
    def _on_add_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add documents", "", DOCUMENT_FILTER)
        self.add_paths(paths)

    @Slot()
    @guarded("adding a folder")
    def _on_add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder (watched for changes)")
        if folder:
            self.add_paths([folder])

    @Slot()
    @guarded("removing the file")
    def _on_remove_file(self) -> None:
        item, name = self.files.currentItem(), self.current()
        if item is not None and name is not None:
            self.manager.remove_path(name, item.data(0, Qt.ItemDataRole.UserRole))

    @Slot()
    @guarded("deleting the collection")
    def _on_delete(self) -> None:
        name = self.current()
        if name is None:
            return
        answer = QMessageBox.question(
            self,
            "Delete collection",
            f"Delete the collection “{name}” and its index? Your files stay where they are.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.manager.delete(name)

    @Slot()
    @guarded("pausing indexing")
    def _on_pause(self) -> None:
        name = self.current()
        run = self.manager.run(name) if name else None
        if run is not None:
            (self.manager.resume if run.control.paused else self.manager.pause)(name)
            run.paused = run.control.paused
            self._show_run(name)

    @Slot()
    @guarded("cancelling indexing")
    def _on_cancel(self) -> None:
        if self.current():
            self.manager.cancel(self.current())

    @Slot()
    @guarded("updating the collection")
    def _on_reindex(self) -> None:
        if self.current():
            self.manager.start_index(self.current())

    @Slot()
    @guarded("attaching the collection")
    def _on_attach(self) -> None:
        if self.current():
            self.attachRequested.emit(self.current())
