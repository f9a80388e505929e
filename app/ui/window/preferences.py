"""The main window's settings and appearance: the Settings dialog, applying and saving new
settings (theme and text size at once; load options at the next load, with an offer to reload,
or a word that they are for local models while connected to a server; the local API server
switched on, off or moved at once, its key in the keyring, read off the GUI thread), the View
menu's theme and text size, and following the system's colour scheme."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from app.settings import AppSettings, save_settings
from app.store import StoreError
from app.ui.common.notices import RELOAD_MODEL, guarded
from app.ui.common.theme import apply_theme

from .settings_dialog import SettingsDialog

if TYPE_CHECKING:
    from .main_window import MainWindow

# Settings that take effect only when the model is loaded again.
LOAD_FIELDS = ("threads", "gpu_layers", "context_size", "kv_cache_type")
LOCAL_ONLY = (
    "The new model settings apply to models loaded on this computer; the server you are "
    "connected to keeps its own."
)


class Preferences(QObject):
    """Settings and appearance of ``window`` (whose ``settings`` it replaces when they change)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.notices = window.notices
        hints = QGuiApplication.styleHints()
        hints.colorSchemeChanged.connect(self._on_color_scheme_changed)

    @Slot()
    @guarded("changing the settings")
    def open_settings(self) -> None:
        w = self.window
        controller = w.controller
        conv_settings = (
            controller.conversation_settings() if controller.conv_id is not None else None
        )
        preset = w.engine.model.default_sampling if w.engine.model is not None else None
        api = w.api_server
        reading = api.read_key()  # off this thread: the key field fills in when it is read
        dialog = SettingsDialog(
            w.settings, conv_settings, preset, w, api_key=api.key.value, key_pending=bool(reading)
        )
        if reading is not None:
            reading.finished.connect(dialog.key_field.read)
            reading.errored.connect(dialog.key_field.unreadable)
        if dialog.exec() != SettingsDialog.DialogCode.Accepted:
            return
        key = dialog.api_key()  # None: neither read nor typed, so left as it is
        if key is not None and key != (api.key.value or ""):
            api.set_key(key)
        self.apply_settings(dialog.app_settings(), dialog.conversation_settings())

    def apply_settings(self, app_settings: AppSettings, conv_settings=None) -> None:
        """Save and apply new settings (theme and font now; load options at the next load)."""
        w = self.window
        if conv_settings is not None and w.controller.conv_id is not None:
            try:
                w.store.update_settings(w.controller.conv_id, conv_settings.to_dict())
            except StoreError as exc:
                self.notices.report(exc)
        old = w.settings
        reload_needed = any(getattr(old, f) != getattr(app_settings, f) for f in LOAD_FIELDS)
        appearance = (old.theme, old.font_size) != (app_settings.theme, app_settings.font_size)
        w.settings = app_settings
        w.controller.app_settings = app_settings
        self.save_settings()
        w.api_server.apply(app_settings)
        if appearance:
            self.apply_appearance()
        model = w.engine.model
        if reload_needed and model is not None and model.remote is not None:
            self.notices.show(LOCAL_ONLY, "info")  # reconnecting would change nothing
        elif reload_needed and model is not None:
            self.notices.show(
                "The new model settings apply when the model is loaded again.",
                "info",
                [RELOAD_MODEL],
            )

    def set_theme(self, theme: str) -> None:
        data = self.window.settings.to_dict()
        data["theme"] = theme
        self.apply_settings(AppSettings.from_dict(data))

    @Slot()
    def larger_text(self) -> None:
        self._change_font(+1)

    @Slot()
    def smaller_text(self) -> None:
        self._change_font(-1)

    def _change_font(self, step: int) -> None:
        data = self.window.settings.to_dict()
        data["font_size"] = max(6, min(48, self.window.settings.font_size + step))
        self.apply_settings(AppSettings.from_dict(data))

    def apply_appearance(self) -> None:
        """Theme and text size to the whole window, and the View menu's theme check mark."""
        w = self.window
        w.colors = apply_theme(QApplication.instance(), w.settings.theme, w.settings.font_size)
        w.sidebar.set_colors(w.colors)
        w.chat_view.set_context(w.view_context())
        for theme, action in w.theme_actions.items():
            action.setChecked(theme == w.settings.theme)

    @Slot()
    @guarded("following the system's colours")
    def _on_color_scheme_changed(self) -> None:
        if self.window.settings.theme == "system":
            self.apply_appearance()

    def save_settings(self) -> None:
        try:
            save_settings(self.window.paths.settings_file, self.window.settings)
        except OSError as exc:
            self.notices.report(exc, kind="warning", text=f"Could not save the settings ({exc}).")
