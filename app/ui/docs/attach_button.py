"""The chat header's "Documents" button: which collections the open chat answers from.

Its menu lists every collection as a checkable entry (checked: attached to this chat) and
"Manage documents…"; a change is announced as ``attachedChanged(names)`` and persisted by
whoever owns the conversation (the chat controller, through the store).
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from .manager import DocsManager


class CollectionsButton(QToolButton):
    """A header button with a menu of collections to attach."""

    attachedChanged = Signal(list)  # the collection names attached now, in order
    manageRequested = Signal()

    def __init__(self, manager: DocsManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self.attached: list[str] = []
        self.setObjectName("ActionButton")
        self.setAccessibleName("Documents used by this chat")
        self.setToolTip("Answer from your documents: attach collections to this chat")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu_ = QMenu(self)
        self.menu_.aboutToShow.connect(self.rebuild_menu)
        self.setMenu(self.menu_)
        self._update_text()

    def set_attached(self, names: list[str]) -> None:
        """Show the open chat's collections (no signal)."""
        self.attached = list(names)
        self._update_text()

    def toggle(self, name: str, on: bool) -> None:
        """Attach or detach ``name`` and announce the new list."""
        names = [n for n in self.attached if n != name] + ([name] if on else [])
        self.set_attached(names)
        self.attachedChanged.emit(list(names))

    def _update_text(self) -> None:
        n = len(self.attached)
        self.setText(f"Documents ({n})" if n else "Documents")
        if n:
            self.setToolTip("Answering from: " + ", ".join(self.attached))

    @Slot()
    def rebuild_menu(self) -> None:
        self.menu_.clear()
        names = self.manager.names()
        if not names:
            empty = self.menu_.addAction("No collections yet")
            empty.setEnabled(False)
        for name in names:
            action = QAction(name, self.menu_)
            action.setCheckable(True)
            action.setChecked(name in self.attached)
            action.setData(name)
            action.toggled.connect(self._on_toggled)
            self.menu_.addAction(action)
        self.menu_.addSeparator()
        manage = self.menu_.addAction("Manage documents…")
        manage.triggered.connect(self.manageRequested)

    @Slot(bool)
    def _on_toggled(self, on: bool) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.toggle(action.data(), on)
