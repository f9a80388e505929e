"""The API server's request log: a bounded table of the requests as they come and end
(``RequestLogModel``), and the window that shows it (``RequestLogDialog``, not modal)."""

from __future__ import annotations

import time

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.server import RequestRecord

MAX_ROWS = 500  # the oldest requests leave the log first
COLUMNS = ("Time", "Client", "Method", "Path", "Status", "Tokens in / out", "Duration", "Model")
_Index = QModelIndex | QPersistentModelIndex


def cells(record: RequestRecord) -> tuple[str, ...]:
    """The texts of one row: a request still running shows "…" for what is not known yet."""
    tokens = "–"
    if record.prompt_tokens is not None or record.completion_tokens is not None:
        tokens = f"{record.prompt_tokens or 0:,} / {record.completion_tokens or 0:,}"
    if not record.finished:
        status, duration = "…", "…"
    else:
        status = str(record.status)
        duration = f"{record.duration_s:.2f} s" if record.duration_s is not None else ""
    path = record.path + (" (stream)" if record.stream else "")
    return (
        time.strftime("%H:%M:%S", time.localtime(record.started_at)),
        record.client,
        record.method,
        path,
        status,
        tokens,
        duration,
        record.model or "",
    )


class RequestLogModel(QAbstractTableModel):
    """The last ``limit`` requests, newest last; a record that ends replaces its arrival."""

    def __init__(self, limit: int = MAX_ROWS, parent=None) -> None:
        super().__init__(parent)
        self.limit = limit
        self._rows: list[RequestRecord] = []

    @property
    def records(self) -> list[RequestRecord]:
        return list(self._rows)

    @property
    def active(self) -> int:
        """Requests that arrived and have not ended."""
        return sum(not r.finished for r in self._rows)

    def add(self, record: RequestRecord) -> None:
        """A request arrived (a new row) or ended (its row updated)."""
        for row in range(len(self._rows) - 1, -1, -1):  # the ones ending are mostly recent
            if self._rows[row].id == record.id:
                self._rows[row] = record
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
                return
        if len(self._rows) >= self.limit:
            self.beginRemoveRows(QModelIndex(), 0, 0)
            del self._rows[0]
            self.endRemoveRows()
        row = len(self._rows)
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.append(record)
        self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self._rows.clear()
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        record = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return cells(record)[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole and record.error:
            return record.error
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (4, 5, 6):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None


class RequestLogDialog(QDialog):
    """The request log beside the window, with the server's address and a Clear button."""

    def __init__(self, model: RequestLogModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("API requests")
        self.setObjectName("ApiRequestLog")
        self.resize(980, 380)
        layout = QVBoxLayout(self)
        self.address = QLabel(self)
        self.address.setObjectName("ApiAddress")
        self.address.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.address)
        self.table = QTableView(self)
        self.table.setModel(model)
        self.table.setAccessibleName("API requests")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.setAccessibleName("Clear the request log")
        self.clear_button.clicked.connect(model.clear)
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        buttons.addWidget(self.clear_button)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        model.rowsInserted.connect(self._follow)

    def set_address(self, url: str | None) -> None:
        self.address.setText(
            f"Serving at {url} (OpenAI base_url)" if url else "The API server is off."
        )

    @Slot()
    def _follow(self) -> None:
        """Keep the newest request in view unless the user scrolled up."""
        bar = self.table.verticalScrollBar()
        if bar.value() >= bar.maximum() - 2:
            self.table.scrollToBottom()
