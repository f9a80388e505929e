"""Render the screenshots of chatting through a remote endpoint with QWidget.grab().

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/make_remote_screenshots.py

Starts the app's own API server on 127.0.0.1 around the tiny test model (the "remote" server),
opens the window on a throw-away home with an in-memory keyring, and saves connect-dialog.png
(the dialog after Test connection) and remote-chat.png (a reply streamed from the server, its
thinking expanded).
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

import keyring  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.engine import ChatEngine, LoadOptions  # noqa: E402
from app.paths import app_paths  # noqa: E402
from app.selftest.tiny_model import ANSWER_SCRIPT, TinyModelSpec, write_tiny_gguf  # noqa: E402
from app.server import ApiServer, ServerConfig, ServerError  # noqa: E402
from app.settings import AppSettings  # noqa: E402
from app.store import ConversationStore  # noqa: E402
from app.ui.window.main_window import MainWindow  # noqa: E402
from tests.fixtures.memory_keyring import MemoryKeyring  # noqa: E402

KEY = "sk-demo"


def _spin(app: QApplication, until, limit_s: float = 60.0) -> None:
    end = time.perf_counter() + limit_s
    while not until() and time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def _server(engine: ChatEngine) -> ApiServer:
    """On port 8080 if it is free (a familiar address in the picture), else any."""
    for port in (8080, 0):
        server = ApiServer(engine, ServerConfig(port=port, api_key=KEY))
        try:
            server.start()
            if server.wait_started(10):
                return server
        except ServerError:
            pass
        server.stop(10)
    raise SystemExit("the API server did not start")


def shoot(app: QApplication, home: Path, server: ApiServer) -> list[Path]:
    os.environ["QWQ_DESKTOP_HOME"] = str(home)
    paths = app_paths().ensure()
    store = ConversationStore.open(paths.conversations_db)
    window = MainWindow(paths, AppSettings(threads=1, theme="light", font_size=11), store)
    window.resize(1180, 780)
    window.show()
    remote = window.models.remote
    remote.show_dialog()
    dialog = remote.dialog
    dialog.server.setChecked(True)
    dialog.url.setText(server.url)
    dialog.key.setText(KEY)
    dialog.test_connection()
    _spin(app, lambda: dialog.test_job is None)
    _spin(app, lambda: False, 0.3)
    shots = [OUT / "connect-dialog.png"]
    dialog.grab().save(str(shots[0]))
    dialog.accept()
    _spin(app, lambda: window.engine.model is not None)
    window.send_message("What is the capital of France?")
    _spin(app, lambda: not window.controller.generating)
    window.chat_view.last_widget().thinking.toggle.setChecked(True)
    _spin(app, lambda: False, 0.6)
    shots.append(OUT / "remote-chat.png")
    window.grab().save(str(shots[1]))
    window.shutdown()
    window.close()
    store.close()
    return shots


def main() -> int:
    app = QApplication([sys.argv[0]])
    keyring.set_keyring(MemoryKeyring())
    with tempfile.TemporaryDirectory() as tmp:
        model = write_tiny_gguf(
            Path(tmp) / "tiny-qwq-answer.gguf", TinyModelSpec(script=ANSWER_SCRIPT)
        )
        engine = ChatEngine.load(str(model), LoadOptions(n_ctx=2048, n_threads=1))
        server = _server(engine)
        try:
            for path in shoot(app, Path(tmp) / "home", server):
                print(path)
        finally:
            server.stop(10)
            engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
