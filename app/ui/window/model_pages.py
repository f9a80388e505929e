"""The main window's model pages: "Get a model" (first run: download, import, build) and
"Models" (installed models and their load settings), each made when first shown and placed in
the window's page stack under a title bar with a way back to the chat; and the "Search the Hub"
dialog both pages open. The pages share one look at this computer (``HardwareProbe``), taken off
the GUI thread when a page first needs it."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.engine import HardwareInfo
from app.models import Catalogue, DownloadManager, LoadSettings, ModelRegistry
from app.ui.common.hardware_probe import HardwareProbe, as_probe
from app.ui.common.notices import NoticeBridge, guarded
from app.ui.models.download_queue import DownloadQueue
from app.ui.models.first_run import FirstRunPage
from app.ui.models.hub_search import HubSearchDialog
from app.ui.models.installed_page import InstalledModelsPage


class EmbeddedPage(QWidget):
    """A full-window page (first run, models) with a way back to the chat."""

    def __init__(self, content: QWidget, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatSurface")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        bar = QFrame(self)
        bar.setObjectName("ChatHeader")
        self._row = QHBoxLayout(bar)
        self._row.setContentsMargins(12, 8, 12, 8)
        self.back = QToolButton(bar)
        self.back.setObjectName("ActionButton")
        self.back.setText("← Back to chat")
        self.back.setAccessibleName("Back to chat")
        self._row.addWidget(self.back)
        label = QLabel(title, bar)
        label.setObjectName("ChatTitle")
        self._row.addWidget(label, 1)
        layout.addWidget(bar)
        layout.addWidget(content, 1)
        self.content = content

    def add_button(self, text: str, tooltip: str = "") -> QToolButton:
        """A button at the right end of the page's title bar."""
        button = QToolButton(self)
        button.setObjectName("ActionButton")
        button.setText(text)
        button.setAccessibleName(text.rstrip("…"))
        button.setToolTip(tooltip)
        self._row.addWidget(button)
        return button


