"""The main window's model: what to load at start, loading (with progress and Cancel), and what
the window says when a load ends: the device line, a GPU-unused warning, or the planner's
refusal with the loads that fit as buttons (its typed "load" actions), or a draft model of
another vocabulary with "Load with prompt lookup". A remote endpoint (``RemoteConnection``) takes
the model's place: connecting is its load."""

from __future__ import annotations

import os
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QFileDialog

from app.engine import LoadOptions
from app.engine.errors import DraftModelError
from app.errors import Action, UserFacingError
from app.models import LoadSettings, ModelsError, adopt_found_models
from app.remote import RemoteEndpoint
from app.settings import AppSettings
from app.ui.chat.engine_session import ModelInfo
from app.ui.common.jobs import JobLane
from app.ui.common.notices import CHOOSE_FILE, CHOOSE_MODEL, OPEN_MODELS, guarded
from app.ui.models.draft_panel import REFUSED_HINT

from .load_feedback import (
    context_label,
    describe_device,
    device_details,
    gpu_warning,
    load_actions,
    refusal_text,
)
from .menus import MODELS_SHORTCUT
from .remote_connection import CONNECT_SERVER, RemoteConnection

if TYPE_CHECKING:
    from .main_window import MainWindow

LOAD_WITH_LOOKUP = Action("load", "Load with prompt lookup", {"draft": "lookup"})


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
        draft=model.draft,
    )


