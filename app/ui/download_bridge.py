"""Qt side of the model manager: Hub downloads and other long model jobs, off the GUI thread.

* ``DownloadBridge`` wraps the Qt-free ``DownloadManager`` (which runs downloads in its own
  thread) and re-emits every task change as a signal in the GUI thread: ``taskChanged``,
  ``taskFinished`` (installed) and ``taskFailed``.
* ``ModelJob`` runs one blocking call (import a GGUF, verify a model, plan memory) in a
  QThread with ``progress(done, total)``, ``finished(result)`` and ``failed(UserFacingError)``.

Signals from worker threads reach only slots of these QObjects, which live in the GUI thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.models import DownloadManager, DownloadTask, ModelRegistry, TaskState
from app.models.catalogue import CatalogueEntry
from app.models.settings import LoadSettings

from .engine_worker import UserFacingError, describe_error

log = logging.getLogger(__name__)


def user_error(exc: BaseException, doing: str) -> UserFacingError:
    """A readable error for model-manager failures (Hub and quantisation errors included)."""
    from quantize.errors import QuantizeToolError

    if isinstance(exc, QuantizeToolError):
        return UserFacingError(exc.message, exc.hint or None)
    return describe_error(exc, doing)


def task_error(task: DownloadTask) -> UserFacingError:
    """The error of a failed download task, split into message and hint."""
    text = task.error or "The download failed"
    message, _, hint = text.partition("\n  hint: ")
    return UserFacingError(message, hint or None, expected=task.error_kind != "bug")


class DownloadBridge(QObject):
    """Queue downloads from the GUI; every change arrives as a signal in the GUI thread."""

    taskChanged = Signal(object)  # DownloadTask (any change, progress included)
    taskFinished = Signal(object)  # DownloadTask in state DONE (model_name is installed)
    taskFailed = Signal(object, object)  # DownloadTask in state FAILED, UserFacingError
    _relay = Signal(object)  # from the download thread to _on_task in the GUI thread

    def __init__(
        self,
        registry: ModelRegistry,
        manager: DownloadManager | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.registry = registry
        self._relay.connect(self._on_task)
        self.manager = manager or DownloadManager(registry)
        self.manager.listener = self._relay.emit

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
        """Pause the running download (it resumes next time) and stop the download thread."""
        self.manager.shutdown()

    @Slot(object)
    def _on_task(self, task: DownloadTask) -> None:
        self.taskChanged.emit(task)
        if task.state == TaskState.DONE:
            self.taskFinished.emit(task)
        elif task.state == TaskState.FAILED:
            self.taskFailed.emit(task, task_error(task))


class _JobWorker(QObject):
    progress = Signal(object, object)  # done, total (Python ints: may exceed 2**31)
    done = Signal(object)
    failed = Signal(object)

    def __init__(self, fn: Callable, doing: str) -> None:
        super().__init__()
        self.fn = fn
        self.doing = doing

    @Slot()
    def run(self) -> None:
        try:
            result = self.fn(self.progress.emit)
        except Exception as exc:  # every failure must reach the user
            error = user_error(exc, self.doing)
            if not error.expected:
                log.exception("Model job failed while %s", self.doing)
            self.failed.emit(error)
            return
        self.done.emit(result)


class ModelJob(QObject):
    """Run ``fn(report)`` in a new QThread; ``report(done, total)`` drives ``progress``.

    ``cancel`` (a threading.Event) is for ``fn`` to watch. ``wait()`` joins the thread; it is
    also called when the job ends, so no thread outlives its job.
    """

    progress = Signal(object, object)  # done, total (Python ints: may exceed 2**31)
    finished = Signal(object)
    failed = Signal(object)  # UserFacingError

    def __init__(
        self,
        fn: Callable[[Callable[[int, int], None]], Any],
        doing: str,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.cancel = threading.Event()
        self._thread = QThread()
        self._thread.setObjectName("ModelJob")
        self._worker = _JobWorker(fn, doing)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progress.connect(self._on_progress)
        self._worker.done.connect(self._on_done)
        self._worker.failed.connect(self._on_failed)
        self.running = False
        self.discarded = False

    def start(self) -> ModelJob:
        self.running = True
        self._thread.start()
        return self

    def wait(self) -> None:
        """Ask ``fn`` to stop (``cancel``) and join the thread."""
        self.cancel.set()
        self._thread.quit()
        self._thread.wait()

    def discard(self) -> None:
        """Silence this job (a newer one replaces it: its late result must not arrive), join
        its thread and delete it."""
        self.discarded = True
        self.wait()
        self.running = False
        self.deleteLater()

    @Slot(object, object)
    def _on_progress(self, done: int, total: int) -> None:
        if not self.discarded:
            self.progress.emit(done, total)

    @Slot(object)
    def _on_done(self, result: Any) -> None:
        self._end()
        if not self.discarded:
            self.finished.emit(result)

    @Slot(object)
    def _on_failed(self, error: UserFacingError) -> None:
        self._end()
        if not self.discarded:
            self.failed.emit(error)

    def _end(self) -> None:
        self.running = False
        self._thread.quit()
        self._thread.wait()
