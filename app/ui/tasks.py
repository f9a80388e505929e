"""Run short jobs (search, export, import) off the GUI thread and hand results back to it.

``TaskRunner.submit(fn, on_done, on_error)`` runs ``fn()`` in a worker QThread. The callbacks are
called in the GUI thread (through ``TaskRunner``'s own slots), so they may touch widgets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from .engine_worker import UserFacingError, describe_error

log = logging.getLogger(__name__)


class _TaskWorker(QObject):
    done = Signal(int, object)
    failed = Signal(int, object)

    @Slot(int, object)
    def run(self, task_id: int, fn: Callable[[], Any]) -> None:
        try:
            result = fn()
        except Exception as exc:
            error = describe_error(exc, "working in the background")
            if not error.expected:
                log.exception("Background task failed")
            self.failed.emit(task_id, error)
            return
        self.done.emit(task_id, result)


class TaskRunner(QObject):
    """One background thread for store jobs; callbacks run in the GUI thread."""

    _submitted = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("TaskThread")
        self._worker = _TaskWorker()
        self._worker.moveToThread(self._thread)
        self._submitted.connect(self._worker.run)
        self._worker.done.connect(self._on_done)
        self._worker.failed.connect(self._on_failed)
        self._callbacks: dict[int, tuple[Callable, Callable | None]] = {}
        self._next_id = 0
        self._shut_down = False
        self._thread.start()

    @property
    def pending(self) -> int:
        return len(self._callbacks)

    def submit(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[UserFacingError], None] | None = None,
    ) -> int:
        """Run ``fn`` in the background; returns a task id."""
        if self._shut_down:
            raise RuntimeError("TaskRunner is shut down")
        self._next_id += 1
        self._callbacks[self._next_id] = (on_done, on_error)
        self._submitted.emit(self._next_id, fn)
        return self._next_id

    def shutdown(self) -> None:
        """Finish the running job, drop the queued ones' callbacks and stop the thread."""
        if self._shut_down:
            return
        self._shut_down = True
        self._callbacks.clear()
        self._thread.quit()
        self._thread.wait()

    @Slot(int, object)
    def _on_done(self, task_id: int, result: Any) -> None:
        callbacks = self._callbacks.pop(task_id, None)
        if callbacks is not None:
            callbacks[0](result)

    @Slot(int, object)
    def _on_failed(self, task_id: int, error: UserFacingError) -> None:
        callbacks = self._callbacks.pop(task_id, None)
        if callbacks is not None and callbacks[1] is not None:
            callbacks[1](error)
