"""The conversation sidebar: new chat, full-text search, and the list (rename, pin, delete)."""

from __future__ import annotations

import time
from dataclasses import replace

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QColor, QFont, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.store import Conversation, SearchHit
from app.ui.common.theme import Colors

ConvIdRole = Qt.ItemDataRole.UserRole + 1
PinnedRole = Qt.ItemDataRole.UserRole + 2
SubtitleRole = Qt.ItemDataRole.UserRole + 3
SEARCH_DELAY_MS = 180


def relative_time(timestamp: float, now: float | None = None) -> str:
    """A short, human time for the list: "now", "5 min", "3 h", "yesterday", "12 Mar"."""
    now = time.time() if now is None else now
    delta = max(0.0, now - timestamp)
    if delta < 60:
        return "now"
    if delta < 3600:
        return f"{int(delta // 60)} min"
    if delta < 86400:
        return f"{int(delta // 3600)} h"
    if delta < 2 * 86400:
        return "yesterday"
    if delta < 7 * 86400:
        return time.strftime("%a", time.localtime(timestamp))
    return time.strftime("%d %b", time.localtime(timestamp)).lstrip("0")


class ConversationListModel(QAbstractListModel):
    """Conversations, pinned first then most recent; titles are editable (rename)."""

    renamed = Signal(int, str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[Conversation] = []

    def set_conversations(self, conversations: list[Conversation]) -> None:
        self.beginResetModel()
        self._rows = list(conversations)
        self.endResetModel()

    def conversations(self) -> list[Conversation]:
        return list(self._rows)

    def row_of(self, conv_id: int) -> int:
        for i, conv in enumerate(self._rows):
            if conv.id == conv_id:
                return i
        return -1

    def update_conversation(self, conv: Conversation) -> None:
        row = self.row_of(conv.id)
        if row >= 0:
            self._rows[row] = conv
            index = self.index(row)
            self.dataChanged.emit(index, index)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 (Qt signature)
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        conv = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return conv.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return conv.title
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{conv.title}{', pinned' if conv.pinned else ''}"
        if role == ConvIdRole:
            return conv.id
        if role == PinnedRole:
            return conv.pinned
        if role == SubtitleRole:
            return relative_time(conv.updated_at)
        return None

    def flags(self, index):
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsEditable if index.isValid() else base

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        title = str(value).strip()
        conv = self._rows[index.row()]
        if not title or title == conv.title:
            return False
        self._rows[index.row()] = replace(conv, title=title)
        self.dataChanged.emit(index, index)
        self.renamed.emit(conv.id, title)
        return True


class ConversationDelegate(QStyledItemDelegate):
    """Rounded rows: title (elided), a pin mark, and the time on the right."""

    def __init__(self, colors: Colors, parent=None) -> None:
        super().__init__(parent)
        self.colors = colors

    def sizeHint(self, option, index) -> QSize:
        return QSize(option.rect.width(), option.fontMetrics.height() + 18)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        c = self.colors
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = option.rect.adjusted(6, 1, -6, -1)
        state = option.state
        if state & QStyle.StateFlag.State_Selected:
            painter.setBrush(QColor(c.sidebar_selected))
        elif state & QStyle.StateFlag.State_MouseOver:
            painter.setBrush(QColor(c.sidebar_hover))
        else:
            painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawRoundedRect(rect, 7, 7)
        if state & QStyle.StateFlag.State_HasFocus:
            painter.setPen(QColor(c.accent))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect.adjusted(0, 0, -1, -1), 7, 7)
        text_rect = rect.adjusted(10, 0, -10, 0)
        small = QFont(option.font)
        small.setPointSizeF(option.font.pointSizeF() * 0.85)
        painter.setFont(small)
        painter.setPen(QColor(c.muted))
        when = index.data(SubtitleRole) or ""
        when_width = painter.fontMetrics().horizontalAdvance(when)
        painter.drawText(
            text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, when
        )
        title_rect = QRect(text_rect)
        title_rect.setRight(text_rect.right() - when_width - 8)
        if index.data(PinnedRole):
            painter.setPen(QColor(c.accent))
            painter.drawText(title_rect, Qt.AlignmentFlag.AlignVCenter, "●")
            title_rect.setLeft(title_rect.left() + painter.fontMetrics().horizontalAdvance("●") + 6)
        painter.setFont(option.font)
        painter.setPen(QColor(c.text))
        title = option.fontMetrics.elidedText(
            index.data(Qt.ItemDataRole.DisplayRole) or "",
            Qt.TextElideMode.ElideRight,
            title_rect.width(),
        )
        painter.drawText(title_rect, Qt.AlignmentFlag.AlignVCenter, title)
        painter.restore()


