"""The user's choice between this computer and a remote endpoint: the "Connect to a server"
dialog, the endpoint kept in ``remote.json`` (address and model) and its API key in the OS
keyring (or this session only, said so), and connecting at start when the endpoint was in use.
Nothing is sent anywhere until the user sets an endpoint. Keys are read from and written to the
keyring on the window's keyring lane, never on the GUI thread (a locked keyring's unlock prompt
would freeze it): the dialog's key field fills in when read, and connecting waits for it."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot

from app import secrets
from app.errors import Action, UserFacingError
from app.remote import EndpointChoice, KeyChain, choice_path, load_choice, save_choice
from app.ui.common.jobs import Job
from app.ui.common.notices import guarded

from .remote_dialog import ConnectDialog

if TYPE_CHECKING:
    from .main_window import MainWindow
    from .model_loading import ModelLoading

CONNECT_SERVER = Action("connect-server", "Connect to a server…")
NOT_REMEMBERED = (
    "This computer has no keyring, so the API key is kept only until you quit QwQ Desktop; "
    "you will be asked for it again next time."
)


class RemoteConnection(QObject):
    """Owns the endpoint choice of ``window``; ``loading`` connects and shows the result."""

    def __init__(self, window: MainWindow, loading: ModelLoading) -> None:
        super().__init__(loading)
        self.window = window
        self.loading = loading
        self.notices = window.notices
        self.path = choice_path(window.paths.config_dir)
        self.choice: EndpointChoice | None = load_choice(self.path)
        self.keys = KeyChain()
        self.dialog: ConnectDialog | None = None
        self.dialog_key_job: Job | None = None  # the dialog's key, being read
        self.connect_job: Job | None = None  # the key to connect with, being read
        self.key_note: str | None = None  # said once connected (a connection clears notices)
        window.notice_bar.actionTriggered.connect(self._on_notice_action)

    @property
    def active(self) -> bool:
        """The user chose an endpoint (not this computer)."""
        return self.choice is not None and self.choice.active

    @property
    def connecting(self) -> bool:
        """Waiting for the endpoint's key before connecting."""
        return self.connect_job is not None

    @Slot()
    @guarded("opening the server connection")
    def show_dialog(self) -> None:
        """Open the dialog on the saved choice (its key read from the keyring)."""
        if self.dialog is not None:
            self.dialog.raise_()
            self.dialog.activateWindow()
            return
        choice = self.choice
        self.dialog = ConnectDialog(
            choice, keyring=secrets.available(), key_pending=choice is not None, parent=self.window
        )
        if choice is not None:
            job = self.dialog_key_job = self._read_key(choice.url)
            job.finished.connect(self.dialog.key_field.read)
            job.errored.connect(self.dialog.key_field.unreadable)
        self.dialog.accepted.connect(self._on_accepted)
        self.dialog.finished.connect(self._on_dialog_closed)
        self.dialog.open()

    @Slot()
    @guarded("connecting to the server")
    def _on_accepted(self) -> None:
        dialog = self.dialog
        if dialog is not None:
            self.apply(dialog.choice(), dialog.api_key())

    @Slot()
    def _on_dialog_closed(self) -> None:
        dialog, self.dialog = self.dialog, None
        self._drop(self.dialog_key_job)
        self.dialog_key_job = None
        if dialog is not None:
            dialog.deleteLater()

    def apply(self, choice: EndpointChoice | None, api_key: str | None = "") -> None:
        """Use ``choice`` (None: this computer), saving it and its key, and connect.
        ``api_key`` None: the saved key, read from the keyring first."""
        if choice is None:
            self.use_this_computer()
            self.loading.use_local()
            return
        self._save(choice)
        self.key_note = None
        if api_key is not None:
            self._store_key(choice.url, api_key)
        self.connect(api_key)

    def _store_key(self, url: str, key: str) -> None:
        """Keep ``key`` for ``url`` (the keyring lane; said when it lasts the session only)."""
        job = self.window.keyring.submit(
            Job(lambda job: self.keys.save(url, key), "keeping the server's API key")
        )
        job.finished.connect(self._on_key_stored)
        job.errored.connect(self._on_key_not_stored)

    @Slot(object)
    def _on_key_stored(self, saved: bool) -> None:
        if not saved:
            self._key_warning(NOT_REMEMBERED)

    @Slot(object)
    def _on_key_not_stored(self, error: UserFacingError) -> None:
        """A locked keyring: the key is kept for this session (``KeyChain``)."""
        self._key_warning(f"{error.text()} The API key is kept until you quit.")

    def _key_warning(self, note: str) -> None:
        """Said now, and again once connected (a connection clears the notices)."""
        self.notices.show(note, "warning")
        self.key_note = note if self.window.engine.loading else None

    def take_key_note(self) -> str | None:
        """The warning about the key to repeat once connected (given once)."""
        note, self.key_note = self.key_note, None
        return note

    def connect(self, api_key: str | None = None) -> None:
        """Connect to the chosen endpoint (the loaded model is replaced) with ``api_key``;
        None: once its saved key is read from the keyring (the chat says it is connecting)."""
        self._drop_connecting()
        choice = self.choice
        if choice is None:
            return
        if api_key is not None:
            self.loading.connect(choice.endpoint(api_key))
            return
        host = choice.endpoint().host
        self.window.composer.set_can_send(False, f"Connecting to {host}…")
        self.window.chat_view.empty_state.set_remote(None, host)
        job = self.connect_job = self._read_key(choice.url)
        job.finished.connect(partial(self._connect_with, choice))
        job.errored.connect(partial(self._connect_with, choice, None))

    def _connect_with(self, choice: EndpointChoice, key: str | None, error=None) -> None:
        """The key is read (None: none, or the keyring refused, said): connect, unless
        another choice was made meanwhile."""
        self.connect_job = None
        if choice is self.choice:
            self.loading.connect(choice.endpoint(key))

    def _drop_connecting(self) -> None:
        """Forget a connection waiting for its key (another choice replaces it)."""
        job, self.connect_job = self.connect_job, None
        if job is not None:
            self._drop(job)
            self.loading.update_composer()

    def use_this_computer(self) -> None:
        """Remember that models run here (the endpoint's address is kept for next time)."""
        self._drop_connecting()
        if self.active:
            self._save(replace(self.choice, active=False))

    def _save(self, choice: EndpointChoice) -> None:
        self.choice = choice
        try:
            save_choice(self.path, choice)
        except OSError as exc:
            self.notices.report(exc, kind="warning", text=f"Could not save the server ({exc}).")

    def _read_key(self, url: str) -> Job:
        """Read the key of ``url`` on the keyring lane; a keyring that refuses is a warning
        (the job's ``errored`` follows, for the caller to go on without the key)."""
        job = self.window.keyring.submit(
            Job(lambda job: self.keys.load(url), "reading the server's API key")
        )
        job.errored.connect(self._on_key_failed)
        return job

    @Slot(object)
    def _on_key_failed(self, error: UserFacingError) -> None:
        self.notices.report(error, kind="warning")

    @staticmethod
    def _drop(job: Job | None) -> None:
        if job is not None:
            job.discard()

    @Slot(object)
    @guarded("doing what the notice offered")
    def _on_notice_action(self, action: Action) -> None:
        if action.kind == CONNECT_SERVER.kind:
            self.show_dialog()

    def shutdown(self) -> None:
        self._drop(self.connect_job)
        if self.dialog is not None:
            self.dialog.shutdown()
