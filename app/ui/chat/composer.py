"""The message composer: Enter sends, Shift+Enter adds a line, Stop while a reply streams."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFontMetrics, QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

MAX_VISIBLE_LINES = 10


class ComposerInput(QPlainTextEdit):
    """A text box that grows with its text; Enter submits, Shift+Enter inserts a newline."""

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ComposerInput")
        self.setAccessibleName("Message")
        self.setPlaceholderText("Message the model…  (Enter to send, Shift+Enter for a new line)")
        self.setTabChangesFocus(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._fit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        shift = event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        if enter and not shift:
            self.submitted.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    @Slot()
    def _fit(self) -> None:
        metrics = QFontMetrics(self.font())
        total = int(self.document().size().height())
        lines = max(1, min(MAX_VISIBLE_LINES, total))
        self.setVerticalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAsNeeded
            if total > MAX_VISIBLE_LINES
            else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        margins = self.contentsMargins()
        doc_margin = self.document().documentMargin()
        height = lines * metrics.lineSpacing() + 2 * doc_margin + margins.top() + margins.bottom()
        self.setFixedHeight(int(height))


class Composer(QFrame):
    """Input plus a Send/Stop button."""

    sendRequested = Signal(str)
    stopRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ComposerFrame")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(14, 10, 10, 10)
        outer.setSpacing(4)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.input = ComposerInput(self)
        self.input.submitted.connect(self._on_submitted)
        self.input.textChanged.connect(self._update_button)
        row.addWidget(self.input, 1)
        self.button = QPushButton("Send", self)
        self.button.setObjectName("PrimaryButton")
        self.button.setAccessibleName("Send message")
        self.button.clicked.connect(self._on_button)
        row.addWidget(self.button, 0, Qt.AlignmentFlag.AlignBottom)
        outer.addLayout(row)
        self.hint = QLabel(self)
        self.hint.setObjectName("ComposerHint")
        self.hint.setVisible(False)
        outer.addWidget(self.hint)
        self._generating = False
        self._can_send = True
        self._update_button()

    @property
    def generating(self) -> bool:
        return self._generating

    def text(self) -> str:
        return self.input.toPlainText()

    def set_generating(self, generating: bool) -> None:
        """Switch the button between Send and Stop."""
        self._generating = generating
        self.button.setObjectName("StopButton" if generating else "PrimaryButton")
        self.button.setText("Stop" if generating else "Send")
        self.button.setAccessibleName("Stop generating" if generating else "Send message")
        self.button.setToolTip("Stop generating (Esc)" if generating else "Send (Enter)")
        self.button.style().unpolish(self.button)
        self.button.style().polish(self.button)
        self._update_button()

    def set_can_send(self, can_send: bool, why_not: str = "") -> None:
        """Whether sending is possible now (e.g. no model loaded), with the reason shown."""
        self._can_send = can_send
        self.hint.setText(why_not)
        self.hint.setVisible(bool(why_not) and not can_send)
        self._update_button()

    @Slot()
    def _update_button(self) -> None:
        if self._generating:
            self.button.setEnabled(True)
        else:
            self.button.setEnabled(self._can_send and bool(self.text().strip()))

    @Slot()
    def _on_submitted(self) -> None:
        if not self._generating:
            self._send()

    @Slot()
    def _on_button(self) -> None:
        if self._generating:
            self.stopRequested.emit()
        else:
            self._send()

    def _send(self) -> None:
        text = self.text().strip()
        if not text or not self._can_send:
            return
        self.input.clear()
        self.sendRequested.emit(text)
