"""Keyboard use and accessibility: shortcuts, focus, and a name on every control."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QListView,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)


def test_shortcuts_reach_the_main_controls(answer_window, qtbot):
    window = answer_window
    window.send_message("What is the capital of France?")
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=20_000)
    conv = window.controller.conv_id

    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.sidebar.search.hasFocus()
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.composer.input.hasFocus()
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert window.sidebar.search.hasFocus()
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.controller.conv_id is None
    assert window.composer.input.hasFocus()
    assert window.chat_view.empty_state.isVisibleTo(window)

    window.open_conversation(conv)
    assert window.rename_action.isEnabled()
    assert not window.stop_action.isEnabled()  # Esc stays free for other widgets when idle


def test_search_field_arrow_down_moves_into_the_list(window, qtbot):
    for title in ("one", "two"):
        window.store.create_conversation(title)
    window.refresh_conversations()
    window.sidebar.focus_search()
    qtbot.keyClick(window.sidebar.search, Qt.Key.Key_Down)
    assert window.sidebar.list.hasFocus()
    assert window.sidebar.list.currentIndex().row() == 0


def test_every_focusable_control_has_an_accessible_name(answer_window, qtbot):
    window = answer_window
    window.send_message("What is the capital of France?")
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=20_000)
    window.chat_view.last_widget().thinking.toggle.setChecked(True)
    kinds = (
        QAbstractButton,
        QLineEdit,
        QPlainTextEdit,
        QTextEdit,
        QListView,
        QAbstractSpinBox,
        QComboBox,
    )
    unnamed = []
    for widget in window.findChildren(QWidget):
        if not isinstance(widget, kinds):
            continue
        if not widget.isVisibleTo(window) or widget.focusPolicy() == Qt.FocusPolicy.NoFocus:
            continue
        if (
            isinstance(widget, QAbstractButton)
            and widget.text().strip(" +")
            and not widget.accessibleName()
        ):
            continue  # a button's own text is its accessible name
        if not widget.accessibleName():
            unnamed.append(f"{type(widget).__name__} {widget.objectName()!r}")
    assert unnamed == []


def test_tab_moves_from_the_composer_to_the_send_button(answer_window, qtbot):
    window = answer_window
    window.focus_composer()
    qtbot.keyClicks(window.composer.input, "hi")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Tab)
    assert window.composer.button.hasFocus()
    assert window.composer.input.toPlainText() == "hi"


def test_settings_dialog_controls_have_names(window, qtbot):
    from app.settings import AppSettings, ConversationSettings
    from app.ui.window.settings_dialog import SettingsDialog

    dialog = SettingsDialog(AppSettings(), ConversationSettings(), None, window)
    qtbot.addWidget(dialog)
    kinds = (QPlainTextEdit, QAbstractSpinBox, QComboBox)
    fields = [w for w in dialog.findChildren(QWidget) if isinstance(w, kinds)]
    assert fields and all(w.accessibleName() for w in fields)
    assert dialog.threads.text() == "Auto"
    assert dialog.gpu_layers.text() == "Auto"