class SearchHitModel(QAbstractListModel):
    """Search results: conversation title and the matching snippet."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._hits: list[SearchHit] = []

    def set_hits(self, hits: list[SearchHit]) -> None:
        self.beginResetModel()
        self._hits = list(hits)
        self.endResetModel()

    def hit(self, row: int) -> SearchHit:
        return self._hits[row]

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 (Qt signature)
        return 0 if parent.isValid() else len(self._hits)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        hit = self._hits[index.row()]
        snippet = " ".join((hit.snippet_text or hit.snippet).split())
        if role == Qt.ItemDataRole.DisplayRole:
            return hit.title
        if role == SubtitleRole:
            return snippet
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return f"{hit.title}: {snippet}"
        return None


class SearchHitDelegate(QStyledItemDelegate):
    """Two lines per hit: the chat's title, then the snippet (muted)."""

    def __init__(self, colors: Colors, parent=None) -> None:
        super().__init__(parent)
        self.colors = colors

    def sizeHint(self, option, index) -> QSize:
        return QSize(option.rect.width(), option.fontMetrics.height() * 2 + 22)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        c = self.colors
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = option.rect.adjusted(6, 2, -6, -2)
        if option.state & (QStyle.StateFlag.State_Selected | QStyle.StateFlag.State_MouseOver):
            painter.setBrush(QColor(c.sidebar_selected))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawRoundedRect(rect, 7, 7)
        inner = rect.adjusted(10, 6, -10, -6)
        metrics = option.fontMetrics
        line = metrics.height()
        bold = QFont(option.font)
        bold.setWeight(QFont.Weight.DemiBold)
        painter.setFont(bold)
        painter.setPen(QColor(c.text))
        title = index.data(Qt.ItemDataRole.DisplayRole) or ""
        painter.drawText(
            QRect(inner.left(), inner.top(), inner.width(), line),
            Qt.AlignmentFlag.AlignVCenter,
            metrics.elidedText(title, Qt.TextElideMode.ElideRight, inner.width()),
        )
        painter.setFont(option.font)
        painter.setPen(QColor(c.muted))
        snippet = index.data(SubtitleRole) or ""
        painter.drawText(
            QRect(inner.left(), inner.top() + line + 2, inner.width(), line),
            Qt.AlignmentFlag.AlignVCenter,
            metrics.elidedText(snippet, Qt.TextElideMode.ElideRight, inner.width()),
        )
        painter.restore()


class UndoBar(QFrame):
    """ "Deleted “title”. Undo" shown after a delete."""

    undoRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NoticeBar")
        self.setProperty("kind", "info")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        layout.addWidget(self.label, 1)
        self.button = QPushButton("Undo", self)
        self.button.setAccessibleName("Undo delete")
        self.button.clicked.connect(self._on_undo)
        layout.addWidget(self.button)
        self._conv_id: int | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self.hide()

    @property
    def conv_id(self) -> int | None:
        return self._conv_id

    def offer(self, conv_id: int, title: str, seconds: int = 12) -> None:
        self._conv_id = conv_id
        short = title if len(title) <= 32 else title[:31] + "…"
        self.label.setText(f"Deleted “{short}”.")
        self.show()
        self._timer.start(seconds * 1000)

    @Slot()
    def dismiss(self) -> None:
        self._conv_id = None
        self.hide()

    @Slot()
    def _on_undo(self) -> None:
        conv_id = self._conv_id
        self.dismiss()
        if conv_id is not None:
            self.undoRequested.emit(conv_id)


