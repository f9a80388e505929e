"""Child process for the kill test: run the real window, stream forever, report progress.

Usage: python -m tests.ui.kill_child MODEL.gguf   (QWQ_DESKTOP_HOME points at the test's home)
Prints one JSON line per 50 ms: {"t": wall time, "len": characters of thinking on screen}.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QObject, QTimer, Slot  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.paths import app_paths  # noqa: E402
from app.settings import AppSettings  # noqa: E402
from app.store import ConversationStore  # noqa: E402
from app.ui.window.main_window import MainWindow  # noqa: E402


class Driver(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window = window
        self.sent = False
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.tick)
        self.timer.start(50)

    @Slot()
    def tick(self) -> None:
        window = self.window
        if not self.sent and window.engine.model is not None:
            self.sent = window.send_message("Think about it for a long time")
        widget = window.chat_view.last_widget()
        length = len(widget.thinking.text) if self.sent and widget is not None else 0
        print(json.dumps({"t": time.time(), "len": length}), flush=True)


def main() -> int:
    app = QApplication(sys.argv[:1])
    paths = app_paths().ensure()
    store = ConversationStore.open(paths.conversations_db)
    window = MainWindow(paths, AppSettings(threads=1, theme="light"), store)
    window.show()
    window.load_model(sys.argv[1])
    driver = Driver(window)  # noqa: F841 (kept alive while the loop runs)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
