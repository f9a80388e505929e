"""The user's choice between this computer and a remote endpoint: the "Connect to a server"
dialog, the endpoint kept in ``remote.json`` (address and model) and its API key in the OS
keyring (or this session only, said so), and connecting at start when the endpoint was in use.
Nothing is sent anywhere until the user sets an endpoint."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot

from app import secrets
from app.errors import Action, UserFacingError
from app.remote import EndpointChoice, KeyChain, choice_path, load_choice, save_choice
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
        self.key_note: str | None = None  # said once connected (a connection clears notices)
        window.notice_bar.actionTriggered.connect(self._on_notice_action)

    @property
    def active(self) -> bool:
        """The user chose an endpoint (not this computer)."""
        return self.choice is not None and self.choice.active

    @Slot()
    @guarded("opening the server connection")
    def show_dialog(self) -> None:
        """Open the dialog on the saved choice (its key read from the keyring)."""
        if self.dialog is not None:
            self.dialog.raise_()
            self.dialog.activateWindow()
            return
        key = self._key(self.choice.url) if self.choice is not None else None
        self.dialog = ConnectDialog(
            self.choice, key, keyring=secrets.available(), parent=self.window
        )
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
        if dialog is not None:
            dialog.deleteLater()

    def apply(self, choice: EndpointChoice | None, api_key: str = "") -> None:
        """Use ``choice`` (None: this computer), saving it and its key, and connect."""
        if choice is None:
            self.use_this_computer()
            self.loading.use_local()
            return
        self._save(choice)
        self.key_note = None
        try:
            if not self.keys.save(choice.url, api_key):
                self.key_note = NOT_REMEMBERED
        except UserFacingError as exc:  # a locked keyring: kept for this session
            self.key_note = f"{exc.text()} The API key is kept until you quit."
        if self.key_note:
            self.notices.show(self.key_note, "warning")
        self.connect()

    def take_key_note(self) -> str | None:
        """The warning about the key to repeat once connected (given once)."""
        note, self.key_note = self.key_note, None
        return note

    def connect(self) -> None:
        """Connect to the chosen endpoint (the loaded model is replaced)."""
        if self.choice is None:
            return
        self.loading.connect(self.choice.endpoint(self._key(self.choice.url)))

    def use_this_computer(self) -> None:
        """Remember that models run here (the endpoint's address is kept for next time)."""
        if self.active:
            self._save(replace(self.choice, active=False))

    def _save(self, choice: EndpointChoice) -> None:
        self.choice = choice
        try:
            save_choice(self.path, choice)
        except OSError as exc:
            self.notices.report(exc, kind="warning", text=f"Could not save the server ({exc}).")

    def _key(self, url: str) -> str | None:
        try:
            return self.keys.load(url)
        except UserFacingError as exc:
            self.notices.report(exc, kind="warning")
            return None

    @Slot(object)
    @guarded("doing what the notice offered")
    def _on_notice_action(self, action: Action) -> None:
        if action.kind == CONNECT_SERVER.kind:
            self.show_dialog()

    def shutdown(self) -> None:
        if self.dialog is not None:
            self.dialog.shutdown()
