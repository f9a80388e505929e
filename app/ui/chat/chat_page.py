"""The chat page of the main window: the conversation's title bar (``ChatHeader``, with its
settings button), the window's notice bar, the conversation (``ChatView``) and the composer
below it, centred in a column no wider than ``COLUMN_MAX_WIDTH``. Files dropped on the page
are announced as ``filesDropped(paths)`` (the window adds them to the chat's documents)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from app.ui.common.notices import NoticeBar

from .chat_view import COLUMN_MAX_WIDTH, ChatView
from .composer import Composer
from .message_sections import ViewContext


class ChatHeader(QFrame):
    """Title of the open conversation and its settings button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatHeader")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(20, 8, 12, 8)
        self.title = QLabel("New chat", self)
        self.title.setObjectName("ChatTitle")
        self.title.setAccessibleName("Conversation title")
        layout.addWidget(self.title, 1)
        self.settings_button = QToolButton(self)
        self.settings_button.setObjectName("ActionButton")
        self.settings_button.setText("Chat settings")
        self.settings_button.setAccessibleName("Settings of this conversation")
        self.settings_button.setToolTip("System prompt and sampling for this chat (Ctrl+,)")
        layout.addWidget(self.settings_button)

    def add_widget(self, widget: QWidget) -> None:
        """Put another control (the documents button) before the settings button."""
        layout = self.layout()
        layout.insertWidget(layout.indexOf(self.settings_button), widget)


class ChatPage(QWidget):
    """Header, notice bar, conversation and composer, top to bottom."""

    filesDropped = Signal(list)  # local file or folder paths dropped on the chat

    def __init__(self, context: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatSurface")
        self.setAcceptDrops(True)
        # a QWidget subclass paints its style sheet background only when asked to
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        self.header = ChatHeader(self)
        column.addWidget(self.header)
        self.notice_bar = NoticeBar(self)
        notice_row = QHBoxLayout()
        notice_row.setContentsMargins(24, 10, 24, 0)
        notice_row.addWidget(self.notice_bar)
        column.addLayout(notice_row)
        self.chat_view = ChatView(context, self)
        column.addWidget(self.chat_view, 1)
        composer_row = QHBoxLayout()
        composer_row.setContentsMargins(24, 6, 24, 14)
        composer_row.addStretch(1)
        self.composer = Composer(self)
        self.composer.setMaximumWidth(COLUMN_MAX_WIDTH)
        composer_row.addWidget(self.composer, 100)
        composer_row.addStretch(1)
        column.addLayout(composer_row)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        paths = local_paths(event.mimeData())
        if not paths:
            super().dropEvent(event)
            return
        event.acceptProposedAction()
        self.filesDropped.emit(paths)


def local_paths(mime) -> list[str]:
    """The local files and folders of a drag's data (URLs that are not files are ignored)."""
    if mime is None or not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
