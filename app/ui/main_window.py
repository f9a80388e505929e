"""The main window: sidebar, chat, composer, status bar and the actions behind its menus."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import (
    QCloseEvent,
    QGuiApplication,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.about import APP_NAME, about_text
from app.atomic import atomic_write_text
from app.engine import HardwareInfo, LoadOptions
from app.models import Catalogue, LoadSettings, ModelRegistry, ModelsError, adopt_found_models
from app.paths import AppPaths
from app.settings import AppSettings, save_settings
from app.store import Conversation, ConversationStore, ImportFormatError, StoreError

from .chat_controller import ChatController
from .chat_view import COLUMN_MAX_WIDTH, ChatView
from .composer import Composer
from .engine_worker import EngineClient, ModelInfo, UserFacingError
from .hardware_probe import HardwareProbe
from .load_feedback import (
    LoadAlternative,
    describe_device,
    device_details,
    gpu_warning,
    parse_alternatives,
    refusal_text,
)
from .markdown_render import MarkdownRenderer
from .menus import GET_MODEL_SHORTCUT, MODELS_SHORTCUT, build_menus
from .message_widget import ViewContext
from .model_pages import ModelPages
from .settings_dialog import SettingsDialog
from .sidebar import Sidebar
from .status_bar import ChatStatusBar, NoticeBar
from .tasks import TaskRunner
from .theme import Colors, apply_theme

if TYPE_CHECKING:
    from .first_run import FirstRunPage
    from .models_page import ModelsPage

log = logging.getLogger(__name__)

APP_TITLE = "QwQ Desktop"


def load_options_from(settings: AppSettings, model: LoadSettings | None = None) -> LoadOptions:
    """Engine load options: a model's own saved settings where set, else the app settings
    (None everywhere = let the memory planner decide)."""
    model = model or LoadSettings()

    def pick(own, app_wide):
        return own if own is not None else app_wide

    return LoadOptions(
        n_ctx=pick(model.n_ctx, settings.context_size),
        n_gpu_layers=pick(model.n_gpu_layers, settings.gpu_layers),
        kv_cache_type=(
            model.kv_cache_type
            if model.kv_cache_type != LoadSettings().kv_cache_type
            else settings.kv_cache_type
        ),
        n_threads=pick(model.n_threads, settings.threads),
        for_gui=True,
    )


def read_import_file(path: str) -> dict:
    """Read an exported conversation; a file that is not JSON raises ``ImportFormatError``."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ImportFormatError(f"Could not read {path} ({exc.strerror or exc})") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise ImportFormatError(
            f"{path} is not a conversation exported by QwQ Desktop (not valid JSON: {exc})",
            "choose a .json file made with Export as JSON",
        ) from exc


