"""Installed models: a table (name, size, quant, context, location, which one is loaded) and,
for the selected model, its load settings with the memory planner's verdict, plus Load,
Verify, Reveal in the file manager and Delete (with confirmation). Speculative decoding is one
of the load settings, and a catalogue model's draft model is offered for download beside it
(draft_panel.py).

Standalone widget: it needs a ModelRegistry; ``loadRequested(name, LoadSettings)`` asks the
main window to load a model and ``set_loaded(name)`` tells the page which one is loaded.
Header reads, planning and checksums run as jobs off the GUI thread (one lane for plans, one
for checksums), and so does the look at this computer the plans need (``HardwareProbe``):
until it answers the plan says so. Errors reach the page's own notice bar.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.engine import EngineError, HardwareInfo, plan_memory, read_model_facts
from app.errors import UserFacingError
from app.models import InstalledModel, LoadSettings, ModelRegistry, load_catalogue, verify_model
from app.models.catalogue import Catalogue
from app.models.install import disk_usage_summary
from app.sizes import format_bytes
from app.ui.common.hardware_probe import CHECKING_TEXT, HardwareProbe, as_probe
from app.ui.common.jobs import Job, JobLane
from app.ui.common.notices import NoticeBar, NoticeBridge, guarded

from .download_queue import DownloadQueue
from .draft_panel import DraftOffer, SpeculationField
from .installed_table import COLUMNS, InstalledModelsModel, reveal_in_file_manager

KV_TYPES = ("f16", "q8_0", "q4_0")
PLAN_DELAY_MS = 250
SOURCE_WORDS = {
    "download": "downloaded from the Hub",
    "copy": "copied into the models folder",
    "link": "used where it is (the file stays yours)",
    "found": "found in the models folder",
}


class InstalledModelsPage(QWidget):
    """Installed models with per-model load settings."""

    loadRequested = Signal(str, object)  # model name, LoadSettings
    modelRemoved = Signal(str)

    def __init__(
        self,
        registry: ModelRegistry,
        *,
        hardware: HardwareInfo | HardwareProbe | None = None,
        downloads: DownloadQueue | None = None,
        catalogue: Catalogue | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``hardware``: a described machine, a (shared) HardwareProbe, or None to probe this
        computer in the background. ``downloads``: the shared queue that fetches draft models
        (none offered without it)."""
        super().__init__(parent)
        self.downloads = downloads
        self.catalogue = catalogue
        self.setObjectName("ModelsPage")
        self.registry = registry
        self.probe = as_probe(hardware, self)
        self.hardware: HardwareInfo | None = None  # known once the probe answers
        self._hardware_error: UserFacingError | None = None
        self.loaded: str | None = None
        self._facts: dict[str, object] = {}
        self.notices = NoticeBridge(self)
        self.plans = JobLane("ModelPlans", self)
        self.checksums = JobLane("ModelChecksums", self)
        self.plan_job: Job | None = None
        self.verify_job: Job | None = None
        self._plan_timer = QTimer(self, singleShot=True, interval=PLAN_DELAY_MS)
        self._plan_timer.timeout.connect(self._plan_now)
        self._build_ui()
        self.refresh()
        self.probe.request(self._on_hardware, self._on_hardware_failed)

    # -- layout ------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        self.table_model = InstalledModelsModel(self)
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.setAccessibleName("Installed models")
        self.table.setTabKeyNavigation(False)  # arrows choose a model, Tab moves on to settings
        self.table.selectionModel().currentRowChanged.connect(self._on_selected)
        layout.addWidget(self.table, 1)
        self.diskLabel = QLabel()
        self.diskLabel.setObjectName("MutedLabel")
        layout.addWidget(self.diskLabel)

        self.details = QGroupBox("Load settings")
        form = QFormLayout(self.details)
        self.infoLabel = QLabel()
        self.infoLabel.setWordWrap(True)
        self.infoLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.infoLabel)
        self.ctxSpin = QSpinBox()
        self.ctxSpin.setRange(0, 1 << 20)
        self.ctxSpin.setSingleStep(1024)
        self.ctxSpin.setSpecialValueText("Auto (planner)")
        self.ctxSpin.setAccessibleName("Context size in tokens")
        form.addRow("Context (tokens)", self.ctxSpin)
        self.gpuSpin = QSpinBox()
        self.gpuSpin.setRange(-1, 1000)
        self.gpuSpin.setSpecialValueText("Auto (planner)")
        self.gpuSpin.setToolTip("0 runs everything on the CPU")
        self.gpuSpin.setAccessibleName("Layers on the GPU")
        form.addRow("GPU layers", self.gpuSpin)
        self.kvCombo = QComboBox()
        self.kvCombo.addItems(KV_TYPES)
        self.kvCombo.setToolTip("q8_0 halves the KV cache's memory at a tiny cost in quality")
        self.kvCombo.setAccessibleName("KV cache type")
        form.addRow("KV cache", self.kvCombo)
        self.threadsSpin = QSpinBox()
        self.threadsSpin.setRange(0, max(1, os.cpu_count() or 1))
        self.threadsSpin.setSpecialValueText("Auto")
        self.threadsSpin.setAccessibleName("Threads")
        form.addRow("Threads", self.threadsSpin)
        self.draftCombo = SpeculationField(self.plans, self.notices)
        form.addRow("Speculative decoding", self.draftCombo)
        self.planLabel = QLabel()
        self.planLabel.setWordWrap(True)
        self.planLabel.setAccessibleName("Memory plan")
        form.addRow("Plan", self.planLabel)
        self.draftOffer: DraftOffer | None = None
        if self.downloads is not None:
            catalogue = self.catalogue or load_catalogue()
            self.draftOffer = DraftOffer(catalogue, self.downloads, self.notices, self)
            self.draftOffer.installed.connect(self._on_draft_installed)
            form.addRow(self.draftOffer)
        for spin in (self.ctxSpin, self.gpuSpin, self.threadsSpin):
            spin.valueChanged.connect(self._schedule_plan)
        self.kvCombo.currentIndexChanged.connect(self._schedule_plan)
        self.draftCombo.currentIndexChanged.connect(self._schedule_plan)
        for field in (self.ctxSpin, self.gpuSpin, self.kvCombo, self.threadsSpin):
            field.setMinimumWidth(180)
            field.setMaximumWidth(260)
        self.draftCombo.setMinimumWidth(180)
        self.draftCombo.setMaximumWidth(420)  # "Draft model: NAME (SIZE)"
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)

        buttons = QHBoxLayout()
        self.loadButton = QPushButton("Load")
        self.loadButton.setObjectName("PrimaryButton")
        self.loadButton.clicked.connect(self._load)
        self.saveButton = QPushButton("Save settings")
        self.saveButton.clicked.connect(self.save_settings)
        self.verifyButton = QPushButton("Verify")
        self.verifyButton.setToolTip("Re-read the file and check its sha256")
        self.verifyButton.clicked.connect(self.verify_selected)
        self.revealButton = QPushButton("Show in folder")
        self.revealButton.clicked.connect(self._reveal)
        self.deleteButton = QPushButton("Delete…")
        self.deleteButton.clicked.connect(self.delete_selected)
        for button in (
            self.loadButton,
            self.saveButton,
            self.verifyButton,
            self.revealButton,
            self.deleteButton,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        form.addRow(buttons)
        self.messageLabel = QLabel()
        self.messageLabel.setWordWrap(True)
        form.addRow(self.messageLabel)
        layout.addWidget(self.details)
        self.notice_bar = NoticeBar(self)
        layout.addWidget(self.notice_bar)
        self.notices.posted.connect(self.notice_bar.show_notice)

    # -- public ------------------------------------------------------------------------------
    @Slot()
    @guarded("listing the installed models")
    def refresh(self) -> None:
        """Re-read the registry (keeps the selection when the model is still there)."""
        current = self.selected()
        self.table_model.set_models(self.registry.list())
        self.table_model.set_loaded(self.loaded)
        row = self.table_model.row_of(current.name) if current else -1
        if row < 0 and self.table_model.models:
            row = 0
        if row >= 0:
            self.table.selectRow(row)
        self._show(self.selected())
        used, free = disk_usage_summary(self.registry)
        self.diskLabel.setText(
            f"{len(self.table_model.models)} model(s), {format_bytes(used)} · "
            f"{format_bytes(free)} free in {self.registry.paths.models_dir}"
        )

    def set_loaded(self, name: str | None) -> None:
        self.loaded = name
        self.table_model.set_loaded(name)
        self._show(self.selected())

    def select(self, name: str) -> None:
        row = self.table_model.row_of(name)
        if row >= 0:
            self.table.selectRow(row)

    def selected(self) -> InstalledModel | None:
        row = self.table.currentIndex().row()
        models = self.table_model.models
        return models[row] if 0 <= row < len(models) else None

    def current_settings(self) -> LoadSettings:
        """The settings as edited (Auto = None)."""
        return LoadSettings(
            n_ctx=self.ctxSpin.value() or None,
            n_gpu_layers=None if self.gpuSpin.value() < 0 else self.gpuSpin.value(),
            kv_cache_type=self.kvCombo.currentText(),
            n_threads=self.threadsSpin.value() or None,
            draft=self.draftCombo.value(),
        )

    @Slot()
    @guarded("saving the load settings")
    def save_settings(self) -> None:
        model = self.selected()
        if model is not None:
            self.registry.update(model.name, settings=self.current_settings())
            self.refresh()
            self._message("Settings saved.")

    @Slot()
    @guarded("deleting the model")
    def delete_selected(self) -> None:
        model = self.selected()
        if model is None:
            return
        if model.name == self.loaded:
            self._message(f"{model.name} is loaded: load another model first.", error=True)
            return
        if model.owns_file:
            detail = f"This deletes {model.path} ({format_bytes(model.size_bytes)})."
        else:
            detail = f"The file stays where it is: {model.path}"
        answer = QMessageBox.question(
            self,
            "Delete model",
            f"Remove {model.name} from your models?\n\n{detail}",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.registry.remove(model.name)
        self._facts.pop(model.path, None)
        self.refresh()
        self.modelRemoved.emit(model.name)

    @Slot()
    @guarded("verifying the model")
    def verify_selected(self) -> Job | None:
        model = self.selected()
        if model is None:
            return None
        self._drop_job("verify_job")
        self._message(f"Verifying {model.name}…")
        self.verifyButton.setEnabled(False)
        registry = self.registry

        def work(job: Job):
            report = lambda done, total: job.emit((done, total))  # noqa: E731
            return verify_model(registry, model.name, on_bytes=report)

        self.verify_job = self.checksums.submit(work, "verifying the model")
        self.verify_job.yielded.connect(self._on_verify_progress)
        self.verify_job.finished.connect(self._on_verified)
        self.verify_job.errored.connect(self._on_verify_failed)
        return self.verify_job

    def shutdown(self) -> None:
        """Stop background jobs and their threads (call before the widget goes away).
        Idempotent."""
        if self.probe.parent() is self:
            self.probe.shutdown()
        self._plan_timer.stop()
        self.plans.shutdown()
        self.checksums.shutdown()

    # -- selection and settings ----------------------------------------------------------------
    @Slot(QModelIndex, QModelIndex)
    @guarded("showing the model")
    def _on_selected(self, current: QModelIndex, previous: QModelIndex) -> None:
        self._show(self.selected())

    def _show(self, model: InstalledModel | None) -> None:
        self.details.setEnabled(model is not None)
        if self.draftOffer is not None:
            self.draftOffer.show_for(model, self.table_model.models)
        if model is None:
            self.infoLabel.setText("No model installed.")
            self.planLabel.clear()
            return
        loaded = " — loaded now" if model.name == self.loaded else ""
        checksum = f"sha256 {model.sha256[:16]}…" if model.sha256 else "no checksum recorded"
        self.infoLabel.setText(
            f"{model.title} ({model.architecture}, {model.quant}, "
            f"{model.context_length:,} tokens of context){loaded}\n"
            f"{model.path}\nAdded {model.added_at[:10]}, {SOURCE_WORDS.get(model.source, '')}; "
            f"{checksum}"
        )
        s = model.settings
        for widget, value in (
            (self.ctxSpin, s.n_ctx or 0),
            (self.gpuSpin, -1 if s.n_gpu_layers is None else s.n_gpu_layers),
            (self.threadsSpin, s.n_threads or 0),
        ):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        self.kvCombo.blockSignals(True)
        self.kvCombo.setCurrentText(s.kv_cache_type)
        self.kvCombo.blockSignals(False)
        self.ctxSpin.setMaximum(max(model.context_length, s.n_ctx or 0))
        self.draftCombo.set_model(model, self.table_model.models)
        self.loadButton.setEnabled(model.exists)
        self.revealButton.setEnabled(model.exists)
        self.verifyButton.setEnabled(model.exists)
        self.messageLabel.clear()
        self._schedule_plan()

    @Slot()
    def _schedule_plan(self) -> None:
        self._plan_timer.start()

    @Slot()
    @guarded("planning memory")
    def _plan_now(self) -> None:
        model = self.selected()
        if model is None or not model.exists:
            self.planLabel.setText("The model file is missing." if model else "")
            return
        if self.hardware is None:
            error = self._hardware_error
            self.planLabel.setText(error.text() if error is not None else CHECKING_TEXT)
            return  # planned again when the probe answers
        settings = self.current_settings()
        hardware, cache = self.hardware, self._facts

        def facts_of(path: str):
            cache[path] = cache.get(path) or read_model_facts(path)
            return cache[path]

        def work(job: Job):
            facts = facts_of(model.path)
            draft = settings.draft_path
            try:
                return plan_memory(
                    facts,
                    hardware,
                    n_ctx=settings.n_ctx,
                    kv_cache_type=settings.kv_cache_type,
                    n_gpu_layers=settings.n_gpu_layers,
                    draft=facts_of(draft) if draft and os.path.isfile(draft) else None,
                )
            except EngineError as exc:  # a refusal is an answer, not a failure
                return exc

        self._drop_job("plan_job")
        self.planLabel.setText("Planning…")
        self.plan_job = self.plans.submit(work, "planning memory")
        self.plan_job.finished.connect(self._on_planned)
        self.plan_job.errored.connect(self._on_plan_failed)

    def _on_hardware(self, hardware: HardwareInfo) -> None:
        self.hardware = hardware
        self.threadsSpin.setMaximum(max(1, hardware.logical_cores))
        self._schedule_plan()

    def _on_hardware_failed(self, error: UserFacingError) -> None:
        self._hardware_error = error
        self._plan_now()

    @Slot(object)
    def _on_planned(self, result) -> None:
        if isinstance(result, EngineError):
            self.planLabel.setText(f"Does not fit: {result}")
            self.planLabel.setObjectName("ErrorLabel")
        else:
            notes = f" ({'; '.join(result.notes)})" if result.notes else ""
            self.planLabel.setText(result.summary() + notes)
            self.planLabel.setObjectName("")
        self.planLabel.style().polish(self.planLabel)

    @Slot(object)
    def _on_plan_failed(self, error: UserFacingError) -> None:
        self.planLabel.setText(error.text())  # an expected one is the plan's answer
        if not error.expected:
            self.notices.report(error, "planning memory")

    @Slot(str)
    def _on_draft_installed(self, name: str) -> None:
        self.refresh()  # the new draft joins the Speculative decoding choices

    # -- actions -------------------------------------------------------------------------------
    @Slot()
    @guarded("loading the model")
    def _load(self) -> None:
        model = self.selected()
        if model is None:
            return
        settings = self.current_settings()
        if settings != model.settings:
            self.registry.update(model.name, settings=settings)
        self.loadRequested.emit(model.name, settings)

    @Slot()
    @guarded("showing the model file")
    def _reveal(self) -> None:
        model = self.selected()
        if model is not None:
            reveal_in_file_manager(model.path)

    @Slot(object)
    def _on_verify_progress(self, progress: tuple[int, int]) -> None:
        done, total = progress
        self._message(f"Verifying: {format_bytes(done)} of {format_bytes(total)}")

    @Slot(object)
    def _on_verified(self, result) -> None:
        self.refresh()  # shows the recorded checksum
        self.verifyButton.setEnabled(True)
        if result.recorded_now:
            self._message("The file reads correctly; its sha256 was recorded for later checks.")
        else:
            self._message("Verified: the file is intact (sha256 matches).")

    @Slot(object)
    def _on_verify_failed(self, error: UserFacingError) -> None:
        self.verifyButton.setEnabled(True)
        self._message("")
        self.notices.report(error, "verifying the model")

    def _message(self, text: str, *, error: bool = False) -> None:
        self.messageLabel.setObjectName("ErrorLabel" if error else "MutedLabel")
        self.messageLabel.style().polish(self.messageLabel)
        self.messageLabel.setText(text)

    def _drop_job(self, attr: str) -> None:
        """Discard the previous job of this kind, so its late result cannot overwrite a newer
        one's."""
        job = getattr(self, attr)
        if job is not None:
            job.discard()
            setattr(self, attr, None)
