"""The main window: a shell that puts the feature packages side by side and wires them up.

The sidebar (``app.ui.conversations``) and the chat page (``app.ui.chat``: header, notice bar,
conversation, composer) sit in a splitter; the model pages (``app.ui.models``, made and shown by
``ModelPagesController``) share the page stack with the chat page; the status bar is below.
What the window does lives in its own modules: conversations (``ConversationActions``), the
model (``ModelLoading``), settings and appearance (``Preferences``), the menus (``menus``).
Every message and error reaches the user through ``self.notices``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
)

from app.about import APP_NAME, about_text
from app.engine import HardwareInfo, LoadOptions
from app.errors import Action
from app.models import Catalogue, LoadSettings, ModelRegistry
from app.paths import AppPaths
from app.settings import AppSettings
from app.store import ConversationStore, StoreError
from app.ui.chat.chat_controller import ChatController
from app.ui.chat.chat_page import ChatPage
from app.ui.chat.engine_session import EngineSession
from app.ui.chat.markdown_render import MarkdownRenderer
from app.ui.chat.message_sections import ViewContext
from app.ui.common.hardware_probe import HardwareProbe
from app.ui.common.jobs import Job, JobLane
from app.ui.common.notices import Notice, NoticeBridge, guarded
from app.ui.common.theme import Colors, apply_theme
from app.ui.conversations.sidebar import Sidebar
from app.ui.docs.feature import DocsFeature

from .api_server import ApiServerController
from .conversation_actions import ConversationActions
from .menus import GET_MODEL_SHORTCUT, MODELS_SHORTCUT, build_menus
from .model_loading import ModelLoading
from .model_pages import ModelPagesController
from .preferences import Preferences
from .status_bar import ChatStatusBar, context_warning

if TYPE_CHECKING:
    from app.ui.models.first_run import FirstRunPage
    from app.ui.models.installed_page import InstalledModelsPage

log = logging.getLogger(__name__)

APP_TITLE = APP_NAME
# The kinds of actions the window performs from a notice's buttons.
WINDOW_ACTIONS = ("load", "open-models", "choose-file", "reload-model")


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
        app = QApplication.instance()
        self.colors: Colors = apply_theme(app, settings.theme, settings.font_size)
        self.setWindowTitle(APP_TITLE)
        self.setAccessibleName(APP_TITLE)
        self.resize(1180, 780)

        self.notices = NoticeBridge(self, handles=WINDOW_ACTIONS)
        described = hardware if isinstance(hardware, HardwareInfo) else None
        self.engine = EngineSession(store, self, hardware=described)  # None: probed per load
        self.registry = ModelRegistry(paths)
        # Keyring reads (an unlock prompt may block them), one at a time, never on this thread.
        self.keyring = JobLane("KeyringThread", self)
        self._build_ui()
        self.controller = ChatController(
            store, self.engine, self.chat_view, settings, self.notices, self
        )
        self.conversations = ConversationActions(self)
        self.models = ModelLoading(self)
        self.preferences = Preferences(self)
        self.docs = DocsFeature(self)  # collections, the chat's documents, the source panel
        self.api_server = ApiServerController(self)  # the local API, on the engine's queue
        self._connect()
        build_menus(self)
        self.refresh_conversations()
        self.controller.open_conversation(None)
        self.models.update_composer()
        for warning in settings_warnings or []:
            self.notices.show(warning, "warning")
        self.api_server.apply(settings)  # on at start when the settings say so

    # -- construction -------------------------------------------------------------------------

    def view_context(self) -> ViewContext:
        name = self.engine.model.name if self.engine.model is not None else "Assistant"
        return ViewContext(self.colors, MarkdownRenderer(self.colors), name)

    def _build_ui(self) -> None:
        self.sidebar = Sidebar(self.colors, self)
        self.chat_page = ChatPage(self.view_context(), self)
        page = self.chat_page
        self.header, self.notice_bar = page.header, page.notice_bar
        self.chat_view, self.composer = page.chat_view, page.composer
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.chat_page)
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
        self.model_pages = ModelPagesController(
            self.registry,
            self.pages,
            self.notices,
            hardware=self._hardware,
            catalogue=self._catalogue,
            get_model_shortcut=GET_MODEL_SHORTCUT,
            parent=self,
        )

    def _connect(self) -> None:
        c, conversations = self.controller, self.conversations
        self.notices.posted.connect(self._show_notice)
        self.notice_bar.actionTriggered.connect(self._on_notice_action)
        self.composer.sendRequested.connect(self.send_message)
        self.composer.stopRequested.connect(c.stop)
        c.generatingChanged.connect(self._on_generating_changed)
        c.conversationsChanged.connect(conversations.refresh)
        c.currentChanged.connect(conversations.on_current_changed)
        c.speedChanged.connect(self.status.set_speed)
        c.contextChanged.connect(self._on_context_changed)
        self.models.startPageOpened.connect(self.startPageOpened)
        self.engine.modelLoadProgress.connect(self.status.set_load_progress)
        self.status.cancelLoadRequested.connect(self.models.cancel)
        s = self.sidebar
        s.newRequested.connect(self.new_chat)
        s.conversationSelected.connect(conversations.open)
        s.renameRequested.connect(conversations.rename)
        s.pinRequested.connect(conversations.pin)
        s.deleteRequested.connect(conversations.delete)
        s.undoDeleteRequested.connect(conversations.undo_delete)
        s.searchRequested.connect(conversations.search)
        s.hitActivated.connect(self.controller.show_message)
        self.header.settings_button.clicked.connect(self.preferences.open_settings)
        self.status.modelClicked.connect(self._on_model_clicked)
        self.status.apiClicked.connect(self.api_server.show_log)
        self.model_pages.loadRequested.connect(self._on_install_load_requested)
        self.model_pages.backRequested.connect(self.show_chat)

    # -- conversations (ConversationActions) ----------------------------------------------------

    @Slot()
    def refresh_conversations(self) -> None:
        self.conversations.refresh()

    @Slot(int)
    def open_conversation(self, conv_id: int) -> None:
        self.conversations.open(conv_id)

    def export_conversation(self, conv_id: int, path: str, fmt: str) -> Job:
        return self.conversations.export(conv_id, path, fmt)

    def import_conversation(self, path: str) -> Job:
        return self.conversations.import_file(path)

    @Slot()
    def new_chat(self) -> None:
        self.controller.open_conversation(None)
        self.sidebar.select(None)
        self.focus_composer()

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
            self.notices.show(context_warning(used, n_ctx, level), "warning")

    # -- model (ModelLoading) and model pages ---------------------------------------------------

    def load_model(self, path: str, options: LoadOptions | None = None) -> None:
        """Load a GGUF file in the engine thread (see ``ModelLoading.load``)."""
        self.models.load(path, options)

    @Slot()
    def cancel_load(self) -> None:
        self.models.cancel()

    def load_installed(self, name: str, settings: LoadSettings | None = None) -> None:
        self.models.load_installed(name, settings)

    def needs_first_run(self) -> bool:
        """True when no model is installed yet."""
        return self.registry.is_empty()

    def open_start_page(self, model: str | None = None) -> None:
        """``model`` (or the last model) loading, else the first-run page when no model is
        installed; ``startPageOpened`` follows (see ``ModelLoading.open_start_page``)."""
        self.models.open_start_page(model)

    @property
    def first_run(self) -> FirstRunPage | None:
        """The first-run page, once shown (None before)."""
        return self.model_pages.first_run

    @property
    def models_page(self) -> InstalledModelsPage | None:
        """The Models page, once shown (None before)."""
        return self.model_pages.models

    @Slot()
    @guarded("opening the model setup")
    def show_first_run(self) -> None:
        """Show the page that downloads, imports or builds a model."""
        self.model_pages.show_first_run()

    @Slot()
    @guarded("opening the Hub search")
    def show_hub_search(self) -> None:
        """Search the Hugging Face Hub for GGUF models (the network is used only on Search)."""
        self.model_pages.show_hub_search()

    @Slot()
    @guarded("opening the Models page")
    def show_models(self) -> None:
        """Show the installed models with their load settings (keyboard focus on the list)."""
        self.model_pages.show_models(self.models.loaded_name)

    @Slot()
    @guarded("opening the model's page")
    def _on_model_clicked(self) -> None:
        """The status bar's model: a server's opens the Connect dialog, else the Models page."""
        if self.models.on_server:
            self.models.remote.show_dialog()
        else:
            self.show_models()

    @Slot()
    def show_chat(self) -> None:
        self.focus_composer()

    @Slot(str, object)
    @guarded("loading the model")
    def _on_install_load_requested(self, name: str, settings: LoadSettings | None) -> None:
        """A model page asks to load ``name`` (just installed, or Load on the Models page with
        its edited settings): load it and show the chat while it loads."""
        self.load_installed(name, settings)
        self.show_chat()

    # -- notices ------------------------------------------------------------------------------

    @Slot(object)
    def _show_notice(self, notice: Notice) -> None:
        self.notice_bar.show_notice(notice)

    @Slot(object)
    @guarded("doing what the notice offered")
    def _on_notice_action(self, action: Action) -> None:
        if action.kind == "choose-file":
            self.models.choose_file()
        elif action.kind == "open-models":
            self.show_models()
        elif action.kind == "load":
            self.models.load_alternative(action)
        elif action.kind == "reload-model":
            self.models.reload()

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
        self.api_server.shutdown()  # its replies end before the model is freed
        self.status.stop_loading()
        self.model_pages.shutdown()
        self.engine.shutdown()
        self.docs.shutdown()
        self.conversations.shutdown()
        self.models.lane.shutdown()
        self.models.remote.shutdown()
        self.keyring.shutdown()  # waits for a read the keyring is still prompting for
        try:
            self.store.purge_deleted()
        except StoreError as exc:
            log.warning("Could not purge deleted conversations: %s", exc)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.hide()
        self.shutdown()
        event.accept()
