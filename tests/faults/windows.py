"""The desktop app's main window on a given home, for tests outside tests/ui."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from app.paths import AppPaths
from app.settings import AppSettings
from app.store import ConversationStore


@contextlib.contextmanager
def desktop_window(qtbot, paths: AppPaths) -> Iterator:
    """A shown MainWindow with its own store on ``paths``; shut down and closed after."""
    from app.ui.window.main_window import MainWindow

    store = ConversationStore.open(paths.conversations_db)
    window = MainWindow(paths, AppSettings(threads=1, theme="light"), store, [])
    qtbot.addWidget(window)
    window.show()
    try:
        yield window
    finally:
        window.shutdown()
        window.close()
        store.close()
