"""The local API server inside the app: switched on and off from the settings, serving the
model loaded in the window through the engine's one queue (``EngineSession.gate``), its
requests fed to the request log.

* Starting (importing Starlette and uvicorn, binding the port) and stopping (ending the
  server's turns, joining its threads) run on their own lane, never on the GUI thread; a port
  in use or a refused address comes back as a notice. The ``ApiServer`` lives on that lane.
* The server calls back from its own thread; the records cross to the GUI thread as queued
  signals into a bounded ``RequestLogModel``.
* The key is kept in the OS keyring (``app.secrets``); where there is none, for this session
  only, and the user is told. It is read and written on the window's keyring lane (a locked
  keyring's unlock prompt never freezes the window): the server starts once it is read.
* Which waits for which: one reply at a time, in arrival order. A chat turn sent in the app
  while an API reply is being written waits for it; API requests wait for the app's turn (at
  most the server's queue limit, then 429 with Retry-After). Loading another model stops an
  API reply on the old one; without a model the API answers 503.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from app import secrets
from app.errors import UserFacingError
from app.server import ApiServer, RequestRecord, ServerConfig, ServerError
from app.server.gate import API_TURN
from app.settings import AppSettings
from app.ui.common.jobs import Job, JobLane
from app.ui.common.notices import guarded

from .api_request_log import RequestLogDialog, RequestLogModel

if TYPE_CHECKING:
    from .main_window import MainWindow

KEY_NAME = "local-api-server-key"
STOP_TIMEOUT_S = 10
WAITING = (
    "The model is writing a reply for an API client; yours starts as soon as that one ends "
    "(the status bar shows the requests running)."
)
NOT_REMEMBERED = (
    "This computer has no keyring, so the API server's key is kept only until you quit QwQ "
    "Desktop; set it again next time."
)


class ServerKey:
    """The server's API key: held here for the session, kept in the OS keyring. The keyring
    is read (once) and written on the window's keyring lane (``read``, ``store``), never on
    the GUI thread, where an unlock prompt would freeze the window."""

    def __init__(self) -> None:
        self.known = False  # read from the keyring already, or set in this session
        self.value: str | None = None  # once known (None: there is none)

    @staticmethod
    def read(job: Job | None = None) -> str | None:
        """The keyring's key (worker thread). SecretStoreError when the keyring refuses."""
        return secrets.load_secret(KEY_NAME)

    @staticmethod
    def store(key: str, job: Job | None = None) -> bool:
        """Keep ``key`` in the keyring, forget it when empty (worker thread); False when
        there is no keyring. SecretStoreError when the keyring refuses."""
        if not key:
            secrets.delete_secret(KEY_NAME)
            return True
        return secrets.save_secret(KEY_NAME, key)

    def loaded(self, value: str | None) -> None:
        """What ``read`` found (a key set meanwhile wins)."""
        if not self.known:
            self.known, self.value = True, value

    def set(self, key: str) -> None:
        """The key from now on (empty: none)."""
        self.known, self.value = True, key or None


