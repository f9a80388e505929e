"""Read-only text views that grow with their content, for use inside the chat's scroll area."""

from __future__ import annotations

import math

from PySide6.QtCore import QSizeF, Qt, QUrl, Slot
from PySide6.QtGui import QTextCursor, QTextOption, QWheelEvent
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser, QWidget


class RichTextView(QTextBrowser):
    """A frameless, transparent QTextBrowser whose height follows its document.

    With ``max_height`` the view stops growing there and scrolls inside (used for thinking).
    Links are not followed by the view itself: connect ``anchorClicked``. Tab moves through
    the links before leaving the view; ``set_link_descriptions`` makes the accessible
    description name the link highlighted (by Tab or the mouse).
    """

    def __init__(self, parent: QWidget | None = None, *, max_height: int | None = None) -> None:
        super().__init__(parent)
        self._max_height = max_height
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAsNeeded
            if max_height
            else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        self.setTabChangesFocus(True)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.viewport().setAutoFillBackground(False)
        self.setStyleSheet("QTextBrowser { background: transparent; border: none; }")
        self.document().setDocumentMargin(0)
        self.document().documentLayout().documentSizeChanged.connect(self._fit_to_document)
        self.setFixedHeight(self._height_for(self.document().size()))
        self._description = ""
        self._link_descriptions: dict[str, str] = {}
        self.highlighted.connect(self._on_highlighted)

    def set_link_descriptions(self, default: str, links: dict[str, str]) -> None:
        """The accessible description: ``links[url]`` while that link is highlighted, else
        ``default``."""
        self._description, self._link_descriptions = default, dict(links)
        if self.accessibleDescription() != default:
            self.setAccessibleDescription(default)

    @Slot(QUrl)
    def _on_highlighted(self, url: QUrl) -> None:
        self._describe(url.toString())

    def _describe(self, href: str) -> None:
        text = self._link_descriptions.get(href, self._description)
        if self.accessibleDescription() != text:
            self.setAccessibleDescription(text)

    def focusNextPrevChild(self, next: bool) -> bool:
        """Tab: the next link (QTextBrowser selects it), then the next widget."""
        moved = super().focusNextPrevChild(next)
        cursor = self.textCursor()
        self._describe(cursor.charFormat().anchorHref() if cursor.hasSelection() else "")
        return moved

    def focusOutEvent(self, event) -> None:
        self._describe("")
        super().focusOutEvent(event)

    def _height_for(self, size: QSizeF) -> int:
        margins = self.contentsMargins()
        height = math.ceil(size.height()) + margins.top() + margins.bottom()
        if self._max_height:
            height = min(height, self._max_height)
        return max(height, 1)

    def _fit_to_document(self, size: QSizeF) -> None:
        height = self._height_for(size)
        if height != self.height():
            self.setFixedHeight(height)

    def append_plain(self, text: str) -> None:
        """Append plain text at the end (cheap: no re-layout of earlier text)."""
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        if at_bottom:
            bar.setValue(bar.maximum())

    def wheelEvent(self, event: QWheelEvent) -> None:
        """Let the chat scroll unless this view can scroll itself (thinking box)."""
        bar = self.verticalScrollBar()
        if self._max_height and bar.maximum() > 0:
            super().wheelEvent(event)
        else:
            event.ignore()
