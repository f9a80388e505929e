"""``run_gui``: the entry point `qwq-desktop` uses, from start to a clean exit."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtWidgets import QApplication

from app.paths import app_paths
from app.settings import load_settings
from app.ui.main_window import MainWindow, run_gui


class CloseWhenLoaded(QObject):
    """Polls for the main window; once its model is loaded, notes the status and closes it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict = {}
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(50)
        self.ticks = 0

    @Slot()
    def check(self) -> None:
        self.ticks += 1
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        window = windows[0] if windows else None
        if window is None:
            return
        if window.engine.model is not None or self.ticks > 400:
            self.seen = {
                "visible": window.isVisible(),
                "model": window.status.model_label.text(),
            }
            self.timer.stop()
            window.close()


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
    from app.ui.main_window import app_icon

    icon = app_icon()
    assert not icon.isNull()
    assert not icon.pixmap(64, 64).isNull()
