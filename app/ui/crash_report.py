"""What a crash of the last run left behind, shown once at the next start of the GUI.

Two files in the app's log folder: ``llama-crash.log``, where a native llama.cpp abort writes
the failed assertion and llama.cpp's last log lines (``app.engine.llama_log``), and
``fatal-error.log``, where Python's faulthandler writes a fatal signal (a crash in native code,
SIGBUS from a memory-mapped model file cut short on disk) with the threads' Python stacks,
armed by ``FatalErrorLog`` while the GUI runs. ``take_crash_report`` turns the newest report
into a warning notice (the log lines under Details) and renames the files ``*.shown`` (kept for
a bug report), so it is shown once.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
from pathlib import Path
from typing import TextIO

from app.engine.llama_log import CRASH_LOG_NAME
from app.ui.common.notices import Notice
from quantize.llama_log import ABORT_PREFIX

FATAL_LOG_NAME = "fatal-error.log"
_FATAL_PREFIX = "Fatal Python error: "


class FatalErrorLog:
    """Python's faulthandler writing to ``fatal-error.log`` while the GUI runs (unless it is
    on already, e.g. under pytest or PYTHONFAULTHANDLER). ``close`` switches it off and
    removes the file when nothing was written."""

    def __init__(self, logs_dir: Path) -> None:
        self.path = logs_dir / FATAL_LOG_NAME
        self._file: TextIO | None = None
        if faulthandler.is_enabled():
            return
        try:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
        except OSError:
            return
        faulthandler.enable(self._file, all_threads=True)

    def close(self) -> None:
        if self._file is None:
            return
        faulthandler.disable()
        self._file.close()
        self._file = None
        with contextlib.suppress(OSError):
            if self.path.stat().st_size == 0:
                self.path.unlink()


def take_crash_report(logs_dir: Path) -> Notice | None:
    """The last run's crash report as a notice, or None; its files are renamed ``*.shown``.
    Call it before arming this run's ``FatalErrorLog``."""
    llama = _take(logs_dir / CRASH_LOG_NAME)
    fatal = _take(logs_dir / FATAL_LOG_NAME)
    if llama:
        return _notice(
            llama,
            ABORT_PREFIX,
            "llama.cpp stopped QwQ Desktop last time: {said}. Its last messages are under "
            "Details; if it happens again with this model, download the model again or choose "
            "another one.",
        )
    if fatal:
        return _notice(
            fatal,
            _FATAL_PREFIX,
            "QwQ Desktop stopped unexpectedly last time ({said}). Where it happened is under "
            "Details. If the model file was being replaced or copied over, load it again once "
            "that has finished.",
        )
    return None


def _notice(text: str, prefix: str, wording: str) -> Notice:
    """A warning about the last report in ``text`` (the one starting at the last ``prefix``)."""
    report = text[text.rfind(prefix) :] if prefix in text else text
    lines = [line.rstrip() for line in report.strip().splitlines() if line.strip()]
    said = lines[0].removeprefix(prefix).strip()
    return Notice(wording.format(said=said), "warning", details="\n".join(lines))


def _take(path: Path) -> str:
    """The text of ``path`` ("" if none or empty), the file renamed ``*.shown``."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
        if text.strip():
            os.replace(path, path.with_name(path.name + ".shown"))
    except OSError:
        return ""
    return text if text.strip() else ""
