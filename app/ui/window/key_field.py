"""An API key field whose saved key is still being read from the keyring (off the GUI thread):
it says so, fills in when the key arrives, and what the user types meanwhile wins."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QLineEdit

READING = "Reading the system keyring…"
UNREAD = "Not read from the keyring: type it to change it"


class KeyField(QObject):
    """Watches ``edit``; ``placeholder`` is what it says once the key is known."""

    def __init__(self, edit: QLineEdit, placeholder: str, *, pending: bool = False) -> None:
        super().__init__(edit)
        self.edit = edit
        self.placeholder = placeholder
        self.known = not pending
        edit.setPlaceholderText(placeholder if self.known else READING)
        edit.textEdited.connect(self.typed)

    def value(self) -> str | None:
        """The key in the field (empty: none); None while it is neither read nor typed."""
        return self.edit.text().strip() if self.known else None

    @Slot(object)
    def read(self, key: str | None) -> None:
        """The key read from the keyring, unless the user typed one meanwhile."""
        if not self.known:
            self.typed()
            self.edit.setText(key or "")

    @Slot(object)
    def unreadable(self, error: object = None) -> None:
        """The keyring refused to give the key (the window says why)."""
        if not self.known:
            self.edit.setPlaceholderText(UNREAD)

    @Slot()
    def typed(self) -> None:
        """The field's text is the key from now on."""
        self.known = True
        self.edit.setPlaceholderText(self.placeholder)
