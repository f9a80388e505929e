"""Control of a running command: a graceful cancel, one run per work folder, and the removal
of what a killed run left behind.

Cancel: SIGTERM, SIGINT (Ctrl+C), SIGBREAK (Ctrl+Break on Windows) or the appearance of the
cancel file (``--cancel-file PATH``; works on every OS and is the way for a parent without a
console, such as the GUI on Windows, where SIGTERM cannot be sent gracefully) all set one flag.
Steps that write large files check it at their block or tensor boundaries and raise
RunCancelled there, so the atomic writer's own cleanup removes the temporary file. Phases that
write nothing large (Hub metadata, validation) run ``interruptible``: a request raises
RunCancelled in them at once. A second Ctrl+C interrupts immediately (KeyboardInterrupt).
"""

from __future__ import annotations

import _thread
import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

from .atomic import remove_stale_partials
from .errors import QuantizeToolError
from .events import Cleanup, RemovedPartial

LOCK_NAME = ".qwq-quantize.lock"
CANCEL_POLL_S = 0.2
_SIGNALS = tuple(
    sig for sig in (getattr(signal, n, None) for n in ("SIGTERM", "SIGINT", "SIGBREAK")) if sig
)


class RunCancelled(QuantizeToolError):
    """The run stopped because it was asked to; steps that finished are kept."""

    def __init__(self, step: str | None = None, finished: list[str] | None = None) -> None:
        where = f" during {step}" if step else ""
        super().__init__(
            f"stopped{where} on request",
            "Run the same command again: finished steps are kept and skipped.",
        )
        self.step = step
        self.finished = list(finished or [])


class RunInProgressError(QuantizeToolError):
    """Another run is using the same work folder right now."""


class CancelToken:
    """A stop request: ``event`` is set by a signal, the cancel file or ``request()``."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._zones = 0
        self._interrupted = False

    def is_set(self) -> bool:
        return self.event.is_set()

    def request(self) -> None:
        """Ask the run to stop at its next boundary (from any thread)."""
        self.event.set()

    def check(self, step: str | None = None) -> None:
        """Raise RunCancelled if a stop was requested."""
        if self.event.is_set():
            raise RunCancelled(step)

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """A block that a request (by signal or cancel file) interrupts at once."""
        self._zones += 1
        try:
            self.check()
            yield
        finally:
            self._zones -= 1

    def on_signal(self, signum: int, frame) -> None:
        """Signal handler (main thread): note the request; interrupt an interruptible block."""
        repeated = self.event.is_set()
        self.event.set()
        if repeated and signum == signal.SIGINT:
            raise KeyboardInterrupt
        if self._zones and not self._interrupted:  # once: never inside its own unwinding
            self._interrupted = True
            raise RunCancelled()


@contextlib.contextmanager
def cancellation(cancel_file: Path | None = None) -> Iterator[CancelToken]:
    """A CancelToken wired to the stop signals (from the main thread) and to ``cancel_file``
    (polled; deleted as soon as the request is taken, which tells the parent it was seen)."""
    token = CancelToken()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, token.on_signal) for sig in _SIGNALS}
    watcher = _CancelFileWatcher(Path(cancel_file), token, bool(previous)) if cancel_file else None
    try:
        yield token
    finally:
        if watcher is not None:
            watcher.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _CancelFileWatcher:
    """Polls for the cancel file; when it appears, requests a stop as SIGTERM would, then
    deletes it."""

    def __init__(self, path: Path, token: CancelToken, via_signal: bool) -> None:
        self.path, self.token, self.via_signal = path, token, via_signal
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="cancel-file", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._closed.is_set():
            if self.path.exists():
                self.token.request()
                with contextlib.suppress(OSError):
                    self.path.unlink()
                if self.via_signal:  # runs the handler in the main thread, like SIGTERM
                    _thread.interrupt_main(signal.SIGTERM)
                return
            self._closed.wait(CANCEL_POLL_S)

    def close(self) -> None:
        self._closed.set()
        self._thread.join()


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold the work folder's lock for the block; RunInProgressError if another run has it.

    The OS releases the lock when its process dies, even by SIGKILL."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(Path(folder) / LOCK_NAME), timeout=0)
    try:
        lock.acquire()
    except Timeout as exc:
        raise RunInProgressError(
            f"another qwq-quantize run is using {folder}",
            "Wait for it to finish or stop it; two runs in one folder overwrite each other.",
        ) from exc
    try:
        yield
    finally:
        lock.release()


def sweep_partials(folder: Path, *more: Path, target: str | None = None) -> Cleanup:
    """Remove the atomic writer's temporary files a killed run left in ``folder`` (and ``more``;
    only those for the file ``target`` when given); the event reports them."""
    removed = [r for f in (folder, *more) for r in remove_stale_partials(Path(f), target)]
    return Cleanup(str(folder), [RemovedPartial(str(r.path), r.size) for r in removed])
