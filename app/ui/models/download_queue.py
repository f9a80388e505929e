"""Qt side of the download queue: ``DownloadQueue`` runs the Qt-free ``DownloadManager``'s worker
loop as a job on its own lane and re-emits every task change in the GUI thread:
``taskChanged``, ``taskFinished`` (installed) and ``taskFailed(task, error)``, whose error is
the typed exception the download raised (``task.error``), never text to be parsed back.

``describe_task`` words a task's state and progress for a status line.

Task changes made in the worker thread reach ``_on_task``, a slot of this QObject living in
the GUI thread, through a queued signal.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from app.errors import UserFacingError
from app.models import DownloadManager, DownloadTask, ModelRegistry, TaskState
from app.models.catalogue import CatalogueEntry
from app.models.load_settings import LoadSettings
from app.sizes import format_bytes
from app.ui.common.jobs import Job, JobLane
from app.ui.common.notices import NoticeBridge

# A download that has not ended for good: it can be paused, resumed (a failed one retried) or
# cancelled.
ACTIVE = (TaskState.QUEUED, TaskState.RUNNING, TaskState.PAUSED, TaskState.FAILED)


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min left"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s left"
    return f"{s} s left"


def describe_task(task: DownloadTask) -> str:
    """ "45% · 8.98 GB of 19.85 GB · 52.3 MB/s · 3 min 28 s left" (or the state in words)."""
    parts = []
    if task.fraction is not None:
        parts.append(f"{task.fraction:.0%}")
    parts.append(f"{format_bytes(task.done_bytes)} of {format_bytes(task.total_bytes)}")
    if task.state == TaskState.RUNNING:
        if task.phase == "starting":
            return "Connecting to the Hugging Face Hub…"
        if task.phase == "checking":
            parts.insert(0, "Checking the part already downloaded")
        elif task.phase == "retrying":
            parts.insert(0, "Connection lost, retrying")
        if task.speed:
            parts.append(f"{format_bytes(task.speed)}/s")
        if task.eta is not None and task.phase == "downloading":
            parts.append(format_eta(task.eta))
    elif task.state == TaskState.PAUSED:
        parts.insert(0, "Paused")
    elif task.state == TaskState.QUEUED:
        parts.insert(0, "Waiting")
    elif task.state == TaskState.DONE:
        return "Downloaded and verified"
    elif task.state == TaskState.CANCELLED:
        return "Cancelled"
    elif task.state == TaskState.FAILED:
        parts.insert(0, "Stopped")
    return " · ".join(parts)


class DownloadQueue(QObject):
    """Queue downloads from the GUI; every change arrives as a signal in the GUI thread.

    ``notices`` hears about a failure of the queue itself (a bug: each download's own failure
    ends its task as FAILED, with ``taskFailed``)."""

    taskChanged = Signal(object)  # DownloadTask (any change, progress included)
    taskFinished = Signal(object)  # DownloadTask in state DONE (model_name is installed)
    taskFailed = Signal(object, object)  # DownloadTask in state FAILED, its UserFacingError
    _relay = Signal(object)  # from the download thread to _on_task in the GUI thread

    def __init__(
        self,
        registry: ModelRegistry,
        manager: DownloadManager | None = None,
        notices: NoticeBridge | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.registry = registry
        self.notices = notices or NoticeBridge(self)
        self.lane = JobLane("Downloads", self)
        self.job: Job | None = None  # the worker loop, while it runs
        self._relay.connect(self._on_task)
        self.manager = manager or DownloadManager(registry)
        self.manager.listener = self._relay.emit
        self.manager.runner = self._run_worker

    def enqueue_entry(
        self, entry: CatalogueEntry, settings: LoadSettings | None = None
    ) -> DownloadTask:
        return self.manager.enqueue_entry(entry, settings)

    def enqueue(self, repo_id: str, filename: str, **kwargs) -> DownloadTask:
        return self.manager.enqueue(repo_id, filename, **kwargs)

    def pause(self, task_id: str) -> None:
        self.manager.pause(task_id)

    def resume(self, task_id: str) -> None:
        self.manager.resume(task_id)

    def cancel(self, task_id: str) -> None:
        self.manager.cancel(task_id)

    def tasks(self) -> list[DownloadTask]:
        return self.manager.tasks()

    def shutdown(self) -> None:
        """Pause the running download (it resumes next time) and stop the download thread.
        Idempotent."""
        self.manager.shutdown()
        self.lane.shutdown()

    def _run_worker(self, work: Callable[[], None]) -> None:
        """The manager's runner (called in the GUI thread, by enqueue and resume)."""
        self.job = self.lane.submit(lambda job: work(), "downloading models")
        self.job.errored.connect(self._on_worker_failed)

    @Slot(object)
    def _on_worker_failed(self, error: UserFacingError) -> None:
        self.notices.report(error, "downloading models")

    @Slot(object)
    def _on_task(self, task: DownloadTask) -> None:
        self.taskChanged.emit(task)
        if task.state == TaskState.DONE:
            self.taskFinished.emit(task)
        elif task.state == TaskState.FAILED:
            error = task.error or UserFacingError("The download failed")
            self.taskFailed.emit(task, error)