class ChatHeader(QFrame):
    """Title of the open conversation and its settings button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatHeader")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(20, 8, 12, 8)
        self.title = QLabel("New chat", self)
        self.title.setObjectName("ChatTitle")
        self.title.setAccessibleName("Conversation title")
        layout.addWidget(self.title, 1)
        self.settings_button = QToolButton(self)
        self.settings_button.setObjectName("ActionButton")
        self.settings_button.setText("Chat settings")
        self.settings_button.setAccessibleName("Settings of this conversation")
        self.settings_button.setToolTip("System prompt and sampling for this chat (Ctrl+,)")
        layout.addWidget(self.settings_button)


class MainWindow(QMainWindow):
    """The app window. ``shutdown()`` (also run by closing) stops every thread; idempotent.

    ``hardware`` describes the machine instead of probing it (memory plans, recommendation,
    loads), or is the HardwareProbe the model pages use (probing runs off the GUI thread either
    way); ``catalogue`` replaces the shipped model catalogue. Both default to the real thing.

    ``startPageOpened``: ``open_start_page`` has decided what to show (after checking the
    models folder in the background).
    """

    startPageOpened = Signal()

    def __init__(
        self,
        paths: AppPaths,
        settings: AppSettings,
        store: ConversationStore,
        settings_warnings: list[str] | None = None,
        *,
        hardware: HardwareInfo | HardwareProbe | None = None,
        catalogue: Catalogue | None = None,
    ) -> None:
        super().__init__()
        self.paths = paths
        self.settings = settings
        self.store = store
        self._hardware = hardware
        self._catalogue = catalogue
        self._shut_down = False
        self._context_warned: tuple[int, str] | None = None
        self._load_request: tuple[str, LoadOptions] | None = None
        self._alternatives: list[LoadAlternative] = []
        self._loaded_name: str | None = None
        app = QApplication.instance()
        self.colors: Colors = apply_theme(app, settings.theme, settings.font_size)
        self.setWindowTitle(APP_TITLE)
        self.setAccessibleName(APP_TITLE)
        self.resize(1180, 780)

        described = hardware if isinstance(hardware, HardwareInfo) else None
        self.engine = EngineClient(store, self, hardware=described)  # None: probed per load
        self.tasks = TaskRunner(self)
        self.registry = ModelRegistry(paths)
        self._build_ui()
        self.controller = ChatController(store, self.engine, self.chat_view, settings, self)
        self._connect()
        build_menus(self)
        self.refresh_conversations()
        self.controller.open_conversation(None)
        self._update_composer_state()
        for warning in settings_warnings or []:
            self.show_notice(warning, "warning")
        hints = QGuiApplication.styleHints()
        hints.colorSchemeChanged.connect(self._on_color_scheme_changed)

    # -- construction -------------------------------------------------------------------------

    def _view_context(self) -> ViewContext:
        name = self.engine.model.name if self.engine.model is not None else "Assistant"
        return ViewContext(self.colors, MarkdownRenderer(self.colors), name)

    def _build_ui(self) -> None:
        self.sidebar = Sidebar(self.colors, self)
        chat_page = QWidget(self)
        chat_page.setObjectName("ChatSurface")
        column = QVBoxLayout(chat_page)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        self.header = ChatHeader(chat_page)
        column.addWidget(self.header)
        self.notice_bar = NoticeBar(chat_page)
        notice_row = QHBoxLayout()
        notice_row.setContentsMargins(24, 10, 24, 0)
        notice_row.addWidget(self.notice_bar)
        column.addLayout(notice_row)
        self.chat_view = ChatView(self._view_context(), chat_page)
        column.addWidget(self.chat_view, 1)
        composer_row = QHBoxLayout()
        composer_row.setContentsMargins(24, 6, 24, 14)
        composer_row.addStretch(1)
        self.composer = Composer(chat_page)
        self.composer.setMaximumWidth(COLUMN_MAX_WIDTH)
        composer_row.addWidget(self.composer, 100)
        composer_row.addStretch(1)
        column.addLayout(composer_row)

        self.pages = QStackedWidget(self)
        self.pages.addWidget(chat_page)
        self.chat_page = chat_page
        splitter = QSplitter(self)
        splitter.addWidget(self.sidebar)
        splitter.addWidget(self.pages)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([270, 910])
        splitter.setChildrenCollapsible(False)
        splitter.setHandleWidth(1)
        self.setCentralWidget(splitter)
        self.status = ChatStatusBar(self, models_hint=f"Models… ({MODELS_SHORTCUT})")
        self.setStatusBar(self.status)
        self.model_pages = ModelPages(
            self.registry,
            self.pages,
            hardware=self._hardware,
            catalogue=self._catalogue,
            get_model_shortcut=GET_MODEL_SHORTCUT,
            parent=self,
        )

    def _connect(self) -> None:
        c = self.controller
        self.composer.sendRequested.connect(self.send_message)
        self.composer.stopRequested.connect(c.stop)
        c.generatingChanged.connect(self._on_generating_changed)
        c.conversationsChanged.connect(self.refresh_conversations)
        c.currentChanged.connect(self._on_current_changed)
        c.notice.connect(self.show_notice)
        c.speedChanged.connect(self.status.set_speed)
        c.contextChanged.connect(self._on_context_changed)
        self.engine.modelLoaded.connect(self._on_model_loaded)
        self.engine.modelLoadFailed.connect(self._on_model_load_failed)
        self.engine.modelLoadProgress.connect(self.status.set_load_progress)
        self.engine.modelLoadCancelled.connect(self._on_model_load_cancelled)
        self.status.cancelLoadRequested.connect(self.cancel_load)
        s = self.sidebar
        s.newRequested.connect(self.new_chat)
        s.conversationSelected.connect(self.open_conversation)
        s.renameRequested.connect(self.rename_conversation)
        s.pinRequested.connect(self.pin_conversation)
        s.deleteRequested.connect(self.delete_conversation)
        s.undoDeleteRequested.connect(self.undo_delete)
        s.searchRequested.connect(self.search)
        s.hitActivated.connect(self.controller.show_message)
        self.header.settings_button.clicked.connect(self.open_settings)
        self.notice_bar.actionTriggered.connect(self._on_notice_action)
        self.status.modelClicked.connect(self.show_models)
        self.model_pages.loadRequested.connect(self._on_install_load_requested)
        self.model_pages.backRequested.connect(self.show_chat)

    # -- conversations ------------------------------------------------------------------------

    @Slot()
    def refresh_conversations(self) -> None:
        try:
            conversations = self.store.list_conversations()
        except StoreError as exc:
            self.show_notice(str(exc), "error")
            return
        self.sidebar.set_conversations(conversations, self.controller.conv_id)

    @Slot()
    def new_chat(self) -> None:
        self.controller.open_conversation(None)
        self.sidebar.select(None)
        self.focus_composer()

    @Slot(int)
    def open_conversation(self, conv_id: int) -> None:
        self.pages.setCurrentWidget(self.chat_page)
        if conv_id != self.controller.conv_id:
            self.controller.open_conversation(conv_id)

    @Slot(int, str)
    def rename_conversation(self, conv_id: int, title: str) -> None:
        try:
            conv = self.store.rename(conv_id, title)
        except StoreError as exc:
            self.show_notice(str(exc), "error")
            return
        if conv_id == self.controller.conv_id:
            self._on_current_changed(conv)
        self.refresh_conversations()

    @Slot(int, bool)
    def pin_conversation(self, conv_id: int, pinned: bool) -> None:
        try:
            self.store.set_pinned(conv_id, pinned)
        except StoreError as exc:
            self.show_notice(str(exc), "error")
            return
        self.refresh_conversations()

    @Slot(int)
    def delete_conversation(self, conv_id: int) -> None:
        """Soft-delete a conversation; the sidebar offers Undo for a few seconds."""
        try:
            conv = self.store.get_conversation(conv_id)
            if conv_id == self.controller.conv_id:
                self.controller.open_conversation(None)
            self.store.delete(conv_id)
        except StoreError as exc:
            self.show_notice(str(exc), "error")
            return
        self.sidebar.undo_bar.offer(conv_id, conv.title)
        self.refresh_conversations()

    @Slot(int)
    def undo_delete(self, conv_id: int) -> None:
        try:
            self.store.restore(conv_id)
        except StoreError as exc:
            self.show_notice(str(exc), "error")
            return
        self.refresh_conversations()
        self.controller.open_conversation(conv_id)
        self.sidebar.select(conv_id)

    @Slot()
    def rename_current(self) -> None:
        if self.controller.conv_id is not None:
            self.sidebar.start_rename(self.controller.conv_id)

    @Slot()
    def toggle_pin_current(self) -> None:
        conv_id = self.controller.conv_id
        if conv_id is not None:
            self.pin_conversation(conv_id, not self.store.get_conversation(conv_id).pinned)

    @Slot()
    def delete_current(self) -> None:
        if self.controller.conv_id is not None:
            self.delete_conversation(self.controller.conv_id)

    @Slot(object)
    def _on_current_changed(self, conv: Conversation | None) -> None:
        self.header.title.setText(conv.title if conv is not None else "New chat")
        self.setWindowTitle(f"{conv.title} — {APP_TITLE}" if conv is not None else APP_TITLE)
        for action in (self.rename_action, self.pin_action, self.delete_action):
            action.setEnabled(conv is not None)
        for action in (self.export_md_action, self.export_json_action):
            action.setEnabled(conv is not None)
        if conv is not None:
            self.pin_action.setText("Un&pin chat" if conv.pinned else "&Pin chat")
            self.sidebar.select(conv.id)

    # -- chatting -----------------------------------------------------------------------------

    @Slot(str)
    def send_message(self, text: str) -> bool:
        """Send ``text`` in the open conversation (creating it if needed)."""
        return self.controller.send(text)

    @Slot()
    def regenerate_last(self) -> None:
        self.controller.regenerate()

    @Slot()
    def focus_composer(self) -> None:
        """Show the chat (leaving the Models or first-run page) and put the cursor in the
        message box."""
        self.pages.setCurrentWidget(self.chat_page)
        self.composer.input.setFocus()

    @Slot(bool)
    def _on_generating_changed(self, generating: bool) -> None:
        self.composer.set_generating(generating)
        self.stop_action.setEnabled(generating)
        on_chat = self.pages.currentWidget() is self.chat_page
        if not generating and self.isActiveWindow() and on_chat:
            self.composer.input.setFocus()

    @Slot(int, int)
    def _on_context_changed(self, used: int, n_ctx: int) -> None:
        sampling = self.controller.sampling()
        reserve = min(n_ctx // 4, sampling.max_tokens or 0) if sampling is not None else 0
        level = self.status.set_context(used, n_ctx, reserve)
        conv_id = self.controller.conv_id
        if level == "ok" or conv_id is None:
            return
        if (conv_id, level) != self._context_warned:
            self._context_warned = (conv_id, level)
            if level == "warn":
                text = (
                    f"This conversation uses {used:,} of the model's {n_ctx:,}-token context. "
                    "When it is full, the oldest messages will be left out of what the model "
                    "sees; start a new chat to keep everything in view."
                )
            else:
                text = (
                    f"This conversation ({used:,} tokens) no longer fits the model's "
                    f"{n_ctx:,}-token context with room for a reply: the oldest messages are "
                    "left out of what the model sees. Start a new chat to keep everything in view."
                )
            self.show_notice(text, "warning")

    def _update_composer_state(self) -> None:
        self.cancel_load_action.setEnabled(self.engine.loading and not self.engine.cancelling)
        if self.engine.loading:
            self.composer.set_can_send(False, "Loading the model…")
        elif self.engine.model is None:
            self.composer.set_can_send(
                False, f"No model loaded: File → Models… ({MODELS_SHORTCUT})"
            )
        else:
            self.composer.set_can_send(True)

    # -- model --------------------------------------------------------------------------------

    def load_model(self, path: str, options: LoadOptions | None = None) -> None:
        """Load a GGUF file in the engine thread (the window stays responsive and the status
        bar shows a busy indicator with the elapsed time)."""
        self.controller.stop()
        installed = self.registry.find_by_path(path)
        if options is None:
            options = load_options_from(self.settings, installed.settings if installed else None)
        self._load_request = (str(path), options)
        self._loaded_name = None
        self.engine.load(str(path), options)
        name = installed.name if installed else Path(path).name
        self.status.start_loading(name)
        self.chat_view.empty_state.set_loading(name)
        self._update_composer_state()

    @Slot()
    def cancel_load(self) -> None:
        """Stop the model load in progress (Cancel in the status bar, Esc); the status bar
        says "Cancelling…" until the engine thread has stopped."""
        if self.engine.cancel_load():
            self.status.set_cancelling()
            self._update_composer_state()

    def load_installed(self, name: str, settings: LoadSettings | None = None) -> None:
        """Load a model from the models folder by name, with ``settings`` (default: its saved
        load settings; unset values fall back to the app settings, then the planner)."""
        try:
            model = self.registry.get(name)
        except ModelsError as exc:
            self.show_notice(str(exc), "error")
            return
        self.load_model(model.path, load_options_from(self.settings, settings or model.settings))

    def needs_first_run(self) -> bool:
        """True when no model is installed yet."""
        return self.registry.is_empty()

    def open_start_page(self, model: str | None = None) -> None:
        """What the window shows at start: ``model`` (or the last model) loading, else the
        first-run page when no model is installed. GGUF files found in the models folder but
        missing from the list (the app stopped between placing and recording a download) are
        adopted first, in the background (each is checked by reading it), so they do not send
        the user to the first-run page. ``startPageOpened`` follows the decision."""
        start = model or self.settings.last_model
        loading = bool(start and (model or os.path.exists(start)))
        if loading:
            self.load_model(start)
        self.tasks.submit(
            partial(adopt_found_models, self.registry),
            partial(self._on_models_folder_checked, loading),
            partial(self._on_models_folder_check_failed, loading),
        )

    def _on_models_folder_checked(self, loading: bool, adopted: list) -> None:
        if adopted:
            self.model_pages.refresh()
        if not loading:
            if self.needs_first_run():
                self.show_first_run()
            else:
                self.show_notice(
                    "No model is loaded.", "info", action="Choose a model…", key="models"
                )
        self.startPageOpened.emit()

    def _on_models_folder_check_failed(self, loading: bool, error: UserFacingError) -> None:
        self.show_notice(f"Could not check the models folder: {error.text()}", "warning")
        self._on_models_folder_checked(loading, [])

    @property
    def first_run(self) -> FirstRunPage | None:
        """The first-run page, once shown (None before)."""
        return self.model_pages.first_run

    @property
    def models_page(self) -> ModelsPage | None:
        """The Models page, once shown (None before)."""
        return self.model_pages.models

    @Slot()
    def show_first_run(self) -> None:
        """Show the page that downloads, imports or builds a model."""
        self.model_pages.show_first_run()

    @Slot()
    def show_hub_search(self) -> None:
        """Search the Hugging Face Hub for GGUF models (the network is used only on Search)."""
        self.model_pages.show_hub_search()

    @Slot()
    def show_models(self) -> None:
        """Show the installed models with their load settings (keyboard focus on the list)."""
        self.model_pages.show_models(self._loaded_name)

    @Slot()
    def show_chat(self) -> None:
        self.focus_composer()

    @Slot(str, object)
    def _on_install_load_requested(self, name: str, settings: LoadSettings | None) -> None:
        """A model page asks to load ``name`` (just installed, or Load on the Models page with
        its edited settings): load it and show the chat while it loads."""
        self.load_installed(name, settings)
        self.show_chat()

    @Slot()
    def choose_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a GGUF model", str(self.paths.models_dir), "GGUF models (*.gguf)"
        )
        if path:
            self.load_model(path)

    @Slot(object)
    def _on_model_loaded(self, info: ModelInfo) -> None:
        installed = self.registry.find_by_path(info.path)
        self._loaded_name = installed.name if installed is not None else None
        self.model_pages.set_loaded(self._loaded_name)
        warning = gpu_warning(info)
        self.status.set_model(f"{info.name} · {info.facts.quant_type}", info.path)
        self.status.set_device(describe_device(info), device_details(info), warning=bool(warning))
        self.chat_view.set_context(self._view_context())
        self.chat_view.empty_state.set_model_name(info.name)
        self._update_composer_state()
        self.notice_bar.dismiss()
        if warning:
            self.show_notice(warning, "warning", action="Models…", key="models")
        self.settings.last_model = info.path
        self._save_settings()
        self.controller.measure_context()

    @Slot()
    def _on_model_load_cancelled(self) -> None:
        """Not an error: the window goes back to having no model (the engine thread freed the
        previous one before loading) and says how to choose one."""
        self._loaded_name = None
        self.model_pages.set_loaded(None)
        self.status.set_model(None)
        self.chat_view.empty_state.set_model_name(None)
        self._update_composer_state()
        self.show_notice("Load cancelled; no model loaded.", "info", action="Models…", key="models")

    @Slot(object)
    def _on_model_load_failed(self, error: UserFacingError) -> None:
        self.model_pages.set_loaded(None)
        self.status.set_model(None)
        self.chat_view.empty_state.set_model_name(None)
        self._update_composer_state()
        self._alternatives = parse_alternatives(error.alternatives)
        if not self._alternatives:
            self.show_notice(
                error.text(),
                "error",
                action="Models…",
                key="models",
                more=[("Choose a file…", "open-model")],
            )
            return
        # The planner refused: offer the settings that fit as one-click reloads.
        actions = [(a.label, f"alternative:{i}") for i, a in enumerate(self._alternatives)]
        self.show_notice(
            refusal_text(error.message, error.alternatives),
            "error",
            more=[*actions, ("Models…", "models")],
        )

    def load_alternative(self, index: int) -> None:
        """Load again with the planner's alternative ``index`` (saved for an installed model)."""
        if self._load_request is None or not 0 <= index < len(self._alternatives):
            return
        alternative = self._alternatives[index]
        path, options = self._load_request
        changes = {"n_ctx": alternative.n_ctx or options.n_ctx}
        if alternative.kv_cache_type:
            changes["kv_cache_type"] = alternative.kv_cache_type
        installed = self.registry.find_by_path(path)
        if installed is not None:
            settings = replace(installed.settings, **changes)
            try:
                self.registry.update(installed.name, settings=settings)
            except (ModelsError, OSError, ValueError) as exc:
                log.warning("Could not save the load settings of %s: %s", installed.name, exc)
        self.load_model(path, replace(options, **changes))

    # -- search, export, import (background) --------------------------------------------------

    @Slot(str)
    def search(self, query: str) -> None:
        store = self.store
        self.tasks.submit(
            partial(store.search, query), partial(self._on_search_done, query), self._on_task_error
        )

    def _on_search_done(self, query: str, hits: list) -> None:
        self.sidebar.show_hits(query, hits)

    def export_conversation(self, conv_id: int, path: str, fmt: str) -> int:
        """Write a conversation to ``path`` as "markdown" or "json", in the background; the
        thinking is included when "Include thinking in exports" is checked."""
        store = self.store
        thinking = self.include_thinking_action.isChecked()

        def work() -> str:
            if fmt == "json":
                data = store.export_json(conv_id, include_thinking=thinking)
                text = json.dumps(data, indent=2, ensure_ascii=False)
            else:
                text = store.export_markdown(conv_id, include_thinking=thinking)
            atomic_write_text(path, text)
            return path

        return self.tasks.submit(work, self._on_exported, self._on_task_error)

    def import_conversation(self, path: str) -> int:
        """Add the conversation exported in ``path``, in the background, and open it."""
        store = self.store
        return self.tasks.submit(
            lambda: store.import_json(read_import_file(path)),
            self._on_imported,
            self._on_task_error,
        )

    def _on_exported(self, path: str) -> None:
        self.show_notice(f"Exported to {path}", "info")

    def _on_imported(self, conv_id: int) -> None:
        self.refresh_conversations()
        self.controller.open_conversation(conv_id)
        self.show_notice("Conversation imported.", "info")

    def _on_task_error(self, error: UserFacingError) -> None:
        self.show_notice(error.text(), "error")

    def _export_dialog(self, fmt: str) -> None:
        conv_id = self.controller.conv_id
        if conv_id is None:
            return
        title = self.store.get_conversation(conv_id).title
        suffix, label = (".json", "JSON (*.json)") if fmt == "json" else (".md", "Markdown (*.md)")
        safe = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in title).strip()
        start = str(Path.home() / f"{safe or 'conversation'}{suffix}")
        path, _ = QFileDialog.getSaveFileName(self, "Export chat", start, label)
        if path:
            self.export_conversation(conv_id, path, fmt)

    @Slot()
    def choose_export_markdown(self) -> None:
        self._export_dialog("markdown")

    @Slot()
    def choose_export_json(self) -> None:
        self._export_dialog("json")

    @Slot()
    def choose_import_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a chat", str(Path.home()), "QwQ Desktop chats (*.json)"
        )
        if path:
            self.import_conversation(path)

    # -- settings and appearance --------------------------------------------------------------

    @Slot()
    def open_settings(self) -> None:
        conv_settings = (
            self.controller.conversation_settings() if self.controller.conv_id is not None else None
        )
        preset = self.engine.model.default_sampling if self.engine.model is not None else None
        dialog = SettingsDialog(self.settings, conv_settings, preset, self)
        if dialog.exec() != SettingsDialog.DialogCode.Accepted:
            return
        self.apply_settings(dialog.app_settings(), dialog.conversation_settings())

    def apply_settings(self, app_settings: AppSettings, conv_settings=None) -> None:
        """Save and apply new settings (theme and font now; load options at the next load)."""
        if conv_settings is not None and self.controller.conv_id is not None:
            try:
                self.store.update_settings(self.controller.conv_id, conv_settings.to_dict())
            except StoreError as exc:
                self.show_notice(str(exc), "error")
        old = self.settings
        reload_needed = any(
            getattr(old, f) != getattr(app_settings, f)
            for f in ("threads", "gpu_layers", "context_size", "kv_cache_type")
        )
        appearance = (old.theme, old.font_size) != (app_settings.theme, app_settings.font_size)
        self.settings = app_settings
        self.controller.app_settings = app_settings
        self._save_settings()
        if appearance:
            self._apply_appearance()
        if reload_needed and self.engine.model is not None:
            self.show_notice(
                "The new model settings apply when the model is loaded again.",
                "info",
                action="Reload now",
                key="reload-model",
            )

    def set_theme(self, theme: str) -> None:
        data = self.settings.to_dict()
        data["theme"] = theme
        self.apply_settings(AppSettings.from_dict(data))

    @Slot()
    def larger_text(self) -> None:
        self._change_font(+1)

    @Slot()
    def smaller_text(self) -> None:
        self._change_font(-1)

    def _change_font(self, step: int) -> None:
        data = self.settings.to_dict()
        data["font_size"] = max(6, min(48, self.settings.font_size + step))
        self.apply_settings(AppSettings.from_dict(data))

    def _apply_appearance(self) -> None:
        self.colors = apply_theme(
            QApplication.instance(), self.settings.theme, self.settings.font_size
        )
        self.sidebar.set_colors(self.colors)
        self.chat_view.set_context(self._view_context())
        for theme, action in self.theme_actions.items():
            action.setChecked(theme == self.settings.theme)

    @Slot()
    def _on_color_scheme_changed(self) -> None:
        if self.settings.theme == "system":
            self._apply_appearance()

    def _save_settings(self) -> None:
        try:
            save_settings(self.paths.settings_file, self.settings)
        except OSError as exc:
            self.show_notice(f"Could not save the settings ({exc}).", "warning")

    # -- notices ------------------------------------------------------------------------------

    @Slot(str, str)
    def show_notice(
        self,
        text: str,
        kind: str = "info",
        action: str = "",
        key: str = "",
        more: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Show a message above the chat; ``action``/``more`` add buttons handled by
        ``_on_notice_action``."""
        self.notice_bar.show_notice(text, kind, action, key, more)

    @Slot(str)
    def _on_notice_action(self, key: str) -> None:
        if key == "open-model":
            self.choose_model_file()
        elif key == "models":
            self.show_models()
        elif key.startswith("alternative:"):
            self.load_alternative(int(key.partition(":")[2]))
        elif key == "reload-model" and self.engine.model is not None:
            self.load_model(self.engine.model.path)

    @Slot()
    def show_about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}", about_text())

    # -- shutdown -----------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop the reply, free the model, stop the threads. Safe to call more than once."""
        if self._shut_down:
            return
        self._shut_down = True
        self.controller.stop()
        self.status.stop_loading()
        self.model_pages.shutdown()
        self.engine.shutdown()
        self.tasks.shutdown()
        try:
            self.store.purge_deleted()
        except StoreError as exc:
            log.warning("Could not purge deleted conversations: %s", exc)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.hide()
        self.shutdown()
        event.accept()
