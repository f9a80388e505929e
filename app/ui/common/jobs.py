"""The one way the GUI runs work off its thread: ``Job`` and ``JobLane``.

A ``Job`` is one piece of work, ``fn(job)``, that a ``JobLane`` (one worker thread, jobs one
after another in the order submitted) runs. In the spirit of superqt's ``GeneratorWorker``:

* ``fn`` may be a generator: each item it yields arrives as ``yielded(item)``, and the lane
  checks the abort flag before asking for the next one (an aborted generator is closed, so its
  ``finally`` blocks run). A plain ``fn`` can send items with ``job.emit(item)`` (from any
  thread) and watch ``job.cancel`` (a ``threading.Event``) itself.
* The job ends with exactly one of ``finished(result)``, ``errored(error)`` (the exception
  itself, as a ``UserFacingError``: bugs are ``InternalError`` with the traceback in
  ``details``) or ``aborted()``, then ``ended()``. An exception raised after an abort was asked
  for counts as the abort.
* ``abort()`` asks the work to stop; items it yields afterwards are dropped, its ending still
  arrives. ``discard()`` aborts and drops everything still to come: a newer job replaces this
  one. Stale results are dropped by identity: whoever starts a job connects to that job's
  signals, and a discarded job emits nothing more.

Every public signal is emitted in the GUI thread (the worker thread's signals reach only the
job's own slots), so any slot or callable may be connected. ``JobLane.shutdown()`` discards
what is queued, aborts what runs, waits for the thread and is idempotent: owners call it from
``closeEvent``/``shutdown`` and tests from fixtures.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from app.errors import as_user_error

log = logging.getLogger(__name__)

FINISHED, ERRORED, ABORTED = "finished", "errored", "aborted"


class _Aborted(Exception):
    """The lane stopped a generator between two items."""


class Job(QObject):
    """One piece of background work; see the module's docstring."""

    yielded = Signal(object)  # an item (a generator's, or one passed to emit())
    finished = Signal(object)  # fn's return value
    errored = Signal(object)  # UserFacingError
    aborted = Signal()
    ended = Signal()  # after any of the three above (not after discard())

    _item = Signal(object)  # worker thread -> _on_item (GUI thread)
    _outcome = Signal(str, object)  # worker thread -> _on_outcome (GUI thread)

    def __init__(
        self,
        fn: Callable[[Job], Any],
        doing: str = "working in the background",
        *,
        abortable: bool = True,
    ) -> None:
        """``doing`` ("loading the model") completes "Unexpected error while …". A job that
        is not ``abortable`` (a final save) runs to its end even when discarded or shut down
        (its signals are still dropped once discarded)."""
        super().__init__()
        self.fn = fn
        self.doing = doing
        self.abortable = abortable
        self.cancel = threading.Event()
        self.outcome: str | None = None  # set in the worker thread as the work ends
        self.discarded = False
        self.done = False  # the ending reached the GUI thread (or the job was discarded)
        self.lane: JobLane | None = None  # set by JobLane.submit
        self._item.connect(self._on_item)
        self._outcome.connect(self._on_outcome)

    # -- GUI thread --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Submitted and not yet ended (nor discarded)."""
        return not self.done

    @property
    def aborting(self) -> bool:
        return self.cancel.is_set()

    def abort(self) -> None:
        """Ask the work to stop; its ending (usually ``aborted``) still arrives."""
        if self.abortable:
            self.cancel.set()

    def discard(self) -> None:
        """Abort and drop every signal still to come."""
        self.abort()
        self.discarded = True
        self.done = True

    @Slot(object)
    def _on_item(self, item: Any) -> None:
        if not (self.discarded or self.cancel.is_set()):
            self.yielded.emit(item)

    @Slot(str, object)
    def _on_outcome(self, outcome: str, value: Any) -> None:
        if self.lane is not None:  # first, so the lane is idle when "ended" is heard
            self.lane._ended(self)
        if self.done:
            return
        self.done = True
        if outcome == FINISHED:
            self.finished.emit(value)
        elif outcome == ERRORED:
            self.errored.emit(value)
        else:
            self.aborted.emit()
        self.ended.emit()

    # -- worker thread -----------------------------------------------------------------------
    def emit(self, item: Any) -> None:
        """Send ``item`` to ``yielded`` (callable from any thread)."""
        self._item.emit(item)

    def run(self) -> None:
        """Run the work here and now (the lane calls this in its thread)."""
        if self.cancel.is_set():  # aborted or discarded while it waited in the queue
            self._end(ABORTED, None)
            return
        try:
            result = self.fn(self)
            if inspect.isgenerator(result):
                result = self._drain(result)
        except Exception as exc:  # every failure must reach the user (or count as the abort)
            if self.cancel.is_set():
                if not isinstance(exc, _Aborted):
                    log.info("%s ended with %r after it was aborted", self.doing, exc)
                self._end(ABORTED, None)
                return
            error = as_user_error(exc, self.doing)
            if not error.expected:
                log.error("Unexpected error while %s\n%s", self.doing, error.details)
            self._end(ERRORED, error)
            return
        self._end(FINISHED, result)

    def _drain(self, generator) -> Any:
        while True:
            if self.cancel.is_set():
                generator.close()
                raise _Aborted
            try:
                item = next(generator)
            except StopIteration as stop:
                return stop.value
            self._item.emit(item)

    def _end(self, outcome: str, value: Any) -> None:
        self.outcome = outcome
        self._outcome.emit(outcome, value)


