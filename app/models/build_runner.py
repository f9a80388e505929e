"""Build a GGUF from the Hub by running ``qwq-quantize all`` as a child process (no Qt).

The child reports typed JSON-lines events (``--progress jsonl``, schema in quantize.events);
a reader thread turns each line back into its event dataclass and hands it to ``on_event`` (in
that thread) or to the ``events()`` iterator. The last event is always ``Exited``.

The Hub token (``app.models.hub_token``) reaches the child as ``HF_TOKEN`` in its
environment, never on its command line (which every user of the computer can read).

``stop()`` asks the child to stop: it creates the cancel file the child watches (every OS) and,
on POSIX once the child has said ``start`` (its signal handlers are in place), also sends
SIGTERM. The child stops at its next block or tensor boundary, removes its temporary files,
keeps the finished steps and exits with 130. Only if it has not ended after ``grace_s`` is it
killed; the runner then removes the temporary files the killed child left. ``on_event`` must
return quickly: the reader thread waits for it.
"""

from __future__ import annotations

import collections
import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from app.models.errors import ModelsError
from app.models.hub_token import token_environment
from quantize.errors import Action
from quantize.events import Cancelled, ErrorInfo, Event, Failed, Log, Result, Started, parse_event
from quantize.pipeline import remove_leftovers
from quantize.run_control import RunInProgressError, folder_lock

CANCEL_NAME = ".qwq-quantize.cancel"
DEFAULT_GRACE_S = 60.0  # one tensor of a 32B model on a slow machine, quantised
STDERR_LINES = 40


def quantize_command(
    args: Sequence[str], *, executable: str | None = None, frozen: bool | None = None
) -> list[str]:
    """The command line running ``qwq-desktop quantize ARGS``, program first.

    In the packaged app (PyInstaller sets ``sys.frozen``) ``sys.executable`` is the app itself,
    which has the ``quantize`` subcommand; from source it is a Python interpreter, which runs the
    same entry point as ``-m app.cli``.
    """
    executable = executable or sys.executable
    frozen = getattr(sys, "frozen", False) if frozen is None else frozen
    if frozen:
        return [executable, "quantize", *args]
    return [executable, "-m", "app.cli", "quantize", *args]


@dataclass(frozen=True)
class Exited(Event):
    """The runner's last event: the child's exit code (130: stopped on request; negative on
    POSIX: ended by that signal), whether the runner had to kill it, its last stderr lines."""

    name: ClassVar[str] = "exited"
    code: int
    killed: bool = False
    stderr_tail: str = ""


class BuildError(ModelsError):
    """The build failed: the tool's typed error (``error_type``: its class name, ``step``), or
    a child that ended without saying why (``expected`` false, its stderr in ``details``)."""

    def __init__(self, info: ErrorInfo, step: str | None = None, details: str | None = None):
        actions = [Action(a["kind"], a["label"], a.get("params", {})) for a in info.actions]
        super().__init__(
            info.message, info.hint, actions=actions, expected=info.expected, details=details
        )
        self.error_type = info.type
        self.step = step


