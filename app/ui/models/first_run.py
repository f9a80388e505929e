"""First-run screen: what this machine should run and why, and three ways to get a model.

1. **Download** the recommended catalogue file (verified, resumable; progress with speed and
   time left; pause/resume/cancel). A paused download from an earlier session shows up here.
2. **I have a GGUF file**: import it (checked first; linked in place or copied).
3. **Build it myself**: runs the quantisation tool's ``all`` pipeline (fetch, convert,
   quantise, validate) as a child process (``BuildPanel``: progress from its JSON-lines
   events, a Stop that lets it stop cleanly); the validated GGUF is then moved into the models
   folder. The child is ``qwq-desktop quantize …``: the app's own executable in the packaged
   app, ``python -m app.cli quantize …`` from source.

The recommendation appears once ``HardwareProbe`` has looked at this computer (off the GUI
thread); until then the page says it is checking and offers the other two ways.

``modelReady(name)`` announces an installed model the main window can load. Standalone widget:
it needs a ModelRegistry and a DownloadQueue, nothing from the main window. Imports run as jobs
on the page's lane; every error reaches the page's notice bar through its ``NoticeBridge``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.engine import HardwareInfo
from app.errors import UserFacingError
from app.models import (
    Catalogue,
    DownloadTask,
    ModelRegistry,
    Recommendation,
    TaskState,
    describe_hardware,
    import_gguf,
    load_catalogue,
    recommend,
)
from app.sizes import format_bytes
from app.ui.common.hardware_probe import CHECKING_TEXT, HardwareProbe, as_probe
from app.ui.common.jobs import Job, JobLane
from app.ui.common.notices import NoticeBar, NoticeBridge, guarded
from app.ui.common.widgets import muted_label, row_of, separator

from .build_panel import BUILD_REPO, BUILD_TYPE, BuildPanel
from .download_controls import DownloadControls
from .download_queue import DownloadQueue


class FirstRunPage(QWidget):
    """Shown while no model is installed; emits ``modelReady(name)`` once one is."""

    modelReady = Signal(str)
    searchHubRequested = Signal()  # "Search the Hub…": other GGUF models by name

    def __init__(
        self,
        registry: ModelRegistry,
        bridge: DownloadQueue,
        *,
        catalogue: Catalogue | None = None,
        hardware: HardwareInfo | HardwareProbe | None = None,
        executable: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``hardware``: a described machine, a (shared) HardwareProbe, or None to probe this
        computer in the background. ``executable``: the program the build runs (default: this
        Python, or the packaged app)."""
        super().__init__(parent)
        self.setObjectName("FirstRunPage")
        self.registry = registry
        self.bridge = bridge
        self.catalogue = catalogue or load_catalogue()
        self.probe = as_probe(hardware, self)
        self.hardware: HardwareInfo | None = None
        self.recommendation: Recommendation | None = None  # known once the probe answers
        self.executable = executable
        self.task: DownloadTask | None = None
        self.notices = NoticeBridge(self)
        self.lane = JobLane("ModelImport", self)
        self.job: Job | None = None
        self.build_dir: Path | None = None
        self._build_ui()
        self.bridge.taskChanged.connect(self._on_task)
        self.bridge.taskFailed.connect(self._on_task_failed)
        self.probe.request(self._on_hardware, self._on_hardware_failed)

    # -- layout ------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 32, 40, 32)
        layout.setSpacing(12)

        title = QLabel("Set up a model")
        title.setObjectName("EmptyTitle")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        title.setFont(font)
        layout.addWidget(title)
        intro = QLabel(
            "QwQ Desktop runs models on this computer: nothing you type leaves it. "
            "Choose how to get one."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)

        self.recommendationLabel = QLabel(CHECKING_TEXT)
        self.recommendationLabel.setWordWrap(True)
        self.recommendationLabel.setTextFormat(Qt.TextFormat.PlainText)
        self.recommendationLabel.setAccessibleName("Recommended model")
        self.reasonLabel = muted_label(
            "The recommendation depends on its memory and graphics card. You can import or "
            "build a model meanwhile."
        )
        layout.addWidget(self.recommendationLabel)
        layout.addWidget(self.reasonLabel)

        # 1. download
        self.downloadButton = QPushButton("Download")
        self.downloadButton.setObjectName("PrimaryButton")
        self.downloadButton.setEnabled(False)
        self.downloadButton.clicked.connect(self.start_download)
        controls = DownloadControls(
            self.bridge, self.notices, self.downloadButton, keep_finished=True, spacing=12
        )
        controls.resumed.connect(self._clear_error)
        self.download_controls = controls
        self.pauseButton, self.cancelButton = controls.pauseButton, controls.cancelButton
        self.progressBar, self.statusLabel = controls.progressBar, controls.statusLabel
        layout.addWidget(controls)
        self.searchHubButton = QPushButton("Search the Hub for other GGUF models…")
        self.searchHubButton.setToolTip(
            "Find GGUF models on the Hugging Face Hub by name and see which fit this computer"
        )
        self.searchHubButton.clicked.connect(self.searchHubRequested)
        layout.addLayout(row_of(self.searchHubButton))

        layout.addWidget(separator())

        # 2. import
        self.importButton = QPushButton("I have a GGUF file…")
        self.importButton.clicked.connect(self._choose_file)
        self.copyCheck = QCheckBox("Copy it into the app's models folder")
        self.copyCheck.setToolTip("Otherwise the file is used where it is and must stay there.")
        layout.addLayout(row_of(self.importButton, self.copyCheck))
        layout.addWidget(
            muted_label(
                "Use a .gguf model you already have. It is checked before it is listed; unless "
                "copied, it stays where it is."
            )
        )
        layout.addWidget(separator())

        # 3. build
        self.build_panel = BuildPanel(self.notices, self)
        self.build_panel.executable = self.executable
        self.build_panel.built.connect(self._on_built)
        layout.addWidget(self.build_panel, 1)
        panel = self.build_panel
        self.buildButton, self.stopBuildButton = panel.buildButton, panel.stopBuildButton
        self.buildProgress, self.buildLog = panel.buildProgress, panel.buildLog
        self.buildButton.clicked.connect(self._on_build_clicked)

        self.notice_bar = NoticeBar(self)
        self.notices.posted.connect(self.notice_bar.show_notice)
        layout.addWidget(self.notice_bar)
        layout.addStretch(1)
        self._show_download(None)

    # -- recommendation ------------------------------------------------------------------------
    def _on_hardware(self, hardware: HardwareInfo) -> None:
        """The probe answered: show what this computer should run and offer to download it."""
        self.hardware = hardware
        rec = self.recommendation = recommend(self.catalogue, hardware)
        self.reasonLabel.setText(rec.reason)
        if rec.entry is not None:
            self.recommendationLabel.setText(
                f"Recommended for this computer: {rec.entry.display_name} "
                f"(about {format_bytes(rec.entry.approx_size_bytes)} to download)"
            )
            self.downloadButton.setText(f"Download {rec.entry.display_name}")
        else:
            machine = describe_hardware(hardware)
            self.recommendationLabel.setText(
                f"No model in the catalogue fits this computer ({machine})."
            )
        self._adopt_paused_download()
        self._show_download(self.task)

    def _on_hardware_failed(self, error: UserFacingError) -> None:
        self.recommendationLabel.setText("Could not check what this computer can run.")
        self.reasonLabel.setText(f"{error.text()} You can still import or build a model.")

    def _entry(self):
        return self.recommendation.entry if self.recommendation is not None else None

    # -- download ----------------------------------------------------------------------------
    @Slot()
    @guarded("starting the download")
    def start_download(self) -> None:
        """Queue the recommended file (or resume it if it was paused)."""
        entry = self._entry()
        if entry is None:
            return
        self._clear_error()
        self.task = self.bridge.enqueue_entry(entry, self.recommendation.load_settings())
        self._show_download(self.task)

    def _adopt_paused_download(self) -> None:
        entry = self._entry()
        wanted = (entry.repo_id, entry.filename) if entry is not None else None
        for task in self.bridge.tasks():
            if (task.repo_id, task.filename) == wanted and not task.state.finished:
                self.task = task
                self._show_download(task)

    @Slot(object)
    @guarded("showing the download")
    def _on_task(self, task: DownloadTask) -> None:
        if self.task is None or task.id != self.task.id:
            return
        self.task = task
        self._show_download(task)
        if task.state == TaskState.DONE and task.model_name:
            self.modelReady.emit(task.model_name)

    @Slot(object, object)
    def _on_task_failed(self, task: DownloadTask, error: UserFacingError) -> None:
        if self.task is not None and task.id == self.task.id:
            self._show_error(error)

    def _show_download(self, task: DownloadTask | None) -> None:
        self.download_controls.show_task(task)
        active = self.download_controls.active()
        self.downloadButton.setEnabled(self._entry() is not None and not active)

    # -- import ------------------------------------------------------------------------------
    @Slot()
    @guarded("importing a model file")
    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a GGUF model file", str(Path.home()), "GGUF models (*.gguf)"
        )
        if path:
            self.import_file(path, copy=self.copyCheck.isChecked())

    def import_file(self, path: str | Path, *, copy: bool = False) -> Job:
        """Check and import ``path`` in the background (copied, or linked in place)."""
        self._clear_error()
        mode = "copy" if copy else "link"
        self.statusLabel.setVisible(True)
        self.statusLabel.setText(f"Checking {Path(path).name}…")
        return self._run_job(path, mode, "importing the model file")

    # -- build (BuildPanel) ---------------------------------------------------------------
    @Slot()
    @guarded("starting the build")
    def _on_build_clicked(self) -> None:
        self.start_build()

    def start_build(
        self,
        repo_id: str = BUILD_REPO,
        qtype: str = BUILD_TYPE,
        work_dir: Path | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> Job:
        """Run ``qwq-desktop quantize all REPO --type QTYPE --dir WORK`` (see ``BuildPanel``);
        the validated GGUF is then moved into the models folder."""
        self._clear_error()
        stem = repo_id.split("/")[-1].lower()
        self.build_dir = work_dir or self.registry.paths.cache_dir / "build" / stem
        self.build_panel.executable = self.executable
        return self.build_panel.start(repo_id, qtype, self.build_dir, extra_args)

    @Slot()
    def stop_build(self) -> None:
        """Ask the build to stop; finished steps are kept and the next build continues."""
        self.build_panel.stop()

    @Slot(str)
    @guarded("adding the built model")
    def _on_built(self, path: str) -> None:
        self._run_job(path, "move", "adding the built model")

    # -- jobs and errors ---------------------------------------------------------------------
    def _run_job(self, path: str | Path, mode: str, doing: str) -> Job:
        """Import ``path`` (``mode`` "copy", "link" or "move") in the background."""
        if self.job is not None:
            self.job.discard()
        registry = self.registry

        def work(job: Job):
            report = lambda done, total: job.emit((done, total))  # noqa: E731
            return import_gguf(registry, path, mode=mode, on_bytes=report, cancel=job.cancel)

        self.job = self.lane.submit(work, doing)
        self.job.yielded.connect(self._on_job_progress)
        self.job.finished.connect(self._on_job_finished)
        self.job.errored.connect(self._on_job_failed)
        self.importButton.setEnabled(False)
        return self.job

    @Slot(object)
    def _on_job_progress(self, progress: tuple[int, int]) -> None:
        done, total = progress
        self.statusLabel.setText(f"Copying: {format_bytes(done)} of {format_bytes(total)}")

    @Slot(object)
    @guarded("adding the model")
    def _on_job_finished(self, model) -> None:
        self.importButton.setEnabled(True)
        self.statusLabel.setText(f"Added {model.name} ({model.architecture}, {model.quant})")
        self.modelReady.emit(model.name)

    @Slot(object)
    def _on_job_failed(self, error: UserFacingError) -> None:
        self.importButton.setEnabled(True)
        self.statusLabel.setText("")
        self._show_error(error)

    def _show_error(self, error: UserFacingError) -> None:
        self.notices.report(error)

    @Slot()
    def _clear_error(self) -> None:
        self.notice_bar.dismiss()

    def shutdown(self) -> None:
        """Stop background work owned by this page (downloads belong to the bridge; a shared
        hardware probe to whoever shared it)."""
        self.build_panel.shutdown()
        if self.probe.parent() is self:
            self.probe.shutdown()
        self.lane.shutdown()
        self.job = None
