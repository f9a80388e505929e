"""The Hub search dialog's two tables: repositories found (with downloads and likes) and one
repository's GGUF files (quantisation, size, the planner's verdict and download status)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from app.models import DownloadTask, TaskState
from app.sizes import format_bytes
from quantize.hub import RepoSummary

from .download_queue import ACTIVE
from .hub_files import HubFile, RepoListing

REPO_COLUMNS = ("Repository", "Downloads", "Likes")
FILE_COLUMNS = ("File", "Quant", "Size", "On this computer", "Status")
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def compact_count(n: int) -> str:
    """1234 -> "1.2k", 2_500_000 -> "2.5M"."""
    if n >= 10**6:
        return f"{n / 1e6:.1f}M"
    if n >= 10**3:
        return f"{n / 1e3:.1f}k"
    return str(n)


def task_status(task: DownloadTask | None, installed_name: str | None) -> str:
    """The Status cell of a file: its download's state, or "Installed"."""
    if task is not None and task.state in ACTIVE:
        if task.state == TaskState.RUNNING:
            if task.fraction is None or task.phase == "starting":
                return "Starting…"
            return f"Downloading {task.fraction:.0%}"
        return {
            TaskState.QUEUED: "Waiting",
            TaskState.PAUSED: "Paused",
            TaskState.FAILED: "Failed",
        }[task.state]
    if installed_name or (task is not None and task.state == TaskState.DONE):
        return "Installed"
    return ""


class RepoResultsModel(QAbstractTableModel):
    """Search hits: repository, downloads, likes."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.hits: list[RepoSummary] = []

    def set_hits(self, hits: list[RepoSummary]) -> None:
        self.beginResetModel()
        self.hits = list(hits)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008, N802 - Qt API
        return 0 if parent.isValid() else len(self.hits)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008, N802 - Qt API
        return 0 if parent.isValid() else len(REPO_COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return REPO_COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        hit = self.hits[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (hit.repo_id, compact_count(hit.downloads), compact_count(hit.likes))[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{hit.repo_id}: {hit.downloads:,} downloads, {hit.likes:,} likes"
        if role == Qt.ItemDataRole.TextAlignmentRole and column > 0:
            return RIGHT
        return None


class HubFilesModel(QAbstractTableModel):
    """The GGUF files of one repository with verdict and download status."""

    def __init__(self, task_for: Callable[[str, str], DownloadTask | None], parent=None) -> None:
        super().__init__(parent)
        self.task_for = task_for
        self.listing: RepoListing | None = None

    @property
    def files(self) -> tuple[HubFile, ...]:
        return self.listing.files if self.listing is not None else ()

    def set_listing(self, listing: RepoListing | None) -> None:
        self.beginResetModel()
        self.listing = listing
        self.endResetModel()

    def row_of(self, path: str) -> int:
        return next((i for i, f in enumerate(self.files) if f.path == path), -1)

    def status_changed(self, path: str) -> None:
        row = self.row_of(path)
        if row >= 0:
            last = len(FILE_COLUMNS) - 1
            self.dataChanged.emit(self.index(row, last), self.index(row, last))

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008, N802 - Qt API
        return 0 if parent.isValid() else len(self.files)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008, N802 - Qt API
        return 0 if parent.isValid() else len(FILE_COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return FILE_COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.listing is None:
            return None
        f = self.files[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return f.path
            if column == 1:
                return f.quant or "?"
            if column == 2:
                return format_bytes(f.remote.size) if f.remote.size is not None else "?"
            if column == 3:
                return f.verdict.short
            return task_status(self.task_for(self.listing.repo_id, f.path), f.installed_name)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{f.path}\n{f.verdict.detail}"
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 2:
            return RIGHT
        return None
