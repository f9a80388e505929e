"""The self-test's window check (`qwq-desktop --self-test-window`, run as a child process).

Starts the app exactly as `qwq-desktop` does, and once the event loop runs with the main window
shown prints one JSON line (Qt version, platform plugin, seconds since the process started)
and quits. Run under a throw-away QWQ_DESKTOP_HOME by app/selftest.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import psutil
from PySide6.QtCore import qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from app.ui.window.main_window import MainWindow

from .launch import run_gui


def process_age_s() -> float:
    """Seconds since this process started. On Linux from the kernel's start time in clock ticks
    (10 ms), since psutil's create_time() rests on a boot time rounded to the second."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return time.clock_gettime(time.CLOCK_BOOTTIME) - started
    except (OSError, AttributeError, ValueError, IndexError):
        return time.time() - psutil.Process().create_time()


def _report_and_quit(app: QApplication) -> None:
    shown_after = process_age_s()
    windows = [w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
    size = [windows[0].width(), windows[0].height()] if windows else None
    line = {
        "qt": qVersion(),
        "platform": QGuiApplication.platformName(),
        "shown_after_s": round(shown_after, 3),
        "window_size": size,
    }
    print(json.dumps(line), flush=True)
    if windows:
        windows[0].close()
    app.quit()


def run_window_check() -> int:
    """Start the GUI, report once the main window is shown, then exit (0: it was shown)."""
    return run_gui([], on_shown=_report_and_quit)
