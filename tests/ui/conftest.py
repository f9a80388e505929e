"""GUI test fixtures: offscreen Qt, windows on an isolated home, and strictness.

Every test in tests/ui fails on a Qt warning (pytest-qt's qt_log_level_fail), on an exception
raised inside a Qt slot or virtual method (pytest-qt's default capture), and on a worker thread
still running when the test ends (checked here, then stopped so pytest itself survives).
"""

from __future__ import annotations

import gc
import os
import threading
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
import shiboken6  # noqa: E402
from PySide6.QtCore import QThread  # noqa: E402

from app.paths import app_paths  # noqa: E402
from app.settings import AppSettings  # noqa: E402
from app.store import ConversationStore  # noqa: E402
from tests.fixtures.tiny_gguf import LOOP_SCRIPT, TinyModelSpec, write_tiny_gguf  # noqa: E402

HERE = Path(__file__).parent
# The offscreen platform plugin cannot resize native windows to their size hints and says so;
# that is the test platform talking, not the app.
QT_LOG_IGNORE = (r"This plugin does not support propagateSizeHints",)
LOAD_TIMEOUT_MS = 30_000


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            item.add_marker(pytest.mark.qt_log_ignore(*QT_LOG_IGNORE, extend=True))


def _running_qthreads() -> list[QThread]:
    found = []
    for obj in gc.get_objects():
        if isinstance(obj, QThread) and shiboken6.isValid(obj):
            try:
                if obj.isRunning() and obj is not QThread.currentThread():
                    found.append(obj)
            except RuntimeError:
                continue
    return found


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Fail a test that leaves a QThread or a Python thread running."""
    before = set(threading.enumerate())
    yield
    leaked_q = _running_qthreads()
    for thread in leaked_q:
        thread.quit()
        thread.wait(10_000)
    # QThreads that ran Python code show up as never-ending "dummy" threads: checked above.
    new = [
        t
        for t in threading.enumerate()
        if t not in before and t.is_alive() and not isinstance(t, threading._DummyThread)
    ]
    for t in new:
        t.join(timeout=5)
    leaked_py = [t.name for t in new if t.is_alive()]
    assert not leaked_q, (
        f"QThreads still running after the test: {[t.objectName() for t in leaked_q]}"
    )
    assert not leaked_py, f"Python threads still running after the test: {leaked_py}"


@pytest.fixture
def ui_paths(isolated_home):
    return app_paths().ensure()


@pytest.fixture
def make_window(qtbot, ui_paths):
    """Build MainWindows on the test's home; they are shut down and their stores closed after."""
    from app.ui.main_window import MainWindow

    made = []

    def make(settings: AppSettings | None = None, warnings: list[str] | None = None):
        store = ConversationStore.open(ui_paths.conversations_db)
        settings = settings or AppSettings(threads=1, theme="light")
        window = MainWindow(ui_paths, settings, store, warnings)
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
