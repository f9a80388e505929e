"""``DocsManager``: the document library for the GUI, with indexing on its own ``JobLane``.

Everything that touches an index file or an embedder runs on the lane ("DocsThread"), never
on the GUI thread: creating a collection (its embedder is read), adding paths and indexing
them, removing, the folder-watch poll. One run at a time; the others wait in the lane.
``IndexControl`` pause/resume/cancel are called from the GUI thread (the core allows it).
The index events reach the GUI as ``indexEvent(event)``; per-file failures are events too
(``FileFailed``), and the run goes on. A QTimer polls ``Collection.changes()`` (on the lane)
every ``WATCH_INTERVAL_MS`` and re-indexes a collection whose watched folders changed.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.docs import DocsLibrary, IndexControl, IndexingFinished
from app.docs import events as ev
from app.docs.installed import installed_embedder
from app.errors import UserFacingError
from app.ui.common.jobs import Job, JobLane
from app.ui.common.notices import NoticeBridge

log = logging.getLogger(__name__)

WATCH_INTERVAL_MS = 30_000


class RunState:
    """What the GUI knows of one collection's current indexing run."""

    def __init__(self) -> None:
        self.control = IndexControl()
        self.job: Job | None = None
        self.fraction = 0.0
        self.files_done = 0
        self.files_total = 0
        self.current: str | None = None
        self.paused = False
        self.failed: list[tuple[str, str]] = []  # (path, message) of this run


