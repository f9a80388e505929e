"""Start the desktop app as ``qwq-desktop`` does (``run_gui``) in this process and print one
JSON line: the exit code, the message boxes it showed (each closed at once) and, once the
main window is shown, its notice (text, kind, details). Run as a child by tests/faults."""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from app.ui.launch import run_gui  # noqa: E402
from app.ui.window.main_window import MainWindow  # noqa: E402


def main() -> int:
    seen: dict = {"boxes": [], "notice": None}
    app = QApplication([sys.argv[0]])

    def close_boxes() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen["boxes"].append(box.text())
            box.close()

    def on_shown(shown: QApplication) -> None:
        window = next(w for w in shown.topLevelWidgets() if isinstance(w, MainWindow))
        bar = window.notice_bar
        if bar.isVisible() or bar.text():
            seen["notice"] = {
                "text": bar.text(),
                "kind": bar.kind,
                "details": bar.details.toPlainText(),
            }
        window.close()
        shown.quit()

    timer = QTimer(app)
    timer.timeout.connect(close_boxes)
    timer.start(20)
    seen["code"] = run_gui([], on_shown=on_shown)
    print(json.dumps(seen), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
