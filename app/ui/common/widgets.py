"""Small widgets the pages share."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QWidget,
)


def muted_label(text: str) -> QLabel:
    """A word-wrapped label in the theme's muted colour."""
    label = QLabel(text)
    label.setObjectName("MutedLabel")
    label.setWordWrap(True)
    return label


def set_label_text(label: QLabel, text: str, *, error: bool = False) -> None:
    """Set a muted label's text; ``error`` shows it in the theme's error colour."""
    label.setObjectName("ErrorLabel" if error else "MutedLabel")
    label.style().polish(label)
    label.setText(text)


def separator() -> QFrame:
    """A thin horizontal line between sections."""
    line = QFrame()
    line.setObjectName("Separator")
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Plain)
    return line


def row_of(*widgets: QWidget) -> QHBoxLayout:
    """The widgets side by side, left-aligned."""
    row = QHBoxLayout()
    for widget in widgets:
        row.addWidget(widget)
    row.addStretch(1)
    return row


def table_view(model: QAbstractTableModel, name: str, stretch: int) -> QTableView:
    """A read-only table of ``model``: whole rows selected, one at a time; column ``stretch``
    takes the spare width."""
    table = QTableView()
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.setTabKeyNavigation(False)  # arrows choose a row, Tab moves on
    table.setAccessibleName(name)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return table
