"""The sidebar's conversation list: ``ConversationListModel`` (pinned first, then most recent;
titles editable, which renames) and ``ConversationDelegate`` (rounded rows with a pin mark and
a short relative time)."""

from __future__ import annotations

import time
from dataclasses import replace

from PySide6.QtCore import QAbstractListModel, QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.store import Conversation
from app.ui.common.theme import Colors

ConvIdRole = Qt.ItemDataRole.UserRole + 1
PinnedRole = Qt.ItemDataRole.UserRole + 2
SubtitleRole = Qt.ItemDataRole.UserRole + 3


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