class ModelPagesController(QObject):
    """Makes, shows and shuts down the model pages of ``stack``.

    ``loadRequested(name, settings)``: load the installed model ``name`` with ``settings`` (a
    LoadSettings from the Models page, or None for its saved ones after a first-run install).
    ``backRequested``: a page's "Back to chat". ``connectRequested``: a page's "Connect to a
    server…" (chat through a remote endpoint instead). ``notices``: the window's bridge, for what
    fails here (each page reports its own errors on its own notice bar).
    """

    loadRequested = Signal(str, object)
    backRequested = Signal()
    connectRequested = Signal()

    def __init__(
        self,
        registry: ModelRegistry,
        stack: QStackedWidget,
        notices: NoticeBridge,
        *,
        hardware: HardwareInfo | HardwareProbe | None = None,
        catalogue: Catalogue | None = None,
        get_model_shortcut: str = "",
        parent: QObject | None = None,
    ) -> None:
        """``hardware``: a described machine, a HardwareProbe, or None to probe this computer
        (in the background, when a page first needs it)."""
        super().__init__(parent)
        self.registry = registry
        self.stack = stack
        self.notices = notices
        self.probe = as_probe(hardware, self)  # shared by the pages
        self.catalogue = catalogue
        self.get_model_shortcut = get_model_shortcut
        self.downloads: DownloadQueue | None = None
        self.first_run: FirstRunPage | None = None
        self.first_run_page: EmbeddedPage | None = None
        self.models: InstalledModelsPage | None = None
        self.models_page: EmbeddedPage | None = None
        self.hub_search: HubSearchDialog | None = None

    def download_queue(self) -> DownloadQueue:
        """The download queue the pages share (made on first use)."""
        if self.downloads is None:
            manager = DownloadManager(self.registry, catalogue=self.catalogue)
            self.downloads = DownloadQueue(self.registry, manager, self.notices, parent=self)
        return self.downloads

    @Slot()
    @guarded("opening the model setup")
    def show_first_run(self) -> None:
        """Show the page that downloads, imports or builds a model."""
        if self.first_run is None:
            self.first_run = FirstRunPage(
                self.registry,
                self.download_queue(),
                catalogue=self.catalogue,
                hardware=self.probe,
                parent=self.stack,
            )
            self.first_run.modelReady.connect(self._on_model_ready)
            self.first_run.searchHubRequested.connect(self.show_hub_search)
            self.first_run_page = self._embed(self.first_run, "Get a model")
            self._add_connect_button(self.first_run_page)
        self.stack.setCurrentWidget(self.first_run_page)

    def show_models(self, loaded: str | None) -> None:
        """Show the installed models (``loaded`` marked and selected), focus on the list."""
        if self.models is None:
            self.models = InstalledModelsPage(
                self.registry,
                hardware=self.probe,
                downloads=self.download_queue(),
                catalogue=self.catalogue,
                parent=self.stack,
            )
            self.models.loadRequested.connect(self._on_models_load)
            self.models_page = self._embed(self.models, "Models")
            shortcut = f" ({self.get_model_shortcut})" if self.get_model_shortcut else ""
            get = self.models_page.add_button(
                "Get a model…", f"Download, import or build a model{shortcut}"
            )
            get.clicked.connect(self.show_first_run)
            search = self.models_page.add_button(
                "Search the Hub…", "Find GGUF models on the Hugging Face Hub by name"
            )
            search.clicked.connect(self.show_hub_search)
            self._add_connect_button(self.models_page)
        else:
            self.models.refresh()
        self.models.set_loaded(loaded)
        if loaded is not None:
            self.models.select(loaded)
        self.stack.setCurrentWidget(self.models_page)
        self.models.table.setFocus()

    @Slot()
    @guarded("opening the Hub search")
    def show_hub_search(self) -> None:
        """Open (or bring back) the dialog that searches the Hub for GGUF models."""
        if self.hub_search is None:
            self.hub_search = HubSearchDialog(
                self.registry,
                self.download_queue(),
                catalogue=self.catalogue,
                hardware=self.probe,
                parent=self.stack.window(),
            )
            self.hub_search.modelInstalled.connect(self._on_hub_installed)
            self.hub_search.loadRequested.connect(self._on_hub_load)
        if self.hub_search.isVisible():  # behind the main window: bring it to the front
            self.hub_search.raise_()
            self.hub_search.activateWindow()
        else:
            self.hub_search.show()

    def refresh(self) -> None:
        """Re-read the installed models (Models page, if made)."""
        if self.models is not None:
            self.models.refresh()

    def set_loaded(self, name: str | None) -> None:
        """Tell the Models page (if made) which model is loaded."""
        if self.models is not None:
            self.models.set_loaded(name)

    def shutdown(self) -> None:
        """Join the pages' background jobs and stop the download thread (a running download
        is paused and resumes next time). Idempotent."""
        if self.models is not None:
            self.models.shutdown()
        if self.first_run is not None:
            self.first_run.shutdown()
        if self.hub_search is not None:
            self.hub_search.shutdown()
        if self.downloads is not None:
            self.downloads.shutdown()
        self.probe.shutdown()

    def _add_connect_button(self, page: EmbeddedPage) -> None:
        button = page.add_button(
            "Connect to a server…",
            "Chat with a model on another computer (llama-server, vLLM, Ollama, QwQ Desktop)",
        )
        button.clicked.connect(self.connectRequested)

    def _embed(self, content: QWidget, title: str) -> EmbeddedPage:
        page = EmbeddedPage(content, title, self.stack)
        page.back.clicked.connect(self.backRequested)
        self.stack.addWidget(page)
        return page

    @Slot(str)
    @guarded("loading the new model")
    def _on_model_ready(self, name: str) -> None:
        if self.models is not None:
            self.models.refresh()
        self.loadRequested.emit(name, None)

    @Slot(str)
    @guarded("showing the new model")
    def _on_hub_installed(self, name: str) -> None:
        if self.models is not None:
            self.models.refresh()
            self.models.select(name)

    @Slot(str)
    @guarded("loading the model")
    def _on_hub_load(self, name: str) -> None:
        if self.hub_search is not None:
            self.hub_search.close()
        self.loadRequested.emit(name, None)

    @Slot(str, object)
    @guarded("loading the model")
    def _on_models_load(self, name: str, settings: LoadSettings) -> None:
        self.loadRequested.emit(name, settings)
