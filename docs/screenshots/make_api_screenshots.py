"""Render the local API server's screenshots: the status bar's indicator and the request log.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/make_api_screenshots.py

A throw-away home, the tiny test model (it thinks until its budget, then answers), the server
switched on as Settings does (port 8080, else any free port), a few requests from the openai
client (chat, streamed completion, an unknown model) and one stream still running while the
pictures are taken.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import openai  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.paths import app_paths  # noqa: E402
from app.selftest.tiny_model import LOOP_SCRIPT, TinyModelSpec, write_tiny_gguf  # noqa: E402
from app.settings import AppSettings  # noqa: E402
from app.store import ConversationStore  # noqa: E402
from app.ui.window.main_window import MainWindow  # noqa: E402

ASK = [{"role": "user", "content": "What is the capital of France?"}]


def _spin(app: QApplication, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def _wait(app: QApplication, condition, timeout: float = 30) -> None:
    end = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > end:
            raise TimeoutError("the window did not get there in time")
        _spin(app, 0.02)


def _requests(client: openai.OpenAI, model: str) -> None:
    client.models.list()
    client.chat.completions.create(model=model, messages=ASK, max_tokens=60)
    for _ in client.completions.create(model=model, prompt="hmm", max_tokens=24, stream=True):
        pass
    try:
        client.chat.completions.create(model="gpt-4o", messages=ASK)
    except openai.NotFoundError:
        pass
    client.chat.completions.create(model=model, messages=ASK, max_tokens=200)


def main() -> int:
    app = QApplication([sys.argv[0]])
    with tempfile.TemporaryDirectory() as tmp:
        model = write_tiny_gguf(
            Path(tmp) / "tiny-test-model.gguf",
            TinyModelSpec(name="tiny-test-model", script=LOOP_SCRIPT, context_length=8192),
        )
        os.environ["QWQ_DESKTOP_HOME"] = str(Path(tmp) / "home")
        paths = app_paths().ensure()
        store = ConversationStore.open(paths.conversations_db)
        window = MainWindow(paths, AppSettings(threads=1, theme="light"), store)
        window.resize(1180, 780)
        window.show()
        window.load_model(str(model))
        _wait(app, lambda: window.engine.model is not None)
        for port in (8080, 0):
            data = {**window.settings.to_dict(), "api_server": True, "api_port": port}
            window.preferences.apply_settings(AppSettings.from_dict(data))
            _wait(app, lambda: window.api_server._job is None)
            if window.api_server.running:
                break
        window.notice_bar.hide()
        client = openai.OpenAI(base_url=window.api_server.url, api_key="-", max_retries=0)
        worker = threading.Thread(target=_requests, args=(client, "tiny-test-model"))
        worker.start()
        _wait(app, lambda: not worker.is_alive(), timeout=120)
        stream = client.chat.completions.create(
            model="tiny-test-model", messages=ASK, max_tokens=20_000, stream=True
        )
        next(iter(stream))
        _wait(app, lambda: window.api_server.log.active == 1)
        window.api_server.show_log()
        _spin(app, 0.5)
        window.status.grab().save(str(OUT / "api-status-bar.png"))
        window.api_server.dialog.grab().save(str(OUT / "api-request-log.png"))
        stream.close()
        client.close()
        window.shutdown()
        window.close()
        store.close()
    print(OUT / "api-status-bar.png", OUT / "api-request-log.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