class _LaneWorker(QObject):
    """Lives in the lane's thread and runs what it is handed."""

    @Slot(object)
    def run(self, job: Job) -> None:
        job.run()

    @Slot(object)
    def call(self, fn: Callable[[], Any]) -> None:
        fn()


class JobLane(QObject):
    """One worker thread running jobs one at a time, in order. The thread starts with the
    first job; ``shutdown()`` stops it (idempotent)."""

    _run = Signal(object)
    _call = Signal(object)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._thread = QThread()
        self._thread.setObjectName(name)
        self._worker = _LaneWorker()
        self._worker.moveToThread(self._thread)
        self._run.connect(self._worker.run)
        self._call.connect(self._worker.call, Qt.ConnectionType.BlockingQueuedConnection)
        self._jobs: list[Job] = []  # submitted and not ended (the GUI holds their references)
        self._last: Job | None = None  # the latest ended job, kept until the next one ends
        self.closed = False

    @property
    def busy(self) -> bool:
        """A job is queued or running (discarded ones included until they end)."""
        return bool(self._jobs)

    @property
    def thread(self) -> QThread:
        return self._thread

    def submit(self, work: Job | Callable[[Job], Any], doing: str = "") -> Job:
        """Queue ``work`` (a Job, or ``fn(job)`` made into one) and return the job."""
        if self.closed:
            raise RuntimeError(f"the {self.name} lane is shut down")
        job = work if isinstance(work, Job) else Job(work, doing or "working in the background")
        job.lane = self
        self._jobs.append(job)
        if not self._thread.isRunning():
            self._thread.start()
        self._run.emit(job)
        return job

    def call(self, fn: Callable[[], Any]) -> None:
        """Run ``fn()`` in the lane's thread after what is queued, and wait for it."""
        if self._thread.isRunning():
            self._call.emit(fn)

    def discard_all(self) -> None:
        for job in self._jobs:
            job.discard()

    def shutdown(self, final: Callable[[], Any] | None = None) -> None:
        """Discard queued and running jobs, run ``final()`` in the thread (e.g. free a model
        owned there), stop the thread and wait for it. Idempotent."""
        if self.closed:
            return
        self.closed = True
        self.discard_all()
        if self._thread.isRunning():
            if final is not None:
                self.call(final)
            self._thread.quit()
            self._thread.wait()
        self._jobs.clear()

    def _ended(self, job: Job) -> None:
        if job in self._jobs:
            self._jobs.remove(job)
            self._last = job  # dropped only here, in the GUI thread, once the thread let go
