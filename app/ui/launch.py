"""``run_gui``: start the desktop app (single-instance lock, settings, store, main window)."""

from __future__ import annotations

import importlib.resources
import sys

from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from app import __version__
from app.paths import AppPaths, app_paths
from app.settings import load_settings
from app.store import ConversationStore, StoreError

from .main_window import APP_TITLE, MainWindow
from .single_instance import InstanceLock


def app_icon() -> QIcon:
    """The application icon (package data, so it also works in the PyInstaller bundle)."""
    return QIcon(str(importlib.resources.files("resources") / "icons" / "qwq-desktop.svg"))


def run_gui(argv: list[str], model: str | None = None) -> int:
    """Start the desktop app; ``model`` (a GGUF path) is loaded at start. Returns the exit code:
    1 when the app cannot start (another one runs on the same data folder, the store fails)."""
    QApplication.setApplicationName(APP_TITLE)
    QApplication.setOrganizationName("QwQDesktop")
    QApplication.setApplicationVersion(__version__)
    QGuiApplication.setDesktopFileName("qwq-desktop")
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setWindowIcon(app_icon())
    paths = app_paths().ensure()
    lock = InstanceLock(paths.data_dir)
    refusal = lock.acquire()
    if refusal is not None:
        print(refusal, file=sys.stderr)
        QMessageBox.warning(None, APP_TITLE, refusal)
        return 1
    try:
        return _run_window(app, paths, model)
    finally:
        lock.release()


def _run_window(app: QApplication, paths: AppPaths, model: str | None) -> int:
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
    try:
        return app.exec()
    finally:
        window.shutdown()
        store.close()
