"""Indexing's typed progress events and its pause/cancel token.

Events are frozen dataclasses passed to an ``on_event`` callback **on the indexing thread**;
a GUI bridge re-emits them as signals (never touch widgets from the callback). The sequence of
one run: ``IndexingStarted``, then per file ``FileStarted`` and one of ``FileIndexed`` /
``FileFailed``, ``IndexingProgress`` after each file and between embedding batches,
``FileRemoved`` for files gone from disk, ``IndexingPaused``/``IndexingResumed`` around a
pause, and always ``IndexingFinished`` last (also after a cancel or an error).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import DocsError, IndexingCancelled


@dataclass(frozen=True)
class IndexEvent:
    collection: str


@dataclass(frozen=True)
class IndexingStarted(IndexEvent):
    to_index: int  # files new or changed since the last run (by size and mtime)
    unchanged: int
    total_bytes: int  # of the files to index


@dataclass(frozen=True)
class FileStarted(IndexEvent):
    path: str
    number: int  # 1-based among the files to index
    total: int


@dataclass(frozen=True)
class FileIndexed(IndexEvent):
    path: str
    chunks: int
    pages: int | None
    seconds: float
    content_changed: bool = True  # False: only its timestamp had changed, nothing redone


@dataclass(frozen=True)
class FileFailed(IndexEvent):
    path: str
    error: DocsError  # a DocumentError for the file's own problems; message + hint


@dataclass(frozen=True)
class FileRemoved(IndexEvent):
    path: str


@dataclass(frozen=True)
class IndexingProgress(IndexEvent):
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    current: str | None = None

    @property
    def fraction(self) -> float:
        """0..1, by bytes (files weigh what they weigh), counting a file being embedded pro
        rata."""
        return 1.0 if self.bytes_total <= 0 else min(1.0, self.bytes_done / self.bytes_total)


@dataclass(frozen=True)
class IndexingPaused(IndexEvent):
    pass


@dataclass(frozen=True)
class IndexingResumed(IndexEvent):
    pass


@dataclass(frozen=True)
class IndexSummary:
    indexed: int = 0
    unchanged: int = 0
    failed: tuple[tuple[str, DocsError], ...] = ()
    removed: int = 0
    chunks: int = 0
    pages: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class IndexingFinished(IndexEvent):
    summary: IndexSummary = field(default_factory=IndexSummary)
    cancelled: bool = False
    error: DocsError | None = None  # what stopped the run early (embedder, disk), if anything


EventCallback = Callable[[IndexEvent], None]


class IndexControl:
    """Pause, resume and cancel one indexing run from any thread.

    The worker calls ``checkpoint()`` between files and between embedding batches: it blocks
    while paused and raises ``IndexingCancelled`` once cancelled. Files finished before a
    cancel stay indexed; the file in progress is left as it was before the run.
    """

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._cancelled = threading.Event()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def cancel(self) -> None:
        self._cancelled.set()
        self._running.set()  # wake a paused worker so it can stop

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def checkpoint(self, on_pause: Callable[[bool], None] | None = None) -> None:
        """Return when running; block while paused (``on_pause(True)`` then ``(False)``);
        raise ``IndexingCancelled`` when cancelled."""
        if self.paused and not self.cancelled:
            if on_pause:
                on_pause(True)
            while not self._running.wait(0.25):
                pass
            if on_pause and not self.cancelled:
                on_pause(False)
        if self.cancelled:
            raise IndexingCancelled("Indexing was cancelled", "files finished before stay indexed")
