"""GUI test fixtures: offscreen Qt, windows on an isolated home, and strictness.

Every test in tests/ui fails on a Qt warning (pytest-qt's qt_log_level_fail), on an exception
raised inside a Qt slot or virtual method (pytest-qt's default capture), and on a worker thread
still running when the test ends (``tests.fixtures.qt_strict``, shared with tests/models).
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from app.paths import app_paths  # noqa: E402
from app.selftest.tiny_model import LOOP_SCRIPT, TinyModelSpec, write_tiny_gguf  # noqa: E402
from app.settings import AppSettings  # noqa: E402
from app.store import ConversationStore  # noqa: E402
from tests.fixtures.qt_strict import QT_STRICT, threads_must_not_leak  # noqa: E402

HERE = Path(__file__).parent
LOAD_TIMEOUT_MS = 30_000


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            for mark in QT_STRICT:
                item.add_marker(mark)


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Fail a test that leaves a QThread or a Python thread running."""
    with threads_must_not_leak():
        yield


@pytest.fixture
def ui_paths(isolated_home):
    return app_paths().ensure()


@pytest.fixture
def make_window(qtbot, ui_paths):
    """Build MainWindows on the test's home; they are shut down and their stores closed after."""
    from app.ui.window.main_window import MainWindow

    made = []

    def make(
        settings: AppSettings | None = None, warnings: list[str] | None = None, **window_options
    ):
        store = ConversationStore.open(ui_paths.conversations_db)
        settings = settings or AppSettings(threads=1, theme="light")
        window = MainWindow(ui_paths, settings, store, warnings, **window_options)
        qtbot.addWidget(window)
        window.show()
        made.append((window, store))
        return window

    yield make
    for window, store in made:
        window.shutdown()
        window.close()
        store.close()


@pytest.fixture
def window(make_window):
    return make_window()


def load(window, path, qtbot) -> None:
    """Load ``path`` in ``window`` and wait until the engine has it."""
    window.load_model(str(path))
    qtbot.waitUntil(lambda: window.engine.model is not None, timeout=LOAD_TIMEOUT_MS)


@pytest.fixture
def answer_window(window, tiny_answer_gguf, qtbot):
    """A window with the tiny model that thinks, then answers "Paris"."""
    load(window, tiny_answer_gguf, qtbot)
    return window


@pytest.fixture(scope="session")
def tiny_long_loop_gguf(models_dir):
    """A tiny model that thinks forever with a 32K context (streams for many seconds)."""
    spec = TinyModelSpec(name="tiny-qwq-long", script=LOOP_SCRIPT, context_length=32768)
    return write_tiny_gguf(models_dir / "tiny-qwq-long-loop.gguf", spec)


@pytest.fixture
def loop_window(window, tiny_long_loop_gguf, qtbot):
    load(window, tiny_long_loop_gguf, qtbot)
    return window
