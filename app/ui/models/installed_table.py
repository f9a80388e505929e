"""The Models page's table: installed models (name, size, quant, context, location), the loaded
one marked; and showing a model file in the system's file manager."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QUrl
from PySide6.QtGui import QDesktopServices

from app.models import InstalledModel
from app.sizes import format_bytes

COLUMNS = ("Name", "Size", "Quant", "Context", "Location")


def reveal_in_file_manager(path: str | Path) -> None:
    """Show ``path`` selected in the system's file manager (its folder where that is not
    possible)."""
    target = Path(path)
    if sys.platform == "darwin":
        subprocess.Popen(["open", "-R", str(target)])
    elif sys.platform == "win32":
        subprocess.Popen(["explorer", f"/select,{target}"])
    else:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(target.parent)))


class InstalledModelsModel(QAbstractTableModel):
    """The registry as a table; the loaded model is marked and shown in bold."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.models: list[InstalledModel] = []
        self.loaded: str | None = None

    def set_models(self, models: list[InstalledModel]) -> None:
        self.beginResetModel()
        self.models = list(models)
        self.endResetModel()

    def set_loaded(self, name: str | None) -> None:
        self.loaded = name
        if self.models:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.models) - 1, 0))

    def row_of(self, name: str) -> int:
        return next((i for i, m in enumerate(self.models) if m.name == name), -1)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008, N802 - Qt API
        return 0 if parent.isValid() else len(self.models)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008, N802 - Qt API
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        model = self.models[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return f"● {model.name} (loaded)" if model.name == self.loaded else model.name
            if column == 1:
                return format_bytes(model.size_bytes)
            if column == 2:
                return model.quant
            if column == 3:
                return f"{model.context_length:,}"
            return model.path if model.exists else f"{model.path} (missing)"
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{model.title} · {model.architecture} · {model.source} · {model.path}"
        if role == Qt.ItemDataRole.FontRole and model.name == self.loaded:
            font = self.parent().font() if self.parent() is not None else None
            if font is not None:
                font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (1, 3):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