class ModelLoading(QObject):
    """Loads models into the window's ``EngineSession`` and shows how each load ended.

    ``startPageOpened``: ``open_start_page`` has decided what to show (after checking the
    models folder in the background)."""

    startPageOpened = Signal()

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.engine = window.engine
        self.notices = window.notices
        self.registry = window.registry
        self.lane = JobLane("ModelsFolderThread", self)
        self.request: tuple[str, LoadOptions] | None = None  # the latest load asked for
        self.remote_request: RemoteEndpoint | None = None  # or the endpoint connected to
        self.loaded_name: str | None = None
        self.engine.modelLoaded.connect(self._on_loaded)
        self.engine.modelLoadFailed.connect(self._on_failed)
        self.engine.modelLoadCancelled.connect(self._on_cancelled)
        self.remote = RemoteConnection(window, self)
        window.model_pages.connectRequested.connect(self.remote.show_dialog)

    def load(self, path: str, options: LoadOptions | None = None) -> None:
        """Load a GGUF file in the engine thread (the window stays responsive and the status
        bar shows the progress and a Cancel button)."""
        w = self.window
        w.controller.stop()
        self.remote.use_this_computer()
        installed = self.registry.find_by_path(path)
        if options is None:
            options = load_options_from(w.settings, installed.settings if installed else None)
        self.request, self.remote_request = (str(path), options), None
        self.loaded_name = None
        self.engine.load(str(path), options)
        name = installed.name if installed else Path(path).name
        w.status.start_loading(name)
        w.chat_view.empty_state.set_loading(name)
        self.update_composer()

    def connect(self, endpoint: RemoteEndpoint) -> None:
        """Use a remote endpoint in place of a local model (connecting shows as a load)."""
        w = self.window
        w.controller.stop()
        self.request, self.remote_request = None, endpoint
        self.loaded_name = None
        self.engine.connect(endpoint)
        w.status.start_loading(f"{endpoint.model or 'a model'} from {endpoint.host}")
        w.chat_view.empty_state.set_remote(None, endpoint.host)
        self.update_composer()

    def use_local(self) -> None:
        """Back to this computer after an endpoint: the last local model, else none loaded."""
        if self.remote_request is None:
            return
        last = self.window.settings.last_model
        if last and os.path.exists(last):
            self.load(last)
            return
        self.remote_request = None
        self.engine.unload()
        self._show_unloaded()
        self.notices.show("Models run on this computer now.", "info", [CHOOSE_MODEL])

    @property
    def on_server(self) -> bool:
        """Chatting through an endpoint: connected, connecting, or reading its key to."""
        connected = self.engine.loading or self.engine.model is not None
        return (self.remote_request is not None and connected) or self.remote.connecting

    def reload(self) -> None:
        """Load the loaded model again (or connect again to its endpoint)."""
        if self.remote_request is not None:
            self.remote.connect()
        elif self.engine.model is not None:
            self.load(self.engine.model.path)

    @Slot()
    def cancel(self) -> None:
        """Stop the model load in progress (Cancel in the status bar, Esc); the status bar
        says "Cancelling…" until the engine thread has stopped."""
        if self.engine.cancel_load():
            self.window.status.set_cancelling()
            self.update_composer()

    def load_installed(self, name: str, settings: LoadSettings | None = None) -> None:
        """Load a model from the models folder by name, with ``settings`` (default: its saved
        load settings; unset values fall back to the app settings, then the planner)."""
        try:
            model = self.registry.get(name)
        except ModelsError as exc:
            self.notices.report(exc)
            return
        self.load(model.path, load_options_from(self.window.settings, settings or model.settings))

    @Slot()
    @guarded("opening a model file")
    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window,
            "Open a GGUF model",
            str(self.window.paths.models_dir),
            "GGUF models (*.gguf)",
        )
        if path:
            self.load(path)

    def open_start_page(self, model: str | None = None) -> None:
        """``model`` (or the last model) loading, else the first-run page when no model is
        installed. GGUF files found in the models folder but missing from the list (the app
        stopped between placing and recording a download) are adopted first, in the
        background, so they do not send the user to the first-run page."""
        start = model or self.window.settings.last_model
        loading = bool(start and (model or os.path.exists(start)))
        if model is None and self.remote.active:  # the endpoint the user chose last time
            self.remote.connect()
            loading = True
        elif loading:
            self.load(start)
        job = self.lane.submit(
            lambda job: adopt_found_models(self.registry), "checking the models folder"
        )
        job.finished.connect(partial(self._on_folder_checked, loading))
        job.errored.connect(partial(self._on_folder_check_failed, loading))

    def _on_folder_checked(self, loading: bool, adopted: list) -> None:
        w = self.window
        if adopted:
            w.model_pages.refresh()
        if not loading:
            if self.registry.is_empty():
                w.show_first_run()
            else:
                self.notices.show("No model is loaded.", "info", [CHOOSE_MODEL])
        self.startPageOpened.emit()

    def _on_folder_check_failed(self, loading: bool, error: UserFacingError) -> None:
        self.notices.report(
            error, kind="warning", text=f"Could not check the models folder: {error.text()}"
        )
        self._on_folder_checked(loading, [])

    def update_composer(self) -> None:
        w = self.window
        w.cancel_load_action.setEnabled(self.engine.loading and not self.engine.cancelling)
        if self.engine.loading and self.remote_request is not None:
            w.composer.set_can_send(False, f"Connecting to {self.remote_request.host}…")
        elif self.engine.loading:
            w.composer.set_can_send(False, "Loading the model…")
        elif self.engine.model is None:
            w.composer.set_can_send(False, f"No model loaded: File → Models… ({MODELS_SHORTCUT})")
        else:
            w.composer.set_can_send(True)

    # -- how a load ended ----------------------------------------------------------------
    @Slot(object)
    @guarded("showing the loaded model")
    def _on_loaded(self, info: ModelInfo) -> None:
        w = self.window
        if info.remote is not None:
            self._show_remote(info)
            return
        installed = self.registry.find_by_path(info.path)
        self.loaded_name = installed.name if installed is not None else None
        w.model_pages.set_loaded(self.loaded_name)
        warning = gpu_warning(info)
        w.status.set_model(f"{info.name} · {info.facts.quant_type}", info.path)
        w.status.set_device(describe_device(info), device_details(info), warning=bool(warning))
        w.chat_view.set_context(w.view_context())
        w.chat_view.empty_state.set_model_name(info.name)
        self.update_composer()
        w.notice_bar.dismiss()
        if warning:
            self.notices.show(warning, "warning", [OPEN_MODELS])
        w.settings.last_model = info.path
        w.preferences.save_settings()
        w.controller.measure_context()

    def _show_remote(self, info: ModelInfo) -> None:
        """The endpoint's model in the status bar and the chat; the local model is unloaded."""
        w = self.window
        self.loaded_name = None
        w.model_pages.set_loaded(None)
        w.status.set_model(f"{info.name} · {info.remote}", info.plan.summary(), remote=True)
        n_ctx = info.plan.n_ctx
        size = f"{context_label(n_ctx)} context" if n_ctx else "context not reported"
        w.status.set_device(
            f"Remote server · {size}",
            f"Replies come from {info.path}; what you type in chats is sent there.",
        )
        w.chat_view.set_context(w.view_context())
        w.chat_view.empty_state.set_remote(info.name, info.remote)
        self.update_composer()
        w.notice_bar.dismiss()
        note = self.remote.take_key_note()
        if note:
            self.notices.show(note, "warning")
        w.controller.measure_context()

    @Slot()
    def _on_cancelled(self) -> None:
        """Not an error: the window goes back to having no model (the engine thread freed the
        previous one before loading) and says how to choose one."""
        self._show_unloaded()
        self.notices.show("Load cancelled; no model loaded.", "info", [OPEN_MODELS])

    @Slot(object)
    def _on_failed(self, error: UserFacingError) -> None:
        self._show_unloaded()
        if self.remote_request is not None:
            self.notices.report(error, "connecting to the server", actions=[CONNECT_SERVER])
            return
        if isinstance(error, DraftModelError):  # the same model loads without the draft
            refused = DraftModelError(error.message, REFUSED_HINT)
            self.notices.report(refused, "loading the model", actions=[LOAD_WITH_LOOKUP])
            return
        # The planner's refusal comes with the loads that fit (buttons: the bridge handles
        # "load" actions); any other failure offers the Models page and another file.
        extra = [OPEN_MODELS] if load_actions(error) else [OPEN_MODELS, CHOOSE_FILE]
        self.notices.report(error, "loading the model", text=refusal_text(error), actions=extra)

    def _show_unloaded(self) -> None:
        w = self.window
        self.loaded_name = None
        w.model_pages.set_loaded(None)
        w.status.set_model(None)
        w.chat_view.empty_state.set_model_name(None)
        self.update_composer()

    def load_alternative(self, action: Action) -> None:
        """Load again with what the planner's "load" ``action`` says fits, or with its
        ``draft`` choice (saved as the installed model's settings)."""
        if self.request is None:
            return
        path, options = self.request
        if action.get("draft"):
            changes = {"draft": action.get("draft")}
        else:
            changes = {"n_ctx": action.get("n_ctx") or options.n_ctx}
        if action.get("kv_cache_type"):
            changes["kv_cache_type"] = action.get("kv_cache_type")
        installed = self.registry.find_by_path(path)
        if installed is not None:
            try:
                settings = replace(installed.settings, **changes)
                self.registry.update(installed.name, settings=settings)
            except (ModelsError, OSError, ValueError) as exc:  # the load is still worth trying
                self.notices.report(exc, "saving the load settings", kind="warning")
        self.load(path, replace(options, **changes))
