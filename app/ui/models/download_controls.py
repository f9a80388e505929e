"""The controls of one download, shared by the first-run page and the Hub search dialog: the
owner's Download button, then Pause/Resume and "Cancel download" (and any buttons the owner
adds) on a row, a progress bar and a status line below.

The owner says which task the controls show with ``show_task``; Pause/Resume and Cancel act on
it through the ``DownloadQueue``. ``resumed`` tells the owner the user resumed (or retried) it.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.models import DownloadTask, TaskState
from app.ui.common.notices import NoticeBridge, guarded
from app.ui.common.widgets import muted_label, set_label_text

from .download_queue import ACTIVE, DownloadQueue, describe_task


class DownloadControls(QWidget):
    """Pause/Resume, Cancel, progress bar and status line of one download task.

    ``start``: the owner's Download button, first on the row; ``extra``: buttons after Cancel;
    ``end``: buttons at the right end. ``notices``: the owner's bridge, for what fails in a
    slot here. ``keep_finished``: the bar stays (full) once the task ended; otherwise it shows
    only while the task is active."""

    resumed = Signal()

    def __init__(
        self,
        queue: DownloadQueue,
        notices: NoticeBridge,
        start: QPushButton,
        *,
        extra: Sequence[QWidget] = (),
        end: Sequence[QWidget] = (),
        keep_finished: bool = False,
        spacing: int = 8,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.queue = queue
        self.notices = notices
        self.keep_finished = keep_finished
        self.task: DownloadTask | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(spacing)
        self.pauseButton = QPushButton("Pause")
        self.pauseButton.setToolTip("Pause or resume the download")
        self.pauseButton.clicked.connect(self.toggle_pause)
        self.cancelButton = QPushButton("Cancel download")
        self.cancelButton.setToolTip("Stop and delete the partial file")
        self.cancelButton.clicked.connect(self.cancel)
        row = QHBoxLayout()
        for button in (start, self.pauseButton, self.cancelButton, *extra):
            row.addWidget(button)
        row.addStretch(1)
        for button in end:
            row.addWidget(button)
        layout.addLayout(row)
        self.progressBar = QProgressBar()
        self.progressBar.setRange(0, 1000)
        self.progressBar.setTextVisible(False)
        self.progressBar.setAccessibleName("Download progress")
        self.statusLabel = muted_label("")
        self.statusLabel.setAccessibleName("Download status")
        layout.addWidget(self.progressBar)
        layout.addWidget(self.statusLabel)
        self.show_task(None)

    def active(self) -> bool:
        """The task shown can still be paused, resumed or cancelled."""
        return self.task is not None and self.task.state in ACTIVE

    def show_task(
        self, task: DownloadTask | None, text: str | None = None, *, error: bool = False
    ) -> None:
        """Show ``task`` (None: no download): buttons, progress and ``text`` (default: the
        task's state and progress in words); the status line hides when there is no text."""
        self.task = task
        active = self.active()
        self.pauseButton.setVisible(active)
        self.cancelButton.setVisible(active)
        self.progressBar.setVisible(active or (self.keep_finished and task is not None))
        if task is not None:
            running = task.state in (TaskState.RUNNING, TaskState.QUEUED)
            self.pauseButton.setText("Pause" if running else "Resume")
            fraction = task.fraction if task.state != TaskState.DONE else 1.0
            self.progressBar.setValue(int((fraction or 0) * 1000))
        if text is None:
            text = describe_task(task) if task is not None else ""
        self.set_status(text, error=error)

    def set_status(self, text: str, *, error: bool = False) -> None:
        """The status line's text (hidden when empty), in red for an error."""
        set_label_text(self.statusLabel, text, error=error)
        self.statusLabel.setVisible(bool(text))

    @Slot()
    @guarded("pausing the download")
    def toggle_pause(self) -> None:
        task = self.task
        if task is None:
            return
        if task.state in (TaskState.RUNNING, TaskState.QUEUED):
            self.queue.pause(task.id)
        else:
            self.resumed.emit()
            self.queue.resume(task.id)

    @Slot()
    @guarded("cancelling the download")
    def cancel(self) -> None:
        if self.task is not None:
            self.queue.cancel(self.task.id)