class DocsManager(QObject):
    """The collections, their indexing runs and the folder watch (GUI-thread object)."""

    collectionsChanged = Signal()  # created, deleted, files added or removed, run ended
    indexEvent = Signal(object)  # an app.docs.events.IndexEvent, in the GUI thread
    runChanged = Signal(str)  # a collection's run state changed (progress, pause, end)
    collectionDeleted = Signal(str)

    def __init__(
        self,
        root: str | Path,
        notices: NoticeBridge,
        paths=None,
        parent: QObject | None = None,
        watch_interval_ms: int = WATCH_INTERVAL_MS,
    ) -> None:
        super().__init__(parent)
        self.library = DocsLibrary(root)
        self.notices = notices
        self._paths = paths
        self.lane = JobLane("DocsThread", self)
        self.runs: dict[str, RunState] = {}
        self._closed = False
        self.watch_timer = QTimer(self)
        self.watch_timer.setInterval(watch_interval_ms)
        self.watch_timer.timeout.connect(self.poll_watch)
        self.watch_timer.start()

    @property
    def paths(self):
        """The ``AppPaths`` whose model registry holds the embedder (None: the app's)."""
        return self._paths

    # -- reading (quick; the core answers in milliseconds) -----------------------------------

    def names(self) -> list[str]:
        return self.library.names()

    def stats(self, name: str) -> dict:
        return self.library.get(name).stats()

    def files(self, name: str) -> list:
        return self.library.get(name).files()

    def run(self, name: str) -> RunState | None:
        return self.runs.get(name)

    def indexing(self, name: str | None = None) -> bool:
        return bool(self.runs) if name is None else name in self.runs

    # -- changes (all on the lane) -----------------------------------------------------------

    def create(self, name: str) -> Job:
        """Create an empty collection (with the installed embedder, else BM25 only)."""
        embedder = installed_embedder(self._paths)
        job = self.lane.submit(
            lambda job: self.library.create(name, embedder).name, "creating the collection"
        )
        job.finished.connect(self._on_changed)
        job.errored.connect(self._on_failed)
        return job

    def add_paths(self, name: str, paths: list[str], create: bool = False) -> Job:
        """Add files or folders to ``name`` (created first when ``create``) and index them."""
        embedder = installed_embedder(self._paths) if create else None

        def add(job: Job) -> list[str]:
            library = self.library
            collection = library.get_or_create(name, embedder) if create else library.get(name)
            return collection.add(paths)

        job = self.lane.submit(add, "adding documents")
        job.finished.connect(self._on_changed)
        job.errored.connect(self._on_failed)
        self.start_index(name)
        return job

    def start_index(self, name: str) -> RunState:
        """Index what changed in ``name`` (queued behind other work on the lane)."""
        if name in self.runs:
            return self.runs[name]
        state = self.runs[name] = RunState()
        job = Job(partial(self._index, name, state.control), "indexing documents")
        job.yielded.connect(self._on_event)
        job.finished.connect(self._on_run_finished)
        job.errored.connect(self._on_run_failed)
        job.aborted.connect(self._on_run_aborted)
        state.job = self.lane.submit(job)
        self.runChanged.emit(name)
        return state

    def pause(self, name: str) -> None:
        if name in self.runs:
            self.runs[name].control.pause()

    def resume(self, name: str) -> None:
        if name in self.runs:
            self.runs[name].control.resume()

    def cancel(self, name: str) -> None:
        """Stop the run; files finished before stay indexed."""
        if name in self.runs:
            self.runs[name].control.cancel()

    def remove_path(self, name: str, path: str) -> Job:
        job = self.lane.submit(
            lambda job: self.library.get(name).remove(path), "removing documents"
        )
        job.finished.connect(self._on_changed)
        job.errored.connect(self._on_failed)
        return job

    def delete(self, name: str) -> Job:
        """Delete a collection for good (a run of it is cancelled first)."""
        self.cancel(name)

        def delete(job: Job) -> str:
            self.library.delete(name)
            return name

        job = self.lane.submit(delete, "deleting the collection")
        job.finished.connect(self._on_deleted)
        job.errored.connect(self._on_failed)
        return job

    @Slot()
    def poll_watch(self) -> None:
        """Ask every idle collection whether its files changed on disk (on the lane)."""
        if self._closed:
            return
        for name in self.names():
            if name not in self.runs:
                job = self.lane.submit(partial(self._changed, name), "watching folders")
                job.finished.connect(self._on_watch_answer)

    # -- work (lane thread) ------------------------------------------------------------------

    def _index(self, name: str, control: IndexControl, job: Job) -> str:
        collection = self.library.get(name)
        embedder = self.library.embedder_for(collection)
        collection.index(embedder, control, job.emit)
        return name

    def _changed(self, name: str, job: Job) -> str | None:
        try:
            return name if self.library.get(name).changes() else None
        except UserFacingError:
            return None  # deleted meanwhile

    # -- results (GUI thread) ----------------------------------------------------------------

    @Slot(object)
    def _on_event(self, event: ev.IndexEvent) -> None:
        state = self.runs.get(event.collection)
        if state is not None:
            if isinstance(event, ev.IndexingStarted):
                state.files_total = event.to_index
            elif isinstance(event, ev.IndexingProgress):
                state.fraction = event.fraction
                state.files_done, state.files_total = event.files_done, event.files_total
                state.current = event.current
            elif isinstance(event, ev.IndexingPaused):
                state.paused = True
            elif isinstance(event, ev.IndexingResumed):
                state.paused = False
            elif isinstance(event, ev.FileFailed):
                state.failed.append((event.path, event.error.text()))
            elif isinstance(event, IndexingFinished):
                state.fraction = 1.0  # a run-wide error arrives as the job's ``errored``
        self.indexEvent.emit(event)
        self.runChanged.emit(event.collection)

    @Slot(object)
    def _on_run_finished(self, name: str) -> None:
        self.runs.pop(name, None)
        self.runChanged.emit(name)
        self.collectionsChanged.emit()

    @Slot(object)
    def _on_run_failed(self, error: UserFacingError) -> None:
        self._forget_ended_runs()
        self.notices.report(error, "indexing documents")

    @Slot()
    def _on_run_aborted(self) -> None:
        self._forget_ended_runs()

    def _forget_ended_runs(self) -> None:
        for name, state in list(self.runs.items()):
            if state.job is not None and state.job.done:
                self.runs.pop(name, None)
                self.runChanged.emit(name)
        self.collectionsChanged.emit()

    @Slot(object)
    def _on_watch_answer(self, name: str | None) -> None:
        if name is not None and not self._closed:
            self.start_index(name)

    @Slot(object)
    def _on_deleted(self, name: str) -> None:
        self.collectionDeleted.emit(name)
        self.collectionsChanged.emit()

    @Slot(object)
    def _on_changed(self, _result: object) -> None:
        self.collectionsChanged.emit()

    @Slot(object)
    def _on_failed(self, error: UserFacingError) -> None:
        self.notices.report(error)
        self.collectionsChanged.emit()

    # -- shutdown ----------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Cancel runs, stop the thread, close the library. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.watch_timer.stop()
        for state in self.runs.values():
            state.control.cancel()
        self.lane.shutdown(final=self.library.close)
