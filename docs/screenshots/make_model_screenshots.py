"""Render the model-manager screenshots with QWidget.grab(): the first-run screen and the
Models page, inside the main window.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/make_model_screenshots.py

Both run on a throw-away home. The first-run screen uses the shipped catalogue on a described
32 GB laptop (no GPU), so it shows the recommendation a new user of such a machine sees. The
Models page lists two tiny test models (one linked, one copied) and loads one of them.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from app.models import hypothetical_hardware, import_gguf  # noqa: E402
from app.paths import app_paths  # noqa: E402
from app.selftest.tiny_model import ANSWER_SCRIPT, TinyModelSpec, write_tiny_gguf  # noqa: E402
from app.settings import AppSettings  # noqa: E402
from app.store import ConversationStore  # noqa: E402
from app.ui.window.main_window import MainWindow  # noqa: E402

SIZE = (1180, 780)


def _spin(app: QApplication, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def _window(home: Path) -> tuple[MainWindow, ConversationStore]:
    os.environ["QWQ_DESKTOP_HOME"] = str(home)
    paths = app_paths().ensure()
    store = ConversationStore.open(paths.conversations_db)
    settings = AppSettings(threads=1, theme="light", font_size=11)
    window = MainWindow(paths, settings, store, hardware=hypothetical_hardware(32))
    window.resize(*SIZE)
    window.show()
    return window, store


def _save(app: QApplication, window: MainWindow, store: ConversationStore, name: str) -> Path:
    _spin(app, 0.6)
    path = OUT / name
    window.grab().save(str(path))
    window.close()
    store.close()
    return path


def first_run(app: QApplication, home: Path) -> Path:
    window, store = _window(home)
    window.open_start_page()
    return _save(app, window, store, "first-run.png")


def models_page(app: QApplication, home: Path, model: Path) -> Path:
    window, store = _window(home)
    registry = window.registry
    import_gguf(registry, model, mode="link", name="tiny-test-model")
    import_gguf(registry, model, mode="copy", name="tiny-test-copy")
    window.load_installed("tiny-test-model")
    while window.engine.model is None:
        _spin(app, 0.05)
    window.show_models()
    window.models_page.select("tiny-test-model")
    return _save(app, window, store, "models-page.png")


def main() -> int:
    app = QApplication([sys.argv[0]])
    with tempfile.TemporaryDirectory() as tmp:
        model = write_tiny_gguf(
            Path(tmp) / "tiny-test-model.gguf",
            TinyModelSpec(name="tiny-test-model", script=ANSWER_SCRIPT),
        )
        print(first_run(app, Path(tmp) / "new-user"))
        print(models_page(app, Path(tmp) / "with-models", model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
