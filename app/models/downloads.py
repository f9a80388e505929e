"""The download queue: one file at a time in a background thread, with pause, resume, cancel
and progress (speed, time left). No Qt: the GUI runs its worker loop as a job on its own job
layer (``runner``), anything else on a plain thread.

A failed task keeps its error as the typed exception (``DownloadTask.error``: message, hint,
expected-or-bug), never as text to be parsed back. Unfinished tasks are saved in
``<data>/downloads.json``; a new manager (after the app was closed or killed) lists them as
paused, and resuming continues from the bytes on disk.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from enum import Enum

from app.atomic import atomic_write_text
from app.errors import UserFacingError, as_user_error
from quantize.hub import DownloadCancelled, DownloadProgress, discard_partial

from .catalogue import Catalogue, CatalogueEntry, load_catalogue
from .install import download_target, install_download
from .load_settings import LoadSettings
from .registry import ModelRegistry

log = logging.getLogger(__name__)


class TaskState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (TaskState.DONE, TaskState.CANCELLED)


@dataclass(frozen=True)
class DownloadTask:
    """A snapshot of one queued download (the manager hands out copies)."""

    id: str
    repo_id: str
    filename: str
    revision: str = "main"
    expected_sha256: str | None = None
    catalogue_id: str | None = None
    settings: LoadSettings = field(default_factory=LoadSettings)
    state: TaskState = TaskState.QUEUED
    phase: str = ""
    done_bytes: int = 0
    total_bytes: int | None = None
    speed: float | None = None
    eta: float | None = None
    error: UserFacingError | None = None  # why a FAILED task stopped
    model_name: str | None = None

    @property
    def fraction(self) -> float | None:
        return min(1.0, self.done_bytes / self.total_bytes) if self.total_bytes else None

    def to_dict(self) -> dict:
        data = asdict(replace(self, error=None))
        data["state"] = self.state.value
        data["settings"] = self.settings.to_dict()
        if self.error is not None:
            error = self.error
            data["error"] = {
                "message": error.message,
                "hint": error.hint,
                "bug": not error.expected,
            }
        return data

    @classmethod
    def from_dict(cls, data: dict) -> DownloadTask:
        fields_ = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields_["state"] = TaskState(fields_.get("state", "paused"))
        fields_["settings"] = LoadSettings.from_dict(fields_.get("settings"))
        error = fields_.get("error")
        if isinstance(error, dict):
            fields_["error"] = UserFacingError(
                str(error.get("message") or "The download failed"),
                error.get("hint"),
                expected=not error.get("bug"),
            )
        elif error is not None:  # written by an older version: the sentence as it was
            fields_["error"] = UserFacingError(str(error))
        return cls(**fields_)


Listener = Callable[[DownloadTask], None]
Runner = Callable[[Callable[[], None]], None]


def _thread_runner(work: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=work, name="model-downloads", daemon=True)
    thread.start()
    return thread


class DownloadManager:
    """Queue of Hub downloads that install models into a ModelRegistry.

    ``listener(task)`` is called (from the worker thread) on every change; keep it quick.
    ``runner(work)`` runs the worker loop in the background (default: a thread of its own,
    which ``shutdown`` joins; the GUI passes its job layer's, and waits for it there).
    Call ``shutdown()`` before exiting: it pauses the running download and stops the loop.
    """

    def __init__(
        self,
        registry: ModelRegistry,
        *,
        catalogue: Catalogue | None = None,
        token: str | bool | None = None,
        listener: Listener | None = None,
        runner: Runner | None = None,
    ) -> None:
        self.registry = registry
        self.catalogue = catalogue or load_catalogue()
        self.token = token
        self.listener = listener
        self.runner = runner
        self.state_file = registry.paths.data_dir / "downloads.json"
        self._tasks: dict[str, DownloadTask] = {}
        self._cancel_requested: set[str] = set()
        self._running_id: str | None = None
        self._stop_event: threading.Event | None = None
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None  # the default runner's
        self._working = False  # the worker loop runs (or is about to)
        self._closing = False
        self._restore()

    # -- queue operations --------------------------------------------------------------------
    def enqueue(
        self,
        repo_id: str,
        filename: str,
        *,
        revision: str = "main",
        expected_sha256: str | None = None,
        settings: LoadSettings | None = None,
    ) -> DownloadTask:
        """Queue a file (the same file already queued or paused is resumed instead)."""
        with self._cond:
            for task in self._tasks.values():
                if (task.repo_id, task.filename) == (repo_id, filename) and not task.state.finished:
                    if task.state in (TaskState.PAUSED, TaskState.FAILED):
                        self._set(task.id, state=TaskState.QUEUED, error=None)
                        self._wake()
                    return self._tasks[task.id]
            entry = self.catalogue.find_file(repo_id, filename)
            task = DownloadTask(
                id=uuid.uuid4().hex[:12],
                repo_id=repo_id,
                filename=filename,
                revision=revision,
                expected_sha256=expected_sha256,
                catalogue_id=entry.id if entry else None,
                settings=settings or LoadSettings(),
                total_bytes=entry.approx_size_bytes if entry else None,
            )
            self._tasks[task.id] = task
            self._changed(task)
            self._wake()
            return task

    def enqueue_entry(
        self, entry: CatalogueEntry, settings: LoadSettings | None = None
    ) -> DownloadTask:
        """Queue a catalogue file."""
        return self.enqueue(
            entry.repo_id, entry.filename, expected_sha256=entry.sha256, settings=settings
        )

    def pause(self, task_id: str) -> None:
        """Stop a running or queued download, keeping what was downloaded."""
        with self._cond:
            task = self._get(task_id)
            if task.state == TaskState.QUEUED:
                self._set(task_id, state=TaskState.PAUSED, speed=None, eta=None)
            elif task.state == TaskState.RUNNING and self._stop_event is not None:
                self._stop_event.set()

    def resume(self, task_id: str) -> None:
        """Queue a paused or failed download again; it continues from the bytes on disk."""
        with self._cond:
            task = self._get(task_id)
            if task.state in (TaskState.PAUSED, TaskState.FAILED):
                self._set(task_id, state=TaskState.QUEUED, error=None)
                self._wake()

    def cancel(self, task_id: str) -> None:
        """Stop a download and delete its partial file."""
        with self._cond:
            task = self._get(task_id)
            if task.state == TaskState.RUNNING and self._stop_event is not None:
                self._cancel_requested.add(task_id)
                self._stop_event.set()
            elif not task.state.finished:
                self._discard(task)
                self._set(task_id, state=TaskState.CANCELLED, speed=None, eta=None)

    def clear_finished(self) -> None:
        """Forget done and cancelled tasks."""
        with self._cond:
            for task_id in [t.id for t in self._tasks.values() if t.state.finished]:
                del self._tasks[task_id]
            self._save()

    def tasks(self) -> list[DownloadTask]:
        with self._cond:
            return list(self._tasks.values())

    def task(self, task_id: str) -> DownloadTask:
        with self._cond:
            return self._get(task_id)

    def wait(self, task_id: str, timeout: float | None = None) -> DownloadTask:
        """Block until the task is no longer queued or running; return it."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._tasks[task_id].state not in (TaskState.QUEUED, TaskState.RUNNING),
                timeout,
            )
            return self._tasks[task_id]

    def shutdown(self, timeout: float = 10.0) -> None:
        """Pause the running download (kept for later) and stop the worker thread."""
        with self._cond:
            self._closing = True
            if self._stop_event is not None:
                self._stop_event.set()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    # -- worker ------------------------------------------------------------------------------
    def _wake(self) -> None:
        if self._closing:
            return
        if not self._working:
            self._working = True
            if self.runner is not None:
                self.runner(self._work)
            else:
                self._thread = _thread_runner(self._work)
        self._cond.notify_all()

    def _work(self) -> None:
        while True:
            with self._cond:
                task = next((t for t in self._tasks.values() if t.state == TaskState.QUEUED), None)
                if task is None or self._closing:
                    self._working = False  # a later _wake starts the loop again
                    return
                self._running_id = task.id
                self._stop_event = threading.Event()
                stop = self._stop_event
                self._set(task.id, state=TaskState.RUNNING, phase="starting")
            try:
                self._run(task, stop)
            finally:
                with self._cond:
                    self._running_id = None
                    self._stop_event = None
                    self._cond.notify_all()

    def _run(self, task: DownloadTask, stop: threading.Event) -> None:
        def on_progress(p: DownloadProgress) -> None:
            with self._cond:
                self._set(
                    task.id,
                    phase=p.phase,
                    done_bytes=p.done,
                    total_bytes=p.total,
                    speed=p.speed,
                    eta=p.eta,
                    save=False,
                )

        try:
            model = install_download(
                self.registry,
                task.repo_id,
                task.filename,
                revision=task.revision,
                token=self.token,
                expected_sha256=task.expected_sha256,
                settings=task.settings,
                catalogue=self.catalogue,
                progress=on_progress,
                cancel=stop,
            )
        except DownloadCancelled:
            with self._cond:
                if task.id in self._cancel_requested:
                    self._cancel_requested.discard(task.id)
                    self._discard(task)
                    self._set(task.id, state=TaskState.CANCELLED, speed=None, eta=None)
                else:
                    self._set(task.id, state=TaskState.PAUSED, speed=None, eta=None)
        except UserFacingError as exc:
            self._fail(task, exc)
        except Exception as exc:  # noqa: BLE001 - a bug must still end the task visibly
            log.exception("download of %s/%s crashed", task.repo_id, task.filename)
            self._fail(task, as_user_error(exc, f"downloading {task.filename}"))
        else:
            with self._cond:
                self._set(
                    task.id,
                    state=TaskState.DONE,
                    phase="done",
                    model_name=model.name,
                    done_bytes=model.size_bytes,
                    total_bytes=model.size_bytes,
                    speed=None,
                    eta=0.0,
                )

    def _fail(self, task: DownloadTask, error: UserFacingError) -> None:
        with self._cond:
            self._set(task.id, state=TaskState.FAILED, error=error, speed=None, eta=None)

    # -- state -------------------------------------------------------------------------------
    def _get(self, task_id: str) -> DownloadTask:
        try:
            return self._tasks[task_id]
        except KeyError:
            raise KeyError(f"no download task {task_id!r}") from None

    def _set(self, task_id: str, *, save: bool = True, **changes) -> None:
        task = replace(self._tasks[task_id], **changes)
        self._tasks[task_id] = task
        if save:
            self._save()
        self._changed(task)
        self._cond.notify_all()

    def _changed(self, task: DownloadTask) -> None:
        if self.listener is not None:
            try:
                self.listener(task)
            except Exception:  # noqa: BLE001 - a listener bug must not kill the download
                log.exception("download listener failed")

    def _discard(self, task: DownloadTask) -> None:
        _, part_dir = download_target(self.registry, task.repo_id)
        discard_partial(part_dir, task.filename)

    def _save(self) -> None:
        """Keep the unfinished tasks for the next start. A disk that is full or read-only
        must not stop the queue (the task that met it must still end visibly): the file
        then keeps its last state and this is logged."""
        unfinished = [t.to_dict() for t in self._tasks.values() if not t.state.finished]
        try:
            atomic_write_text(self.state_file, json.dumps({"tasks": unfinished}, indent=2) + "\n")
        except OSError as exc:
            log.warning("could not save the download queue in %s: %s", self.state_file, exc)

    def _restore(self) -> None:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        for raw in data.get("tasks", []):
            try:
                task = DownloadTask.from_dict(raw)
            except (TypeError, ValueError):
                continue
            if task.state in (TaskState.QUEUED, TaskState.RUNNING):
                task = replace(task, state=TaskState.PAUSED, speed=None, eta=None)
            self._tasks[task.id] = task
