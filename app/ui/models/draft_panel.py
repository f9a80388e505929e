"""Speculative decoding on the Models page: the load setting that chooses the drafts, and the
offer to download a catalogue model's draft model.

``SpeculationField`` is a combo box: off, prompt lookup (default) or one of the other installed
GGUFs as the draft model. Picking a draft compares both vocabularies off the GUI thread; one
that differs is refused (the choice goes back) with the DraftModelError's message as a notice.
``DraftOffer`` shows "Faster replies: download its draft model (NAME, SIZE)" with a button
for a model whose catalogue entry names a draft that is not installed; the download goes
through the shared ``DownloadQueue`` and ``installed`` tells the page when it is there.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QComboBox, QLabel, QPushButton, QVBoxLayout, QWidget

from app.engine import read_model_facts
from app.engine.draft_model import check_same_vocabulary
from app.engine.errors import DraftModelError
from app.models import DownloadTask, InstalledModel, TaskState
from app.models.catalogue import Catalogue, CatalogueEntry
from app.models.drafts import draft_to_offer
from app.models.load_settings import DRAFT_CHOICES
from app.sizes import format_bytes
from app.ui.common.jobs import Job, JobLane
from app.ui.common.notices import NoticeBridge, guarded

from .download_controls import DownloadControls
from .download_queue import DownloadQueue

CHOICES = (("Prompt lookup (default)", "lookup"), ("Off", "none"))
TOOLTIP = (
    "Exact: replies are what the model writes without it, only faster. Prompt lookup drafts "
    "from the conversation; a draft model of the same vocabulary (for QwQ-32B: "
    "Qwen2.5-0.5B-Instruct) drafts every reply"
)
REFUSED_HINT = (
    "choose a draft model of the same family (for QwQ-32B: Qwen2.5-0.5B-Instruct), or Prompt lookup"
)


class SpeculationField(QComboBox):
    """The "Speculative decoding" load setting; ``value()`` is LoadSettings.draft.
    ``checked(path, accepted)``: a picked draft model's vocabulary check answered."""

    checked = Signal(str, bool)

    def __init__(self, lane: JobLane, notices: NoticeBridge, parent: QWidget | None = None):
        super().__init__(parent)
        self.lane = lane
        self.notices = notices
        self.model: InstalledModel | None = None
        self.check_job: Job | None = None
        self._value = "lookup"  # the last accepted choice
        self.setToolTip(TOOLTIP)
        self.setAccessibleName("Speculative decoding")
        self.activated.connect(self._on_activated)

    def set_model(self, model: InstalledModel, models: list[InstalledModel]) -> None:
        """Offer the drafts for ``model`` (the other installed files, smallest first) and show
        its saved choice."""
        self.model = model
        self.blockSignals(True)
        self.clear()
        for text, value in CHOICES:
            self.addItem(text, value)
        others = [m for m in models if m.path != model.path and m.exists]
        for other in sorted(others, key=lambda m: m.size_bytes):
            self.addItem(
                f"Draft model: {other.name} ({format_bytes(other.size_bytes)})", other.path
            )
        saved = model.settings.draft
        if self.findData(saved) < 0:  # a draft file no longer installed
            self.addItem(f"Draft model: {Path(saved).name} (not installed)", saved)
        self.setCurrentIndex(self.findData(saved))
        self._value = saved
        self.blockSignals(False)
        self._drop_check()

    def value(self) -> str:
        return self.currentData() or "lookup"

    def shutdown(self) -> None:
        self._drop_check()

    @Slot(int)
    @guarded("checking the draft model")
    def _on_activated(self, index: int) -> None:
        value, model = self.itemData(index), self.model
        self._drop_check()
        if value in DRAFT_CHOICES or model is None:
            self._value = value
            return
        target = model.path

        def work(job: Job):
            check_same_vocabulary(read_model_facts(target), read_model_facts(value))
            return value

        self.check_job = self.lane.submit(work, "checking the draft model")
        self.check_job.finished.connect(self._on_checked)
        self.check_job.errored.connect(self._on_refused)

    @Slot(object)
    def _on_checked(self, value: str) -> None:
        self._value = value
        self.checked.emit(value, True)

    @Slot(object)
    def _on_refused(self, error) -> None:
        refused = self.currentData()
        self.setCurrentIndex(max(0, self.findData(self._value)))
        if isinstance(error, DraftModelError):  # its message; a hint in the window's words
            error = DraftModelError(error.message, REFUSED_HINT)
        self.notices.report(error, "checking the draft model")
        self.checked.emit(refused, False)

    def _drop_check(self) -> None:
        if self.check_job is not None:
            self.check_job.discard()
            self.check_job = None


class DraftOffer(QWidget):
    """ "Faster replies: download its draft model (NAME, SIZE)" and a Download button, with the
    download's progress; hidden when the shown model has no draft to offer."""

    installed = Signal(str)  # the draft model's name, once downloaded and checked

    def __init__(
        self,
        catalogue: Catalogue,
        queue: DownloadQueue,
        notices: NoticeBridge,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.catalogue = catalogue
        self.queue = queue
        self.draft: CatalogueEntry | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setWordWrap(True)
        layout.addWidget(self.label)
        self.downloadButton = QPushButton("Download draft model")
        self.downloadButton.setAccessibleName("Download the draft model")
        self.downloadButton.clicked.connect(self.download)
        self.controls = DownloadControls(queue, notices, self.downloadButton)
        layout.addWidget(self.controls)
        queue.taskChanged.connect(self._on_task)
        self.setVisible(False)

    def show_for(self, model: InstalledModel | None, models: list[InstalledModel]) -> None:
        """Offer ``model``'s draft if the catalogue names one and it is not installed."""
        draft = draft_to_offer(self.catalogue, models, model) if model is not None else None
        task = self._task_of(draft)
        self.draft = draft
        self.setVisible(draft is not None)
        if draft is None:
            return
        self.label.setText(
            f"Faster replies: download its draft model ({draft.family.name}, "
            f"{format_bytes(draft.approx_size_bytes)}), then choose it under "
            "Speculative decoding."
        )
        self._show_task(task)

    @Slot()
    @guarded("downloading the draft model")
    def download(self) -> None:
        if self.draft is None:
            return
        self._show_task(self.queue.enqueue_entry(self.draft))

    def _task_of(self, draft: CatalogueEntry | None) -> DownloadTask | None:
        if draft is None:
            return None
        tasks = [t for t in self.queue.tasks() if t.catalogue_id == draft.id]
        return tasks[-1] if tasks else None

    def _show_task(self, task: DownloadTask | None) -> None:
        self.controls.show_task(task, error=task is not None and task.error is not None)
        self.downloadButton.setEnabled(not self.controls.active())

    @Slot(object)
    def _on_task(self, task: DownloadTask) -> None:
        if self.draft is None or task.catalogue_id != self.draft.id:
            return
        self._show_task(task)
        if task.state == TaskState.DONE and task.model_name:
            self.installed.emit(task.model_name)
