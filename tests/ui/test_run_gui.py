"""``run_gui``: the entry point `qwq-desktop` uses, from start to a clean exit, and the guard
that keeps a second app off a data folder in use."""

from __future__ import annotations

import subprocess
import sys

from PySide6.QtCore import QLockFile, QObject, Qt, QTimer, Slot
from PySide6.QtWidgets import QApplication, QMessageBox

from app.paths import app_paths
from app.settings import load_settings
from app.ui.common.single_instance import LOCK_NAME
from app.ui.launch import run_gui
from app.ui.window.main_window import MainWindow

# A process that takes the app's lock and waits to be killed (a crashed app).
HOLD_LOCK = """
import sys, time
from PySide6.QtCore import QCoreApplication, QLockFile
app = QCoreApplication([])
lock = QLockFile(sys.argv[1])
assert lock.tryLock(0), lock.error()
print("locked", flush=True)
time.sleep(60)
"""


class CloseWhenLoaded(QObject):
    """Polls for the main window; once its model is loaded (or at once: ``wait_for_model``
    False), notes the status and closes it."""

    def __init__(self, wait_for_model: bool = True) -> None:
        super().__init__()
        self.wait_for_model = wait_for_model
        self.seen: dict = {}
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(50)
        self.ticks = 0

    @Slot()
    def check(self) -> None:
        self.ticks += 1
        # An earlier test's window may linger, closed: only a shown one is this run's.
        shown = QApplication.topLevelWidgets()
        windows = [w for w in shown if isinstance(w, MainWindow) and w.isVisible()]
        window = windows[0] if windows else None
        if window is None:
            return
        if not self.wait_for_model or window.engine.model is not None or self.ticks > 400:
            self.seen = {
                "visible": window.isVisible(),
                "model": window.status.model_label.text(),
            }
            self.timer.stop()
            window.close()


class AnswerMessageBoxes(QObject):
    """Presses OK on every message box that shows up, noting its text."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(20)

    @Slot()
    def check(self) -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            self.texts.append(box.text())
            box.close()


def test_run_gui_opens_the_model_and_exits_cleanly(qapp, tiny_answer_gguf):
    closer = CloseWhenLoaded()
    code = run_gui(["--model", str(tiny_answer_gguf)], model=str(tiny_answer_gguf))
    assert code == 0
    assert closer.seen["visible"]
    assert closer.seen["model"].startswith("tiny-qwq")
    settings, warnings = load_settings(app_paths().settings_file)
    assert warnings == []
    assert settings.last_model == str(tiny_answer_gguf)
    assert app_paths().conversations_db.exists()


def test_a_second_app_on_the_same_data_folder_says_so_and_exits(qapp, capsys):
    paths = app_paths().ensure()
    first = QLockFile(str(paths.data_dir / LOCK_NAME))  # the app already running
    assert first.tryLock(0)
    boxes = AnswerMessageBoxes()
    closer = CloseWhenLoaded(wait_for_model=False)  # a window that should not be there
    try:
        code = run_gui([])
    finally:
        boxes.timer.stop()
        closer.timer.stop()
        first.unlock()
    assert code == 1 and not closer.seen
    [text] = boxes.texts
    assert text.startswith("QwQ Desktop is already running")
    assert str(paths.data_dir) in text and "Switch to its window" in text
    assert "already running" in capsys.readouterr().err
    assert not paths.conversations_db.exists()  # the store was never opened
    assert not [w for w in QApplication.topLevelWidgets() if w.isVisible()]


def test_a_lock_left_by_a_killed_app_does_not_block_the_next_start(qapp, tiny_answer_gguf):
    paths = app_paths().ensure()
    lock_path = paths.data_dir / LOCK_NAME
    crashed = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert crashed.stdout.readline().strip() == "locked"
    finally:
        crashed.kill()
        crashed.wait()
        crashed.stdout.close()
    assert lock_path.exists()  # left behind, naming a process that is gone
    closer = CloseWhenLoaded()
    code = run_gui([], model=str(tiny_answer_gguf))
    assert code == 0 and closer.seen["visible"]
    assert not lock_path.exists()  # released on exit


def test_first_run_page_imports_a_model_and_returns_to_the_chat(window, tiny_answer_gguf, qtbot):
    assert window.needs_first_run()
    window.show_first_run()
    assert window.pages.currentWidget().content is window.first_run
    window.first_run.import_file(tiny_answer_gguf)
    qtbot.waitUntil(lambda: window.engine.model is not None, timeout=30_000)
    assert window.pages.currentWidget() is window.chat_page
    assert not window.needs_first_run()
    assert window.status.model_label.text().startswith("tiny-qwq")
    (installed,) = window.registry.list()
    assert window.engine.model.path == installed.path


def test_back_button_leaves_the_first_run_page(window, qtbot):
    window.show_first_run()
    page = window.pages.currentWidget()
    qtbot.mouseClick(page.back, Qt.MouseButton.LeftButton)
    assert window.pages.currentWidget() is window.chat_page


def test_app_icon_is_packaged_and_loads(qapp):
    from app.ui.launch import app_icon

    icon = app_icon()
    assert not icon.isNull()
    assert not icon.pixmap(64, 64).isNull()
