"""The main window's menus and their keyboard shortcuts."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup, QKeySequence

if TYPE_CHECKING:
    from .main_window import MainWindow

MODELS_SHORTCUT = "Ctrl+Shift+M"
GET_MODEL_SHORTCUT = "Ctrl+Shift+G"
# Free among the menus, the widgets' own keys and Qt's standard keys on every platform
# (Ctrl+Shift+A is Deselect on Linux desktops).
API_LOG_SHORTCUT = "Ctrl+Shift+L"


def add_action(
    window: MainWindow, menu, text: str, slot, shortcut=None, enabled: bool = True
) -> QAction:
    """A menu action with its shortcut(s); the window owns it, so shortcuts work everywhere."""
    action = QAction(text, window)
    if shortcut is not None:
        if isinstance(shortcut, (list, tuple)):
            action.setShortcuts([QKeySequence(s) for s in shortcut])
        else:
            action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(slot)
    action.setEnabled(enabled)
    menu.addAction(action)
    return action


def build_menus(window: MainWindow) -> None:
    """File, Chat, View and Help menus; the actions the window enables later become attributes."""
    bar = window.menuBar()
    file = bar.addMenu("&File")
    add_action(window, file, "&New chat", window.new_chat, QKeySequence.StandardKey.New)
    window.models_action = add_action(window, file, "&Models…", window.show_models, MODELS_SHORTCUT)
    window.connect_action = add_action(
        window, file, "Co&nnect to a server…", window.models.remote.show_dialog
    )
    # Esc, like Stop generating: never both enabled, as no reply streams during a load.
    window.cancel_load_action = add_action(
        window, file, "&Cancel model load", window.cancel_load, "Esc", enabled=False
    )
    add_action(window, file, "&Get a model…", window.show_first_run, GET_MODEL_SHORTCUT)
    add_action(window, file, "&Search the Hub…", window.show_hub_search, "Ctrl+Shift+H")
    add_action(window, file, "&Open model file…", window.models.choose_file, "Ctrl+O")
    add_action(window, file, "&Documents…", window.docs.show_dialog, "Ctrl+Shift+D")
    file.addSeparator()
    add_action(
        window, file, "&Import chat…", window.conversations.choose_import_file, "Ctrl+Shift+I"
    )
    window.export_md_action = add_action(
        window,
        file,
        "Export chat as &Markdown…",
        window.conversations.choose_export_markdown,
        "Ctrl+Shift+E",
    )
    window.export_json_action = add_action(
        window, file, "Export chat as &JSON…", window.conversations.choose_export_json
    )
    window.include_thinking_action = QAction("Include thinking in exports", window)
    window.include_thinking_action.setCheckable(True)
    file.addAction(window.include_thinking_action)
    file.addSeparator()
    add_action(window, file, "&Settings…", window.preferences.open_settings, "Ctrl+,")
    file.addSeparator()
    add_action(window, file, "&Quit", window.close, QKeySequence.StandardKey.Quit)

    chat = bar.addMenu("&Chat")
    add_action(window, chat, "&Search all chats", window.sidebar.focus_search, ["Ctrl+F", "Ctrl+K"])
    add_action(window, chat, "&Focus message box", window.focus_composer, "Ctrl+L")
    window.stop_action = add_action(window, chat, "S&top generating", window.controller.stop, "Esc")
    window.stop_action.setEnabled(False)
    window.regenerate_action = add_action(
        window, chat, "&Regenerate last reply", window.regenerate_last, "Ctrl+R"
    )
    chat.addSeparator()
    window.rename_action = add_action(
        window, chat, "Re&name chat", window.conversations.rename_current, "F2"
    )
    window.pin_action = add_action(
        window, chat, "&Pin chat", window.conversations.toggle_pin_current, "Ctrl+P"
    )
    window.delete_action = add_action(
        window, chat, "&Delete chat", window.conversations.delete_current, "Ctrl+Shift+Backspace"
    )

    view = bar.addMenu("&View")
    themes = QActionGroup(window)
    window.theme_actions: dict[str, QAction] = {}
    for theme, label in (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark")):
        action = QAction(label, window, checkable=True)
        action.setChecked(window.settings.theme == theme)
        action.triggered.connect(partial(window.preferences.set_theme, theme))
        themes.addAction(action)
        view.addAction(action)
        window.theme_actions[theme] = action
    view.addSeparator()
    add_action(window, view, "&Larger text", window.preferences.larger_text, ["Ctrl++", "Ctrl+="])
    add_action(window, view, "&Smaller text", window.preferences.smaller_text, "Ctrl+-")
    view.addSeparator()
    # The local API's request log, like the status bar's indicator, while the server is on.
    window.api_log_action = add_action(
        window, view, "&API requests…", window.api_server.show_log, API_LOG_SHORTCUT, False
    )
    window.api_log_action.setStatusTip("The requests other apps sent to the local API server")
    window.api_server.stateChanged.connect(
        lambda url: window.api_log_action.setEnabled(url is not None)
    )

    help_menu = bar.addMenu("&Help")
    add_action(window, help_menu, "&About QwQ Desktop", window.show_about)