class BuildRunner:
    """One run of ``qwq-quantize all`` in a child process; see the module docstring."""

    def __init__(
        self,
        argv: Sequence[str],
        work_dir: str | os.PathLike[str],
        *,
        cancel_file: str | os.PathLike[str],
        on_event: Callable[[Event], None] | None = None,
        env: dict[str, str] | None = None,
        use_signal: bool | None = None,
    ) -> None:
        """``argv`` must include ``--progress jsonl --cancel-file CANCEL_FILE``; ``for_model``
        builds it. ``use_signal`` (default: on POSIX) adds SIGTERM to the cancel file."""
        self.argv = list(argv)
        self.work_dir = Path(work_dir)
        self.cancel_file = Path(cancel_file)
        self.on_event = on_event
        self.env = env or {}
        self.use_signal = os.name == "posix" if use_signal is None else use_signal
        self.stop_requested = False
        self.killed = False
        self.exit_code: int | None = None
        self.final: Result | Cancelled | Failed | None = None  # the child's last line
        self._process: subprocess.Popen[str] | None = None
        self._queue: queue.Queue[Event] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._done = threading.Event()
        self._listening = threading.Event()  # the child said "start": it handles SIGTERM
        self._stderr_reader: threading.Thread | None = None

    @classmethod
    def for_model(
        cls,
        repo_id: str,
        work_dir: str | os.PathLike[str],
        *,
        qtype: str = "Q4_K_M",
        extra_args: Sequence[str] = (),
        executable: str | None = None,
        frozen: bool | None = None,
        **options,
    ) -> BuildRunner:
        """A runner for ``qwq-desktop quantize all REPO --type QTYPE --dir WORK_DIR``."""
        work_dir = Path(work_dir)
        cancel_file = work_dir / CANCEL_NAME
        args = [
            "all",
            repo_id,
            "--type",
            qtype,
            "--dir",
            str(work_dir),
            "--progress",
            "jsonl",
            "--cancel-file",
            str(cancel_file),
            *extra_args,
        ]
        argv = quantize_command(args, executable=executable, frozen=frozen)
        return cls(argv, work_dir, cancel_file=cancel_file, **options)

    # -- running -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the child (OSError if it cannot be started) and the threads reading it."""
        if self._process is not None:
            raise RuntimeError("this runner was started already; make a new one")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.cancel_file.unlink()  # an old request must not stop the new run
        flags = 0
        if os.name == "nt":  # no console window; Ctrl+C of the parent's console is not its
            flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW
        self._process = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            env={**os.environ, **token_environment(), "PYTHONUNBUFFERED": "1", **self.env},
            creationflags=flags,
        )
        self._stderr_reader = threading.Thread(
            target=self._read_stderr, name="build-stderr", daemon=True
        )
        self._stderr_reader.start()
        threading.Thread(target=self._read_stdout, name="build-events", daemon=True).start()

    @property
    def running(self) -> bool:
        return self._process is not None and not self._done.is_set()

    def events(self) -> Iterator[Event]:
        """The events as they arrive, ending with ``Exited`` (only without ``on_event``)."""
        if self.on_event is not None:
            raise RuntimeError("events go to on_event; events() is for runners without one")
        while True:
            event = self._queue.get()
            yield event
            if isinstance(event, Exited):
                return

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code once the child ended and every event was delivered (None on timeout)."""
        self._done.wait(timeout)
        return self.exit_code

    def outcome(self) -> Result | Cancelled:
        """After ``wait()``: the run's Result (``ok`` false when validation failed) or, for a
        stopped run, Cancelled; BuildError for an error, or a child that ended unexplained."""
        if self.exit_code is None:
            raise RuntimeError("the build has not ended yet; wait() first")
        if isinstance(self.final, Failed):
            raise BuildError(self.final.error, self.final.step)
        if self.final is not None:
            return self.final
        if self.stop_requested:  # killed after the grace period, or before it said anything
            return Cancelled(None, [], self.exit_code, "stopped")
        info = ErrorInfo(
            "BuildCrashed",
            f"The build ended unexpectedly (exit code {self.exit_code})",
            "build again to continue where it stopped; the details say what happened",
            expected=False,
        )
        raise BuildError(info, details="\n".join(self._stderr))

    # -- stopping ----------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Ask the child to stop at its next boundary; returns at once."""
        if self._process is None or self._done.is_set() or self.stop_requested:
            return  # once: a second SIGTERM could land after the child restored the default
        self.stop_requested = True
        # The signal goes first: the child cannot have taken the request from the cancel file
        # yet, so its handler (in place since "start") is still there when the signal lands.
        if self.use_signal and self._listening.is_set() and self._process.poll() is None:
            with contextlib.suppress(OSError):
                self._process.send_signal(signal.SIGTERM)
        with contextlib.suppress(OSError):
            self.cancel_file.touch()

    def stop(self, grace_s: float = DEFAULT_GRACE_S, *, wait: bool = True) -> int | None:
        """Ask the child to stop; kill it if it has not ended after ``grace_s`` seconds.

        With ``wait`` (call it off the GUI thread) return the exit code once every event was
        delivered; without, return None at once and let a watchdog thread do the rest."""
        if self._process is None:
            return None
        self.request_stop()
        if not wait:
            threading.Thread(target=self._kill_after, args=(grace_s,), daemon=True).start()
            return None
        self._kill_after(grace_s)
        return self.wait()

    def _kill_after(self, grace_s: float) -> None:
        assert self._process is not None
        try:
            self._process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.killed = True
            self._process.kill()

    # -- reader threads ----------------------------------------------------------------------
    def _deliver(self, event: Event) -> None:
        if self.on_event is None:
            self._queue.put(event)
            return
        try:
            self.on_event(event)
        except Exception:  # a failing consumer must not stop the stream (nor the child)
            import traceback

            traceback.print_exc()

    def _read_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        for line in self._process.stderr:
            self._stderr.append(line.rstrip("\n"))

    def _read_stdout(self) -> None:
        process = self._process
        assert process is not None and process.stdout is not None
        try:
            for line in process.stdout:
                if not line.strip():
                    continue
                event = parse_event(line) or Log(line.rstrip("\n"))
                if isinstance(event, Started):
                    self._listening.set()
                elif isinstance(event, Result | Cancelled | Failed):
                    self.final = event
                self._deliver(event)
        finally:
            code = process.wait()
            if self._stderr_reader is not None:
                self._stderr_reader.join(5)
            self._after_exit()
            self.exit_code = code
            tail = "\n".join(self._stderr)
            self._deliver(Exited(code, self.killed, tail))
            self._done.set()

    def _after_exit(self) -> None:
        """Remove the cancel file, and what a killed child left (unless another run now uses
        the folder)."""
        with contextlib.suppress(OSError):
            self.cancel_file.unlink()
        with contextlib.suppress(RunInProgressError, OSError), folder_lock(self.work_dir):
            cleanup = remove_leftovers(self.work_dir)
            if cleanup.removed:
                self._deliver(cleanup)
