"""Terminal progress bars for the CLI (tqdm on stderr); the library takes plain callbacks.

Bars appear with the first report, so a command that fails early prints only its error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from tqdm import tqdm


class _Bar:
    """One lazily created tqdm bar, reset when its total or label changes."""

    def __init__(self, enabled: bool, **options) -> None:
        self.enabled = enabled
        self.options = options
        self.bar: tqdm | None = None
        self.key: object = None

    def show(self, done: int, total: int | None, key: object = None, note: str = "") -> None:
        if not self.enabled:
            return
        if self.bar is None or key != self.key:
            self.close()
            desc = str(key)[-40:] if key is not None else self.options.get("desc")
            self.bar = tqdm(**{**self.options, "desc": desc}, total=total, leave=True)
            self.key = key
        if self.bar.total != total:
            self.bar.reset(total=total)
        self.bar.n = done
        if note:
            self.bar.set_postfix_str(note[-32:], refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@contextlib.contextmanager
def byte_progress(desc: str, enabled: bool = True) -> Iterator[Callable[[int, int, str], None]]:
    """A callback (done bytes, total bytes, label) drawing a byte progress bar."""
    bar = _Bar(enabled, desc=desc, unit="B", unit_scale=True)
    try:
        yield lambda done, total, label: bar.show(done, total, note=label)
    finally:
        bar.close()


@contextlib.contextmanager
def count_progress(desc: str, enabled: bool = True) -> Iterator[Callable[[int, int, str], None]]:
    """A callback (index, count, label) drawing a tensor-count progress bar."""
    bar = _Bar(enabled, desc=desc, unit="tensor")
    try:
        yield lambda index, count, label: bar.show(index, count, note=label)
    finally:
        bar.close()


@contextlib.contextmanager
def download_progress(enabled: bool = True) -> Iterator[Callable]:
    """A quantize.hub progress callback drawing one byte bar per file."""
    bar = _Bar(enabled, unit="B", unit_scale=True)

    def update(report) -> None:
        note = "" if report.phase == "downloading" else report.phase
        bar.show(report.done, report.total, key=report.filename, note=note)

    try:
        yield update
    finally:
        bar.close()
