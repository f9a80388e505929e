"""How every message and error reaches the user: ``NoticeBridge`` -> ``NoticeBar``.

* ``Notice``: what to show (text, kind, actions as buttons, details for a bug).
* ``NoticeBridge``: the one channel. ``report(exc, doing)`` turns any exception into a notice
  (expected errors with their hint and the actions the owner can perform, bugs with a
  "Details" section holding the traceback, never a bare traceback); ``show(text, kind,
  actions)`` posts a message. Each surface (the main window, a model page, the Hub dialog) owns
  one and shows what it posts on its ``NoticeBar``.
* ``guarded(doing)``: a slot decorator; an exception escaping the slot is reported through
  ``self.notices`` instead of ending on stderr.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import Action, UserFacingError, as_user_error

log = logging.getLogger(__name__)

# Actions the GUI itself offers on notices (the planner's "load" actions come with errors).
OPEN_MODELS = Action("open-models", "Models…")
CHOOSE_MODEL = Action("open-models", "Choose a model…")
CHOOSE_FILE = Action("choose-file", "Choose a file…")
RELOAD_MODEL = Action("reload-model", "Reload now")


@dataclass(frozen=True)
class Notice:
    """A message for the user: ``kind`` is "info", "warning" or "error"; ``actions`` become
    buttons; ``details`` (a bug's traceback) sits behind a "Details" button."""

    text: str
    kind: str = "info"
    actions: tuple[Action, ...] = ()
    details: str | None = None


class NoticeBridge(QObject):
    """The channel through which messages and errors reach the user (``posted(Notice)``).

    ``handles``: the action kinds the owner performs; an error's other actions stay words."""

    posted = Signal(object)  # Notice

    def __init__(self, parent: QObject | None = None, *, handles: Iterable[str] = ()) -> None:
        super().__init__(parent)
        self.handles = frozenset(handles)
        self.last: Notice | None = None

    def post(self, notice: Notice) -> None:
        self.last = notice
        self.posted.emit(notice)

    def show(self, text: str, kind: str = "info", actions: Iterable[Action] = ()) -> None:
        self.post(Notice(text, kind, tuple(actions)))

    def report(
        self,
        exc: BaseException,
        doing: str = "doing that",
        *,
        kind: str = "error",
        text: str | None = None,
        actions: Iterable[Action] = (),
    ) -> UserFacingError:
        """Show ``exc`` (any exception; ``doing`` completes "Unexpected error while …") with
        the error's actions this bridge's owner handles, then ``actions``; returns the error.
        ``text`` replaces the error's own wording (message and hint)."""
        error = as_user_error(exc, doing)
        if not error.expected:
            log.error("%s\n%s", error.message, error.details or "")
        own = tuple(a for a in error.actions if a.kind in self.handles)
        self.post(Notice(text or error.text(), kind, own + tuple(actions), error.details))
        return error


def guarded(doing: str) -> Callable:
    """Decorate a slot of an object with a ``notices`` bridge: an exception escaping it is
    reported there (``doing``: "renaming the chat"). Put it under ``@Slot``. The slot keeps
    ``__guarded__`` (``doing``) and calls its ``__wrapped__`` (tests replace it to force a
    failure through the real wiring)."""

    def wrap(method: Callable) -> Callable:
        @functools.wraps(method)
        def run(self, *args, **kwargs):
            try:
                return run.__wrapped__(self, *args, **kwargs)
            except Exception as exc:  # a slot must not fail silently
                self.notices.report(exc, doing)
                return None

        run.__guarded__ = doing
        return run

    return wrap


class NoticeBar(QFrame):
    """A dismissible message with its actions as buttons and, for a bug, a "Details" button
    that shows the traceback below. ``actionTriggered(Action)`` says which was chosen."""

    actionTriggered = Signal(object)  # Action

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NoticeBar")
        self.setProperty("kind", "info")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 8, 6, 8)
        outer.setSpacing(6)
        layout = QHBoxLayout()
        outer.addLayout(layout)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setAccessibleName("Notice")
        layout.addWidget(self.label, 1)
        # One action sits beside the text; several go on a row below it, so they never
        # squeeze the text into a narrow column.
        self._inline_row = QHBoxLayout()
        self._inline_row.setSpacing(6)
        layout.addLayout(self._inline_row)
        self._below_row = QHBoxLayout()
        self._below_row.setSpacing(6)
        self._below_row.addStretch(1)
        self._buttons: list[QPushButton] = []
        self.action = self._new_button()  # the first action's button
        self.details_button = QToolButton(self)
        self.details_button.setObjectName("ActionButton")
        self.details_button.setText("Details")
        self.details_button.setCheckable(True)
        self.details_button.setAccessibleName("Show the details of this error")
        self.details_button.toggled.connect(self._on_details_toggled)
        layout.addWidget(self.details_button)
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("ActionButton")
        self.close_button.setText("✕")
        self.close_button.setAccessibleName("Dismiss notice")
        self.close_button.clicked.connect(self.dismiss)
        layout.addWidget(self.close_button)
        outer.addLayout(self._below_row)
        self.details = QPlainTextEdit(self)
        self.details.setReadOnly(True)
        self.details.setAccessibleName("Error details")
        self.details.setMaximumHeight(160)
        outer.addWidget(self.details)
        self._actions: list[Action] = []
        self.notice: Notice | None = None
        self.details.hide()
        self.details_button.hide()
        self.hide()

    def _new_button(self) -> QPushButton:
        button = QPushButton(self)
        button.setAccessibleName("Notice action")  # until a notice gives it a label
        button.clicked.connect(self._on_action)
        self._inline_row.addWidget(button)
        self._buttons.append(button)
        return button

    def _place_buttons(self, below: bool) -> None:
        for button in self._buttons:
            self._inline_row.removeWidget(button)
            self._below_row.removeWidget(button)
            if below:
                self._below_row.insertWidget(self._below_row.count() - 1, button)
            else:
                self._inline_row.addWidget(button)

    @property
    def kind(self) -> str:
        return str(self.property("kind"))

    def text(self) -> str:
        return self.label.text()

    def buttons(self) -> list[QPushButton]:
        """The action buttons shown now, in order."""
        return [b for b in self._buttons if not b.isHidden()]

    @Slot(object)
    def show_notice(self, notice: Notice) -> None:
        """Show ``notice`` in place of the one shown."""
        self.notice = notice
        self.setProperty("kind", notice.kind)
        self._actions = list(notice.actions)
        while len(self._buttons) < len(self._actions):
            self._new_button()
        self._place_buttons(below=len(self._actions) > 1)
        for i, button in enumerate(self._buttons):
            label = self._actions[i].label if i < len(self._actions) else ""
            button.setText(label)
            button.setAccessibleName(label or "Notice action")
            button.setVisible(bool(label))
        self.details_button.setChecked(False)
        self.details_button.setVisible(bool(notice.details))
        self.details.setPlainText(notice.details or "")
        for child in (self, self.label, *self.buttons()):
            child.style().unpolish(child)
            child.style().polish(child)
        self.label.setText(notice.text)
        self.show()

    @Slot()
    def dismiss(self) -> None:
        self.hide()

    @Slot(bool)
    def _on_details_toggled(self, shown: bool) -> None:
        self.details.setVisible(shown)

    @Slot()
    def _on_action(self) -> None:
        sender = self.sender()
        index = self._buttons.index(sender) if sender in self._buttons else -1
        if not 0 <= index < len(self._actions):
            return
        action = self._actions[index]
        self.hide()
        self.actionTriggered.emit(action)
