"""``run_gui``: start the desktop app (single-instance lock, settings, store, main window)."""

from __future__ import annotations

import importlib.resources
import os
import sys
from collections.abc import Callable

from PySide6.QtCore import QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from app import __version__
from app.paths import AppPaths, DataFolderError, app_paths, private_files
from app.settings import load_settings
from app.store import ConversationStore, StoreError
from app.ui.common.notices import Notice
from app.ui.common.single_instance import InstanceLock
from app.ui.crash_report import FatalErrorLog, take_crash_report
from app.ui.window.main_window import APP_TITLE, MainWindow


def app_icon() -> QIcon:
    """The application icon (package data, so it also works in the PyInstaller bundle)."""
    return QIcon(str(importlib.resources.files("resources") / "icons" / "qwq-desktop.svg"))


NO_DISPLAY = (
    "qwq-desktop: cannot open a window ({reason}); "
    "the terminal chat works without one: qwq-desktop chat --model FILE.gguf"
)
EXIT_NO_DISPLAY = 3


def missing_display_reason(environ: dict[str, str] | None = None) -> str | None:
    """Why no window can be shown, when that is known without asking Qt (X11/Wayland systems
    with neither DISPLAY nor WAYLAND_DISPLAY set and no Qt platform chosen); else None."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return None
    if env.get("QT_QPA_PLATFORM") or env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return "neither DISPLAY nor WAYLAND_DISPLAY is set"


class _StartupMessages:
    """Qt's messages while the QApplication is created. Qt aborts the process after a fatal one
    (no platform plugin could be loaded, no display): then say what happened in one line and
    exit before Qt's abort. Otherwise the warnings are printed once the app has started."""

    def __init__(self) -> None:
        self.held: list[str] = []

    def __call__(self, kind: QtMsgType, _context, message: str) -> None:
        if kind == QtMsgType.QtFatalMsg:
            reason = self.held[-1] if self.held else message.strip().splitlines()[0]
            print(NO_DISPLAY.format(reason=reason.strip().rstrip(".")), file=sys.stderr)
            sys.stderr.flush()
            os._exit(EXIT_NO_DISPLAY)
        if kind in (QtMsgType.QtCriticalMsg, QtMsgType.QtWarningMsg):
            self.held.append(message)


def create_application(argv: list[str]) -> QApplication | None:
    """The QApplication (existing or new), or None after telling the user in one line that no
    display can be opened (a server, an SSH session): never Qt's own abort."""
    existing = QApplication.instance()
    if existing is not None:
        return existing
    reason = missing_display_reason()
    if reason:
        print(NO_DISPLAY.format(reason=reason), file=sys.stderr)
        return None
    messages = _StartupMessages()
    previous = qInstallMessageHandler(messages)
    try:
        app = QApplication([sys.argv[0], *argv])
    finally:
        qInstallMessageHandler(previous)
    for line in messages.held:
        print(line, file=sys.stderr)
    return app


def run_gui(
    argv: list[str],
    model: str | None = None,
    on_shown: Callable[[QApplication], None] | None = None,
) -> int:
    """Start the desktop app; ``model`` (a GGUF path) is loaded at start. Returns the exit code:
    1 when the app cannot start (another one runs on the same data folder, the store fails),
    3 when no display can be opened. ``on_shown`` is called once the event loop runs with the
    window shown (the self-test's start-up check)."""
    QApplication.setApplicationName(APP_TITLE)
    QApplication.setOrganizationName("QwQDesktop")
    QApplication.setApplicationVersion(__version__)
    QGuiApplication.setDesktopFileName("qwq-desktop")
    app = create_application(argv)
    if app is None:
        return EXIT_NO_DISPLAY
    app.setWindowIcon(app_icon())
    previous_umask = private_files()  # the database, settings, exports: the user's alone
    try:
        return _start(app, model, on_shown)
    finally:
        if previous_umask is not None:  # as it was (tests run the GUI in their process)
            os.umask(previous_umask)


def _start(
    app: QApplication, model: str | None, on_shown: Callable[[QApplication], None] | None
) -> int:
    """The folders, the single-instance lock and the last run's crash report, then the
    window."""
    try:
        paths = app_paths().check_writable()  # folders 0700; a read-only one is a message
    except DataFolderError as exc:
        return _refuse_start(exc)
    lock = InstanceLock(paths.data_dir)
    refusal = lock.acquire()
    if refusal is not None:
        print(refusal, file=sys.stderr)
        QMessageBox.warning(None, APP_TITLE, refusal)
        return 1
    crash = take_crash_report(paths.logs_dir)  # what the last run's crash left, if any
    fatal_log = FatalErrorLog(paths.logs_dir)  # a native crash leaves a note for next time
    try:
        return _run_window(app, paths, model, on_shown, crash)
    finally:
        fatal_log.close()
        lock.release()


def _refuse_start(error: DataFolderError) -> int:
    """Tell the user in one line (stderr) and one dialog why the app cannot start; exit 1."""
    print(f"qwq-desktop: {error.message}\n  try: {error.hint}", file=sys.stderr)
    QMessageBox.critical(
        None, APP_TITLE, f"{error.message}.\n\n{error.hint[:1].upper()}{error.hint[1:]}."
    )
    return 1


def _run_window(
    app: QApplication,
    paths: AppPaths,
    model: str | None,
    on_shown: Callable[[QApplication], None] | None,
    crash: Notice | None = None,
) -> int:
    settings, warnings = load_settings(paths.settings_file)
    try:
        store = ConversationStore.open(paths.conversations_db)
    except StoreError as exc:
        QMessageBox.critical(None, APP_TITLE, str(exc))
        return 1
    window = MainWindow(paths, settings, store, warnings)
    window.show()
    window.focus_composer()
    window.open_start_page(model)
    if crash is not None:
        window.notices.post(crash)
    if on_shown is not None:
        QTimer.singleShot(0, app, lambda: on_shown(app))
    try:
        return app.exec()
    finally:
        window.shutdown()
        store.close()
