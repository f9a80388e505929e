"""The Documents dialog's offer of the catalogue's embedding model while none is installed:
"Keyword search only. Download BGE small (67 MB) for search by meaning" and a Download
button that queues it in the window's download queue (duck-typed: the models package is a
sibling this one does not import), with its progress. Once it is installed the line says that
new collections search by meaning (a collection keeps the embedder it was indexed with).
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from app.docs.catalogue import EmbedderEntry
from app.docs.installed import embedder_to_offer
from app.models import DownloadTask, TaskState
from app.sizes import format_bytes
from app.ui.common.notices import NoticeBridge, guarded

SHORT_NAMES = {"bge-small-en-v1.5-f16": "BGE small"}
ACTIVE = (TaskState.QUEUED, TaskState.RUNNING, TaskState.PAUSED)


def short_name(entry: EmbedderEntry) -> str:
    return SHORT_NAMES.get(entry.id, entry.name)


def offer_text(entry: EmbedderEntry) -> str:
    size = f"{round(entry.approx_size_bytes / 1e6)} MB"
    return f"Keyword search only. Download {short_name(entry)} ({size}) for search by meaning"


def task_text(task: DownloadTask) -> str:
    """ "Downloading 45% · 30 MB of 67 MB" (or the state in words)."""
    if task.state == TaskState.FAILED:
        reason = task.error.message if task.error is not None else "the download failed"
        return f"Download stopped: {reason}"
    if task.state == TaskState.QUEUED:
        return "Waiting for the other downloads"
    if task.state == TaskState.PAUSED:
        return "Download paused"
    if task.state == TaskState.CANCELLED:
        return "Download cancelled"
    if task.phase == "checking" or task.done_bytes and task.done_bytes == task.total_bytes:
        return "Checking the download"
    done = f"{format_bytes(task.done_bytes)} of {format_bytes(task.total_bytes)}"
    percent = f"{task.fraction:.0%} · " if task.fraction is not None else ""
    return f"Downloading {percent}{done}"


class EmbedderOffer(QWidget):
    """Hidden while an embedder is installed (or no queue was given); ``installed`` once the
    offered one is downloaded and registered."""

    installed = Signal(str)  # the installed model's name

    def __init__(self, queue, paths, notices: NoticeBridge, parent: QWidget | None = None):
        super().__init__(parent)
        self.queue = queue
        self.paths = paths
        self.notices = notices
        self.entry: EmbedderEntry | None = None
        self.task_id: str | None = None
        self.done = False
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        self.label = QLabel(self)
        self.label.setObjectName("MutedLabel")
        self.label.setWordWrap(True)
        layout.addWidget(self.label, 1)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setAccessibleName("Embedding model download")
        self.progress.setMaximumWidth(160)
        layout.addWidget(self.progress)
        self.download_button = QPushButton("Download", self)
        self.download_button.setAccessibleName("Download the embedding model")
        self.download_button.clicked.connect(self.download)
        layout.addWidget(self.download_button)
        if queue is not None:
            queue.taskChanged.connect(self._on_task)
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        """Show the offer when no embedder is installed (and a download queue exists)."""
        self.entry = embedder_to_offer(self.paths) if self.queue is not None else None
        if self.entry is None:
            self.setVisible(self.done)
            self.progress.setVisible(False)
            self.download_button.setVisible(False)
            return
        self.setVisible(True)
        task = self._task()
        if task is None or task.state in (TaskState.CANCELLED, TaskState.DONE):
            self.label.setText(offer_text(self.entry))
            self.progress.setVisible(False)
            self.download_button.setVisible(True)
            self.download_button.setText("Download")
            self.download_button.setEnabled(True)
        else:
            self._show_task(task)

    @Slot()
    @guarded("downloading the embedding model")
    def download(self) -> None:
        if self.entry is None:
            return
        task = self._task()
        if task is not None and task.state == TaskState.FAILED:
            self.queue.resume(task.id)  # a failed download is retried where it stopped
            return
        task = self.queue.enqueue(
            self.entry.repo_id, self.entry.filename, expected_sha256=self.entry.sha256
        )
        self.task_id = task.id
        self._show_task(task)

    def _task(self) -> DownloadTask | None:
        """The latest queued download of the offered file (from here or elsewhere)."""
        if self.entry is None or self.queue is None:
            return None
        tasks = [
            t
            for t in self.queue.tasks()
            if (t.repo_id, t.filename) == (self.entry.repo_id, self.entry.filename)
        ]
        return tasks[-1] if tasks else None

    def _show_task(self, task: DownloadTask) -> None:
        name = short_name(self.entry) if self.entry is not None else "the embedding model"
        self.label.setText(f"{name}: {task_text(task)}")
        self.progress.setVisible(task.state in ACTIVE)
        self.progress.setValue(int((task.fraction or 0) * 1000))
        failed = task.state == TaskState.FAILED
        self.download_button.setVisible(failed)
        self.download_button.setText("Retry")

    @Slot(object)
    def _on_task(self, task: DownloadTask) -> None:
        if self.entry is None or (task.repo_id, task.filename) != (
            self.entry.repo_id,
            self.entry.filename,
        ):
            return
        if task.state != TaskState.DONE:
            self._show_task(task)
            return
        name = short_name(self.entry)
        self.done = True
        self.refresh()
        self.label.setText(
            f"{name} is installed: new collections search by meaning too "
            "(existing ones keep keyword search)."
        )
        self.installed.emit(task.model_name or name)