class ApiServerController(QObject):
    """Runs the window's API server as the settings say (see the module's docstring)."""

    stateChanged = Signal(object)  # the server's base URL, or None when it is off
    _record = Signal(object)  # RequestRecord, from the server's thread
    _stopped = Signal(object)  # ServerError | None, from the server's thread

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.notices = window.notices
        self.gate = window.engine.gate
        self.key = ServerKey()
        self.keyring = window.keyring
        self.key_job: Job | None = None  # reading the key from the keyring
        self._after_key: AppSettings | None = None  # applied once the key is read
        self.lane = JobLane("ApiServerThread", self)
        self.log = RequestLogModel(parent=self)
        self.dialog: RequestLogDialog | None = None
        self.url: str | None = None
        self._server: ApiServer | None = None  # touched only in the lane's thread
        self._wanted: ServerConfig | None = None
        self._job: Job | None = None
        self._record.connect(self._on_record)
        self._stopped.connect(self._on_stopped)
        self.log.rowsInserted.connect(self._show_state)
        self.log.dataChanged.connect(self._show_state)
        self.stateChanged.connect(self._show_state)
        window.controller.generatingChanged.connect(self._on_chat_generating)

    @property
    def running(self) -> bool:
        return self.url is not None

    # -- settings (GUI thread) ---------------------------------------------------------------
    def read_key(self) -> Job | None:
        """Read the key from the keyring off the GUI thread, once: the job (its ``finished``
        carries the key, ``errored`` the keyring's refusal), or None when the key is known."""
        if self.key.known:
            return None
        if self.key_job is None:
            job = self.keyring.submit(Job(ServerKey.read, "reading the API server's key"))
            job.finished.connect(self._on_key_read)
            job.errored.connect(self._on_key_failed)
            self.key_job = job
        return self.key_job

    @Slot(object)
    def _on_key_read(self, key: str | None) -> None:
        self.key_job = None
        self.key.loaded(key)
        settings, self._after_key = self._after_key, None
        if settings is not None:
            self.apply(settings)

    @Slot(object)
    def _on_key_failed(self, error: UserFacingError) -> None:
        """A keyring that refuses: said; a server waiting for the key stays off."""
        self.key_job = None
        starting, self._after_key = self._after_key is not None, None
        self.notices.report(error, kind="error" if starting else "warning")

    def set_key(self, key: str) -> None:
        """Use the key typed in the settings from the next ``apply`` on, and keep it in the
        keyring off the GUI thread (a keyring that refuses, or none: said)."""
        if self.key_job is not None:  # what the keyring says now is out of date
            self.key_job.discard()
            self.key_job = None
        self.key.set(key)
        job = self.keyring.submit(Job(partial(ServerKey.store, key), "keeping the API key"))
        job.finished.connect(self._on_key_stored)
        job.errored.connect(self._on_key_not_stored)

    @Slot(object)
    def _on_key_stored(self, saved: bool) -> None:
        if not saved:
            self.notices.show(NOT_REMEMBERED, "warning")

    @Slot(object)
    def _on_key_not_stored(self, error: UserFacingError) -> None:
        text = f"{error.text()} The key is kept until you quit."
        self.notices.report(error, kind="warning", text=text)

    def apply(self, settings: AppSettings) -> None:
        """Start, stop or restart the server to match ``settings`` (returns at once; a server
        to start waits for its key to be read from the keyring)."""
        self._after_key = None
        wanted = None
        if settings.api_server:
            if self.read_key() is not None:
                self._after_key = settings
                return
            wanted = ServerConfig(
                host=settings.api_host.strip() or "127.0.0.1",
                port=settings.api_port,
                api_key=self.key.value or None,
                thinking_budget=settings.thinking_budget,
            )
        if _address(wanted) == _address(self._wanted):  # so already (a failure forgets it)
            if wanted is not None and self._wanted is not None:  # read at each request
                self._wanted.thinking_budget = wanted.thinking_budget
            return
        self._wanted = wanted
        if self._job is not None:
            self._job.discard()
        doing = "starting the API server" if wanted else "stopping the API server"
        self._job = self.lane.submit(Job(lambda job: self._switch(wanted), doing))
        self._job.finished.connect(self._on_switched)
        self._job.errored.connect(self._on_failed)

    # -- the lane's thread -------------------------------------------------------------------
    def _switch(self, config: ServerConfig | None) -> str | None:
        self._stop_server()
        if config is None:
            return None
        server = ApiServer(
            self.gate,
            config,
            on_request=self._record.emit,
            on_stopped=self._stopped.emit,
        )
        server.start()  # ServerStartError: a port in use, an address not of this computer
        self._server = server
        return server.url

    def _stop_server(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.on_stopped = None  # a stop asked for is no news
            server.stop(STOP_TIMEOUT_S)

    # -- results (GUI thread) ----------------------------------------------------------------
    @Slot(object)
    def _on_switched(self, url: str | None) -> None:
        self._job = None
        self.url = url
        self.stateChanged.emit(url)

    @Slot(object)
    def _on_failed(self, error: UserFacingError) -> None:
        self._job = None
        self._wanted = None
        self.url = None
        self.stateChanged.emit(None)
        self.notices.report(error)

    @Slot(object)
    def _on_stopped(self, error: ServerError | None) -> None:
        """The server stopped by itself (it failed): say so, show it off."""
        if error is None or self._job is not None:
            return
        self._wanted = None
        self.url = None
        self.stateChanged.emit(None)
        self.notices.report(error)

    @Slot(object)
    def _on_record(self, record: RequestRecord) -> None:
        self.log.add(record)

    @Slot()
    def _show_state(self) -> None:
        self.window.status.set_api_server(self.url, self.log.active)
        if self.dialog is not None:
            self.dialog.set_address(self.url)
        if not self.log.active:
            self._end_waiting_notice()

    @Slot(bool)
    def _on_chat_generating(self, generating: bool) -> None:
        """A chat turn that starts behind an API reply says why nothing comes yet."""
        if generating and self.gate.holder == API_TURN:
            self.notices.show(WAITING, "info")
        elif not generating:
            self._end_waiting_notice()

    def _end_waiting_notice(self) -> None:
        bar = self.window.notice_bar
        if bar.notice is not None and bar.notice.text == WAITING and bar.isVisible():
            bar.dismiss()

    # -- the request log ---------------------------------------------------------------------
    @Slot()
    @guarded("opening the API request log")
    def show_log(self) -> None:
        if self.dialog is None:
            self.dialog = RequestLogDialog(self.log, self.window)
        self.dialog.set_address(self.url)
        if self.dialog.isVisible():
            self.dialog.raise_()
            self.dialog.activateWindow()
        else:
            self.dialog.show()

    def shutdown(self) -> None:
        """Stop the server (its turns end) and the lane; idempotent."""
        self._wanted = None
        self.lane.shutdown(final=self._stop_server)
        self.url = None
        if self.dialog is not None:
            self.dialog.close()


def _address(config: ServerConfig | None) -> tuple | None:
    """What a running server cannot change without a restart."""
    return None if config is None else (config.host, config.port, config.api_key)
