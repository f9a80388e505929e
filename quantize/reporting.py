"""Where a command's events go: a terminal (messages, tqdm bars on stderr) or a JSON-lines stream.

The library reports through ``Reporter.emit`` with the typed events of ``quantize.events`` and
never prints; the command line picks the reporter (``--progress``).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import IO, Protocol

from .events import (
    Cancelled,
    Cleanup,
    Estimated,
    Event,
    Failed,
    Log,
    Progress,
    Result,
    StepSkipped,
    StepStarted,
)
from .hub.download import DownloadProgress
from .progress import Bar


class Reporter(Protocol):
    def emit(self, event: Event) -> None: ...


def progress_callback(reporter: Reporter, step: str, unit: str) -> Callable[[int, int, str], None]:
    """A convert/quantize progress callback (done, total, item) that emits Progress events."""
    return lambda done, total, item: reporter.emit(Progress(step, unit, done, total, item))


def download_callback(reporter: Reporter) -> Callable[[DownloadProgress], None]:
    """A quantize.hub progress callback that emits the fetch step's Progress events."""
    return lambda r: reporter.emit(Progress("fetch", "bytes", r.done, r.total, r.filename, r.phase))


class NullReporter:
    """Discards every event (library calls without a reporter)."""

    def emit(self, event: Event) -> None:
        pass


class TerminalReporter:
    """Human output: messages on stdout, errors on stderr, progress bars (unless ``bars`` is
    false) on stderr, one bar per step (per file while fetching)."""

    def __init__(self, bars: bool = True) -> None:
        self.bars = bars
        self.labels: dict[str, str] = {}
        self.bar: Bar | None = None
        self.bar_step: str | None = None

    def emit(self, event: Event) -> None:
        if isinstance(event, Progress):
            self._progress(event)
            return
        self._close_bar()
        if isinstance(event, StepStarted):
            self.labels[event.step] = event.label or event.step
        elif isinstance(event, StepSkipped):
            print(f"{event.step}: {event.reason}, skipped")
        elif isinstance(event, Cleanup) and event.removed:
            print(
                f"removed {len(event.removed)} partial file(s) left in {event.folder} by an "
                f"earlier run that was killed ({event.bytes_freed:,} bytes freed)"
            )
        elif isinstance(event, Estimated):
            print(event.text)
        elif isinstance(event, Log):
            print(event.message)
        elif isinstance(event, Result) and event.message:
            print(event.message, file=sys.stdout if event.ok else sys.stderr)
        elif isinstance(event, Cancelled):
            print(event.message, file=sys.stderr)
        elif isinstance(event, Failed):
            hint = f"\n  hint: {event.error.hint}" if event.error.hint else ""
            print(f"error: {event.error.message}{hint}", file=sys.stderr)

    def _progress(self, event: Progress) -> None:
        if self.bar is None or self.bar_step != event.step:
            self._close_bar()
            desc = None if event.step == "fetch" else self.labels.get(event.step, event.step)
            if event.unit == "bytes":
                self.bar = Bar(self.bars, desc=desc, unit="B", unit_scale=True)
            else:
                self.bar = Bar(self.bars, desc=desc, unit="tensor")
            self.bar_step = event.step
        if event.step == "fetch":  # one bar per file, its phase as the note
            note = "" if event.phase in ("", "downloading") else event.phase
            self.bar.show(event.done, event.total, key=event.item, note=note)
        else:
            self.bar.show(event.done, event.total, note=event.item)

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class JsonLinesReporter:
    """One JSON object per event and line (see quantize.events), flushed at once.

    If the reader goes away (a broken pipe), ``on_broken`` is called once: a parent that
    stopped listening has gone, so the command line stops the run."""

    def __init__(self, stream: IO[str], on_broken: Callable[[], None] | None = None) -> None:
        self.stream = stream
        self.on_broken = on_broken
        self.broken = False
        self._lock = threading.Lock()  # llama.cpp reports progress from its own thread

    def emit(self, event: Event) -> None:
        with self._lock:
            if self.broken:
                return
            try:
                self.stream.write(event.to_json() + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # BrokenPipeError, or a closed file
                self.broken = True
                if self.on_broken is not None:
                    self.on_broken()
