"""The sidebar's full-text search results: ``SearchHitModel`` (one row per matching message)
and ``SearchHitDelegate`` (the chat's title, then the snippet, muted)."""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.store import SearchHit
from app.ui.common.theme import Colors

from .conversation_list import SubtitleRole


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
