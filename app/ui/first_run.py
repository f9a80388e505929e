"""First-run screen: what this machine should run and why, and three ways to get a model.

1. **Download** the recommended catalogue file (verified, resumable; progress with speed and
   time left; pause/resume/cancel). A paused download from an earlier session shows up here.
2. **I have a GGUF file**: import it (checked first; linked in place or copied).
3. **Build it myself**: runs the quantisation tool's ``all`` pipeline (fetch, convert,
   quantise, validate) as a child process with its log and progress; the validated GGUF is
   then moved into the models folder. The child is ``qwq-desktop quantize …``: the app's own
   executable in the packaged app, ``python -m app.cli quantize …`` from source.

The recommendation appears once ``HardwareProbe`` has looked at this computer (off the GUI
thread); until then the page says it is checking and offers the other two ways.

``modelReady(name)`` announces an installed model the main window can load. Standalone widget:
it needs a ModelRegistry and a DownloadBridge, nothing from the main window.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from PySide6.QtCore import QProcess, QProcessEnvironment, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.engine import HardwareInfo
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

from .download_bridge import DownloadBridge, ModelJob
from .engine_worker import UserFacingError
from .hardware_probe import CHECKING_TEXT, HardwareProbe, as_probe

BUILD_REPO = "Qwen/QwQ-32B"
BUILD_TYPE = "Q4_K_M"
_PERCENT = re.compile(r"(\d{1,3})%\|")
_STEP = re.compile(r"^(fetch|convert|quantize|validate)\b")


def quantize_command(
    args: list[str], *, executable: str | None = None, frozen: bool | None = None
) -> list[str]:
    """The command line running ``qwq-desktop quantize ARGS``, program first.

    In the packaged app (PyInstaller sets ``sys.frozen``) ``sys.executable`` is the app itself,
    which has the ``quantize`` subcommand; from source it is a Python interpreter, which runs the
    same entry point as ``-m app.cli``.
    """
    executable = executable or sys.executable
    frozen = getattr(sys, "frozen", False) if frozen is None else frozen
    if frozen:
        return [executable, "quantize", *args]
    return [executable, "-m", "app.cli", "quantize", *args]


def format_bytes(n: int | None) -> str:
    if not n:
        return "0 MB"
    return f"{n / 1e9:.2f} GB" if n >= 10**9 else f"{n / 1e6:.1f} MB"


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min left"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s left"
    return f"{s} s left"


def describe_task(task: DownloadTask) -> str:
    """ "45% · 8.98 GB of 19.85 GB · 52.3 MB/s · 3 min 28 s left" (or the state in words)."""
    parts = []
    if task.fraction is not None:
        parts.append(f"{task.fraction:.0%}")
    parts.append(f"{format_bytes(task.done_bytes)} of {format_bytes(task.total_bytes)}")
    if task.state == TaskState.RUNNING:
        if task.phase == "starting":
            return "Connecting to the Hugging Face Hub…"
        if task.phase == "checking":
            parts.insert(0, "Checking the part already downloaded")
        elif task.phase == "retrying":
            parts.insert(0, "Connection lost, retrying")
        if task.speed:
            parts.append(f"{task.speed / 1e6:.1f} MB/s")
        if task.eta is not None and task.phase == "downloading":
            parts.append(format_eta(task.eta))
    elif task.state == TaskState.PAUSED:
        parts.insert(0, "Paused")
    elif task.state == TaskState.QUEUED:
        parts.insert(0, "Waiting")
    elif task.state == TaskState.DONE:
        return "Downloaded and verified"
    elif task.state == TaskState.CANCELLED:
        return "Cancelled"
    elif task.state == TaskState.FAILED:
        parts.insert(0, "Stopped")
    return " · ".join(parts)


class FirstRunPage(QWidget):
    """Shown while no model is installed; emits ``modelReady(name)`` once one is."""

    modelReady = Signal(str)
    searchHubRequested = Signal()  # "Search the Hub…": other GGUF models by name

    def __init__(
        self,
        registry: ModelRegistry,
        bridge: DownloadBridge,
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
        self.job: ModelJob | None = None
        self.build: QProcess | None = None
        self.build_dir: Path | None = None
        self._build_tail = ""
        self._build_step = ""
        self._build_repo = BUILD_REPO
        self._build_type = BUILD_TYPE
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
        self.reasonLabel = QLabel(
            "The recommendation depends on its memory and graphics card. You can import or "
            "build a model meanwhile."
        )
        self.reasonLabel.setObjectName("MutedLabel")
        self.reasonLabel.setWordWrap(True)
        layout.addWidget(self.recommendationLabel)
        layout.addWidget(self.reasonLabel)

        # 1. download
        download_row = QHBoxLayout()
        self.downloadButton = QPushButton("Download")
        self.downloadButton.setObjectName("PrimaryButton")
        self.downloadButton.setEnabled(False)
        self.downloadButton.clicked.connect(self.start_download)
        self.pauseButton = QPushButton("Pause")
        self.pauseButton.clicked.connect(self._toggle_pause)
        self.cancelButton = QPushButton("Cancel download")
        self.cancelButton.clicked.connect(self._cancel_download)
        download_row.addWidget(self.downloadButton)
        download_row.addWidget(self.pauseButton)
        download_row.addWidget(self.cancelButton)
        download_row.addStretch(1)
        layout.addLayout(download_row)
        self.progressBar = QProgressBar()
        self.progressBar.setRange(0, 1000)
        self.progressBar.setTextVisible(False)
        self.statusLabel = QLabel()
        self.statusLabel.setObjectName("MutedLabel")
        layout.addWidget(self.progressBar)
        layout.addWidget(self.statusLabel)
        search_row = QHBoxLayout()
        self.searchHubButton = QPushButton("Search the Hub for other GGUF models…")
        self.searchHubButton.setToolTip(
            "Find GGUF models on the Hugging Face Hub by name and see which fit this computer"
        )
        self.searchHubButton.clicked.connect(self.searchHubRequested)
        search_row.addWidget(self.searchHubButton)
        search_row.addStretch(1)
        layout.addLayout(search_row)

        layout.addWidget(_separator())

        # 2. import
        import_row = QHBoxLayout()
        self.importButton = QPushButton("I have a GGUF file…")
        self.importButton.clicked.connect(self._choose_file)
        self.copyCheck = QCheckBox("Copy it into the app's models folder")
        self.copyCheck.setToolTip("Otherwise the file is used where it is and must stay there.")
        import_row.addWidget(self.importButton)
        import_row.addWidget(self.copyCheck)
        import_row.addStretch(1)
        layout.addLayout(import_row)
        layout.addWidget(
            _muted(
                "Use a .gguf model you already have. It is checked before it is listed; unless "
                "copied, it stays where it is."
            )
        )
        layout.addWidget(_separator())

        # 3. build
        build_row = QHBoxLayout()
        self.buildButton = QPushButton("Build it myself from the Hugging Face weights…")
        self.buildButton.setToolTip(
            f"Downloads {BUILD_REPO} (about 65 GB), converts and quantises it to {BUILD_TYPE} "
            "and validates the result. Needs about 150 GB of free disk space and hours."
        )
        self.buildButton.clicked.connect(lambda: self.start_build())
        self.stopBuildButton = QPushButton("Stop building")
        self.stopBuildButton.clicked.connect(self.stop_build)
        build_row.addWidget(self.buildButton)
        build_row.addWidget(self.stopBuildButton)
        build_row.addStretch(1)
        layout.addLayout(build_row)
        layout.addWidget(_muted(self.buildButton.toolTip()))
        self.buildProgress = QProgressBar()
        self.buildProgress.setRange(0, 100)
        self.buildLog = QPlainTextEdit()
        self.buildLog.setReadOnly(True)
        self.buildLog.setMaximumBlockCount(2000)
        self.buildLog.setPlaceholderText("Output of the quantisation tool")
        self.buildLog.setAccessibleName("Build log")
        layout.addWidget(self.buildProgress)
        layout.addWidget(self.buildLog, 1)

        self.errorLabel = QLabel()
        self.errorLabel.setObjectName("ErrorLabel")
        self.errorLabel.setWordWrap(True)
        self.errorLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.errorLabel)
        layout.addStretch(1)
        self._show_download(None)
        self._show_build(False)

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
        for task in self.bridge.tasks():
            if (
                entry is not None
                and (task.repo_id, task.filename)
                == (
                    entry.repo_id,
                    entry.filename,
                )
                and not task.state.finished
            ):
                self.task = task
                self._show_download(task)

    @Slot(object)
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

    @Slot()
    def _toggle_pause(self) -> None:
        if self.task is None:
            return
        if self.task.state in (TaskState.RUNNING, TaskState.QUEUED):
            self.bridge.pause(self.task.id)
        else:
            self._clear_error()
            self.bridge.resume(self.task.id)

    @Slot()
    def _cancel_download(self) -> None:
        if self.task is not None:
            self.bridge.cancel(self.task.id)

    def _show_download(self, task: DownloadTask | None) -> None:
        active = task is not None and task.state not in (TaskState.DONE, TaskState.CANCELLED)
        self.downloadButton.setEnabled(self._entry() is not None and not active)
        self.pauseButton.setVisible(active)
        self.cancelButton.setVisible(active)
        self.progressBar.setVisible(task is not None)
        self.statusLabel.setVisible(task is not None)
        if task is None:
            return
        running = task.state in (TaskState.RUNNING, TaskState.QUEUED)
        self.pauseButton.setText("Pause" if running else "Resume")
        fraction = task.fraction if task.state != TaskState.DONE else 1.0
        self.progressBar.setValue(int((fraction or 0) * 1000))
        self.statusLabel.setText(describe_task(task))

    # -- import ------------------------------------------------------------------------------
    @Slot()
    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a GGUF model file", str(Path.home()), "GGUF models (*.gguf)"
        )
        if path:
            self.import_file(path, copy=self.copyCheck.isChecked())

    def import_file(self, path: str | Path, *, copy: bool = False) -> ModelJob:
        """Check and import ``path`` in the background (copied, or linked in place)."""
        self._clear_error()
        mode = "copy" if copy else "link"
        self.statusLabel.setVisible(True)
        self.statusLabel.setText(f"Checking {Path(path).name}…")

        def work(report):
            return import_gguf(
                self.registry, path, mode=mode, on_bytes=report, cancel=self._job_cancel()
            )

        return self._run_job(work, "importing the model file")

    # -- build -------------------------------------------------------------------------------
    def start_build(
        self,
        repo_id: str = BUILD_REPO,
        qtype: str = BUILD_TYPE,
        work_dir: Path | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> QProcess:
        """Run ``qwq-desktop quantize all REPO --type QTYPE --dir WORK`` as a child process
        (see ``quantize_command``)."""
        self._clear_error()
        stem = repo_id.split("/")[-1].lower()
        self.build_dir = work_dir or self.registry.paths.cache_dir / "build" / stem
        self._build_repo, self._build_type = repo_id, qtype
        self.buildLog.clear()
        self.buildProgress.setValue(0)
        process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        process.setProcessEnvironment(env)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.readyReadStandardOutput.connect(self._on_build_output)
        process.finished.connect(self._on_build_finished)
        process.errorOccurred.connect(self._on_build_error)
        args = ["all", repo_id, "--type", qtype, "--dir", str(self.build_dir), *extra_args]
        program, *arguments = quantize_command(args, executable=self.executable)
        self.build = process
        self._show_build(True)
        self.buildLog.appendPlainText(f"$ qwq-desktop quantize {' '.join(args)}")
        process.start(program, arguments)
        return process

    @Slot()
    def stop_build(self) -> None:
        """Stop the pipeline; finished steps are kept and the next build continues from them."""
        if self.build is not None and self.build.state() != QProcess.ProcessState.NotRunning:
            self.buildLog.appendPlainText("Stopped. Building again continues where it stopped.")
            self.build.kill()
            self.build.waitForFinished(5000)

    @Slot()
    def _on_build_output(self) -> None:
        if self.build is None:
            return
        text = self._build_tail + bytes(self.build.readAllStandardOutput()).decode(
            "utf-8", "replace"
        )
        pieces = re.split(r"[\r\n]", text)
        self._build_tail = pieces.pop()
        for piece in pieces:
            line = piece.strip()
            if not line:
                continue
            percent = _PERCENT.search(line)
            if percent:
                self.buildProgress.setValue(min(100, int(percent.group(1))))
                self.buildProgress.setFormat(f"{self._build_step} %p%")
                continue
            step = _STEP.match(line)
            if step:
                self._build_step = step.group(1)
            self.buildLog.appendPlainText(line)

    @Slot(int, QProcess.ExitStatus)
    def _on_build_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._on_build_output()
        process, self.build = self.build, None
        if process is not None:
            process.deleteLater()
        self._show_build(False)
        if status != QProcess.ExitStatus.NormalExit:
            return  # stopped by the user (or killed): the log says so
        if code != 0:
            self._show_error(
                UserFacingError(
                    f"Building the model stopped with exit code {code}",
                    "the log above says why; fix it and build again to continue",
                )
            )
            return
        from quantize.pipeline import RunPlan

        plan = RunPlan(self._build_repo, self.build_dir, qtype=self._build_type)
        self.buildLog.appendPlainText(f"Validated: {plan.quantized}. Adding it to your models…")

        def work(report):
            return import_gguf(self.registry, plan.quantized, mode="move", on_bytes=report)

        self._run_job(work, "adding the built model")

    @Slot(QProcess.ProcessError)
    def _on_build_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            program = quantize_command([], executable=self.executable)[0]
            self._show_error(UserFacingError(f"Could not start {program}", None))
            process, self.build = self.build, None
            if process is not None:
                process.deleteLater()
            self._show_build(False)

    def _show_build(self, running: bool) -> None:
        self.buildButton.setEnabled(not running)
        self.stopBuildButton.setVisible(running)
        self.buildProgress.setVisible(running)
        self.buildLog.setVisible(running or bool(self.buildLog.toPlainText()))

    # -- jobs and errors ---------------------------------------------------------------------
    def _job_cancel(self):
        return self.job.cancel if self.job is not None else None

    def _run_job(self, work, doing: str) -> ModelJob:
        if self.job is not None:
            self.job.discard()
        self.job = ModelJob(work, doing, self)
        self.job.progress.connect(self._on_job_progress)
        self.job.finished.connect(self._on_job_finished)
        self.job.failed.connect(self._on_job_failed)
        self.importButton.setEnabled(False)
        return self.job.start()

    @Slot(object, object)
    def _on_job_progress(self, done: int, total: int) -> None:
        self.statusLabel.setText(f"Copying: {format_bytes(done)} of {format_bytes(total)}")

    @Slot(object)
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
        self.errorLabel.setText(error.text())
        self.errorLabel.setVisible(True)

    def _clear_error(self) -> None:
        self.errorLabel.clear()
        self.errorLabel.setVisible(False)

    def shutdown(self) -> None:
        """Stop background work owned by this page (downloads belong to the bridge; a shared
        hardware probe to whoever shared it)."""
        self.stop_build()
        if self.probe.parent() is self:
            self.probe.shutdown()
        if self.job is not None:
            self.job.discard()
            self.job = None


def _muted(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("MutedLabel")
    label.setWordWrap(True)
    return label


def _separator() -> QFrame:
    line = QFrame()
    line.setObjectName("Separator")
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Plain)
    return line
