"""Render the README screenshots (light and dark) with QWidget.grab().

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/make_screenshots.py

The window runs on a throw-away home holding sample conversations (benchmarks/gui_sample.py:
a reasoning reply with thinking, code and a table) and loads the tiny test model, so the status
bar shows that model.
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

from app.paths import app_paths  # noqa: E402
from app.selftest.tiny_model import ANSWER_SCRIPT, TinyModelSpec, write_tiny_gguf  # noqa: E402
from app.settings import AppSettings  # noqa: E402
from app.store import ConversationStore  # noqa: E402
from app.ui.window.main_window import MainWindow  # noqa: E402
from benchmarks.gui_sample import TITLES, seed_sample  # noqa: E402


def _spin(app: QApplication, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def shoot(app: QApplication, theme: str, home: Path, model: Path, expand_thinking: bool) -> Path:
    os.environ["QWQ_DESKTOP_HOME"] = str(home)
    paths = app_paths().ensure()
    store = ConversationStore.open(paths.conversations_db)
    if not store.list_conversations():
        for title in reversed(TITLES[1:]):
            conv = store.create_conversation(title)
            store.add_message(conv.id, "user", title)
            store.add_message(conv.id, "assistant", "…")
        store.set_pinned(store.list_conversations()[-1].id, True)
        seed_sample(store)
    target = next(c.id for c in store.list_conversations() if c.title == TITLES[0])
    window = MainWindow(paths, AppSettings(threads=1, theme=theme, font_size=11), store)
    window.resize(1320, 860)
    window.show()
    window.load_model(str(model))
    while window.engine.model is None:
        _spin(app, 0.05)
    window.open_conversation(target)
    window.sidebar.select(target)
    reply = window.chat_view.last_widget()
    reply.thinking.toggle.setChecked(expand_thinking)
    window.composer.input.setPlainText("")
    _spin(app, 0.6)
    if expand_thinking:  # show the question above the expanded thinking
        window.chat_view.verticalScrollBar().setValue(0)
    _spin(app, 0.3)
    path = OUT / f"main-window-{theme}.png"
    window.grab().save(str(path))
    window.shutdown()
    window.close()
    store.close()
    return path


def main() -> int:
    app = QApplication([sys.argv[0]])
    with tempfile.TemporaryDirectory() as tmp:
        model = write_tiny_gguf(
            Path(tmp) / "tiny.gguf", TinyModelSpec(name="tiny-test-model", script=ANSWER_SCRIPT)
        )
        home = Path(tmp) / "home"
        for theme, expand in (("light", True), ("dark", False)):
            print(shoot(app, theme, home, model, expand))
    return 0


if __name__ == "__main__":
    sys.exit(main())