class Sidebar(QFrame):
    """New chat button, search field, conversation list (or search results), undo bar."""

    newRequested = Signal()
    conversationSelected = Signal(int)
    renameRequested = Signal(int, str)
    pinRequested = Signal(int, bool)
    deleteRequested = Signal(int)
    undoDeleteRequested = Signal(int)
    searchRequested = Signal(str)
    hitActivated = Signal(int, int)  # conversation id, message id

    def __init__(self, colors: Colors, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Sidebar")
        self.setMinimumWidth(220)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 12, 10, 10)
        layout.setSpacing(10)

        self.new_button = QPushButton("+  New chat", self)
        self.new_button.setObjectName("PrimaryButton")
        self.new_button.setAccessibleName("New chat")
        self.new_button.setToolTip("New chat (Ctrl+N)")
        self.new_button.clicked.connect(self.newRequested)
        layout.addWidget(self.new_button)

        self.search = QLineEdit(self)
        self.search.setObjectName("SearchField")
        self.search.setPlaceholderText("Search all chats  (Ctrl+F)")
        self.search.setAccessibleName("Search all chats")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search_text)
        self.search.installEventFilter(self)
        layout.addWidget(self.search)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._emit_search)

        self.stack = QStackedWidget(self)
        self.model = ConversationListModel(self)
        self.model.renamed.connect(self.renameRequested)
        self.list = QListView(self.stack)
        self.list.setModel(self.model)
        self.list.setAccessibleName("Conversations")
        self.list.setItemDelegate(ConversationDelegate(colors, self.list))
        self.list.setMouseTracking(True)
        self.list.setEditTriggers(
            QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._on_context_menu)
        self.list.selectionModel().currentChanged.connect(self._on_current_changed)
        self.list.installEventFilter(self)
        self.stack.addWidget(self.list)

        self.hits_model = SearchHitModel(self)
        self.hits = QListView(self.stack)
        self.hits.setModel(self.hits_model)
        self.hits.setAccessibleName("Search results")
        self.hits.setItemDelegate(SearchHitDelegate(colors, self.hits))
        self.hits.setMouseTracking(True)
        self.hits.activated.connect(self._on_hit_activated)
        self.hits.clicked.connect(self._on_hit_activated)
        self.stack.addWidget(self.hits)
        self.no_hits = QLabel("No messages match.", self.stack)
        self.no_hits.setObjectName("MutedLabel")
        self.no_hits.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.stack.addWidget(self.no_hits)
        layout.addWidget(self.stack, 1)

        self.undo_bar = UndoBar(self)
        self.undo_bar.undoRequested.connect(self.undoDeleteRequested)
        layout.addWidget(self.undo_bar)
        self._selecting = False

    def set_colors(self, colors: Colors) -> None:
        self.list.itemDelegate().colors = colors
        self.hits.itemDelegate().colors = colors
        self.list.viewport().update()

    # -- conversations --------------------------------------------------------------------

    def set_conversations(self, conversations: list[Conversation], current: int | None) -> None:
        self._selecting = True
        try:
            self.model.set_conversations(conversations)
            self.select(current)
        finally:
            self._selecting = False

    def select(self, conv_id: int | None) -> None:
        row = self.model.row_of(conv_id) if conv_id is not None else -1
        was = self._selecting
        self._selecting = True
        try:
            if row >= 0:
                self.list.setCurrentIndex(self.model.index(row))
            else:
                self.list.clearSelection()
        finally:
            self._selecting = was

    def current_id(self) -> int | None:
        index = self.list.currentIndex()
        return index.data(ConvIdRole) if index.isValid() else None

    def start_rename(self, conv_id: int) -> None:
        row = self.model.row_of(conv_id)
        if row >= 0:
            self.stack.setCurrentWidget(self.list)
            self.list.setFocus()
            self.list.edit(self.model.index(row))

    # -- search ---------------------------------------------------------------------------

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def show_hits(self, query: str, hits: list[SearchHit]) -> None:
        if query != self.search.text().strip():
            return  # an answer to an older query
        self.hits_model.set_hits(hits)
        self.stack.setCurrentWidget(self.hits if hits else self.no_hits)

    @Slot(str)
    def _on_search_text(self, text: str) -> None:
        if not text.strip():
            self._search_timer.stop()
            self.stack.setCurrentWidget(self.list)
            return
        self._search_timer.start()

    @Slot()
    def _emit_search(self) -> None:
        query = self.search.text().strip()
        if query:
            self.searchRequested.emit(query)

    @Slot(QModelIndex)
    def _on_hit_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            hit = self.hits_model.hit(index.row())
            self.hitActivated.emit(hit.conv_id, hit.message_id)

    # -- list interaction -----------------------------------------------------------------

    @Slot(QModelIndex, QModelIndex)
    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not self._selecting and current.isValid():
            self.conversationSelected.emit(current.data(ConvIdRole))

    def eventFilter(self, watched, event) -> bool:
        if event.type() != QEvent.Type.KeyPress:
            return False
        key = event.key()
        if watched is self.list and key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            conv_id = self.current_id()
            if conv_id is not None and self.list.state() != QAbstractItemView.State.EditingState:
                self.deleteRequested.emit(conv_id)
                return True
        if watched is self.search and key == Qt.Key.Key_Down:
            target = self.hits if self.stack.currentWidget() is self.hits else self.list
            target.setFocus()
            if not target.currentIndex().isValid() and target.model().rowCount() > 0:
                target.setCurrentIndex(target.model().index(0, 0))
            return True
        if watched is self.search and key == Qt.Key.Key_Escape:
            self.search.clear()
            return True
        return False

    @Slot(object)
    def _on_context_menu(self, pos) -> None:
        index = self.list.indexAt(pos)
        if not index.isValid():
            return
        self.context_menu(QPersistentModelIndex(index)).exec(self.list.viewport().mapToGlobal(pos))

    def context_menu(self, index: QPersistentModelIndex) -> QMenu:
        """The Rename/Pin/Delete menu for one conversation."""
        conv_id = index.data(ConvIdRole)
        pinned = bool(index.data(PinnedRole))
        menu = QMenu(self)
        rename = QAction("Rename", menu)
        rename.setShortcut(QKeySequence("F2"))
        rename.triggered.connect(lambda: self.start_rename(conv_id))
        pin = QAction("Unpin" if pinned else "Pin to top", menu)
        pin.triggered.connect(lambda: self.pinRequested.emit(conv_id, not pinned))
        delete = QAction("Delete", menu)
        delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        delete.triggered.connect(lambda: self.deleteRequested.emit(conv_id))
        for action in (rename, pin, delete):
            menu.addAction(action)
        return menu
