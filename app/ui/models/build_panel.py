"""The first-run page's "Build it myself": the quantisation tool's ``all`` pipeline (fetch,
convert, quantise, validate) in a child process, shown as it goes, with a Stop that lets it
stop cleanly.

``BuildRunner`` (app.models.build_runner) runs ``qwq-desktop quantize all … --progress jsonl``
and turns its JSON-lines stream back into typed events; here that stream is a generator job on
the panel's lane, so each event arrives in the GUI thread as ``yielded``: progress drives the
bar, the rest becomes the log; the job finishes with the run's outcome. Stop asks the child to
stop (its cancel file, SIGTERM on POSIX): it finishes the tensor at hand, removes its temporary
files and keeps the finished steps; it is killed only if it does not end within the grace
period (the runner then removes what it left). A failure arrives as the tool's typed error
(``BuildError``: message, hint, actions) on the notice bar. ``built(path)`` hands the
validated GGUF on.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QPlainTextEdit, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.errors import AppError, UserFacingError
from app.models.build_runner import BuildRunner
from app.sizes import format_bytes
from app.ui.common.jobs import Job, JobLane
from app.ui.common.notices import NoticeBridge, guarded
from app.ui.common.widgets import muted_label, row_of
from quantize.events import (
    Cancelled,
    Cleanup,
    Estimated,
    Event,
    Log,
    Progress,
    Result,
    StepFinished,
    StepSkipped,
    StepStarted,
)

BUILD_REPO = "Qwen/QwQ-32B"
BUILD_TYPE = "Q4_K_M"
SHUTDOWN_GRACE_S = 10.0  # closing the app waits this long for the child to stop by itself
STOPPED_TEXT = "Stopped. Building again continues where it stopped."


def event_text(event: Event) -> str | None:
    """The log line for an event (None: not for the log)."""
    if isinstance(event, StepStarted):
        return f"{event.step}: {event.label or 'started'}"
    if isinstance(event, StepSkipped):
        return f"{event.step}: {event.reason}, skipped"
    if isinstance(event, StepFinished):
        return f"{event.step}: done in {event.seconds:.0f} s"
    if isinstance(event, Cleanup) and event.removed:
        return (
            f"Removed {len(event.removed)} partial file(s) an earlier, killed run left in "
            f"{event.folder} ({format_bytes(event.bytes_freed)} freed)"
        )
    if isinstance(event, Estimated):
        return event.text
    if isinstance(event, Log):
        return event.message
    if isinstance(event, (Result, Cancelled)):
        return event.message or None
    return None


class BuildPanel(QWidget):
    """The build's buttons, progress bar and log; see the module docstring."""

    built = Signal(str)  # path of the validated GGUF

    def __init__(self, notices: NoticeBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.notices = notices
        self.executable: str | None = None  # the program the build runs (None: this one)
        self.lane = JobLane("ModelBuild", self)
        self.job: Job | None = None
        self.runner: BuildRunner | None = None
        self._step = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.buildButton = QPushButton("Build it myself from the Hugging Face weights…")
        self.buildButton.setToolTip(
            f"Downloads {BUILD_REPO} (about 65 GB), converts and quantises it to {BUILD_TYPE} "
            "and validates the result. Needs about 150 GB of free disk space and hours."
        )
        self.stopBuildButton = QPushButton("Stop building")
        layout.addLayout(row_of(self.buildButton, self.stopBuildButton))
        layout.addWidget(muted_label(self.buildButton.toolTip()))
        self.buildProgress = QProgressBar()
        self.buildProgress.setRange(0, 100)
        self.buildLog = QPlainTextEdit()
        self.buildLog.setReadOnly(True)
        self.buildLog.setMaximumBlockCount(2000)
        self.buildLog.setPlaceholderText("Output of the quantisation tool")
        self.buildLog.setAccessibleName("Build log")
        layout.addWidget(self.buildProgress)
        layout.addWidget(self.buildLog, 1)
        self.stopBuildButton.clicked.connect(self.stop)
        self._show(False)

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.running

    def start(
        self,
        repo_id: str,
        qtype: str,
        work_dir: Path,
        extra_args: tuple[str, ...] = (),
    ) -> Job:
        """Run ``qwq-desktop quantize all REPO --type QTYPE --dir WORK_DIR`` (plus the
        JSON-lines and cancel-file options) as a job; returns it."""
        runner = BuildRunner.for_model(
            repo_id, work_dir, qtype=qtype, extra_args=extra_args, executable=self.executable
        )
        self.runner, self._step = runner, ""
        self.buildLog.clear()
        self.buildProgress.setValue(0)
        shown = runner.argv[runner.argv.index("quantize") + 1 :]
        self.buildLog.appendPlainText(f"$ qwq-desktop quantize {' '.join(shown)}")
        self.job = self.lane.submit(lambda job: _events(runner), "building the model")
        self.job.yielded.connect(self._on_event)
        self.job.finished.connect(self._on_exit)
        self.job.errored.connect(self._on_failed)
        self._show(True)
        return self.job

    @Slot()
    @guarded("stopping the build")
    def stop(self) -> None:
        """Ask the build to stop; finished steps are kept and the next build continues from
        them. The child is killed only if it does not stop within the grace period."""
        if self.runner is not None and self.running and not self.runner.stop_requested:
            self.buildLog.appendPlainText("Stopping at the next safe point…")
            self.stopBuildButton.setEnabled(False)
            self.runner.stop(wait=False)

    def shutdown(self) -> None:
        """Stop a running build (waiting up to ``SHUTDOWN_GRACE_S`` for it) and the thread."""
        if self.runner is not None and self.running:
            self.runner.stop(SHUTDOWN_GRACE_S, wait=False)
        self.lane.shutdown()

    @Slot(object)
    @guarded("showing the build's progress")
    def _on_event(self, event: Event) -> None:
        if isinstance(event, Progress):
            fraction = event.fraction
            if fraction is not None:
                self.buildProgress.setValue(int(fraction * 100))
                self.buildProgress.setFormat(f"{event.step} %p%")
            return
        if isinstance(event, StepStarted):
            self._step = event.step
            self.buildProgress.setValue(0)
        text = event_text(event)
        if text:
            self.buildLog.appendPlainText(text)

    @Slot(object)
    @guarded("adding the built model")
    def _on_exit(self, outcome: Result | Cancelled) -> None:
        """The run's last word: a Result (validated or not) or, once stopped, Cancelled."""
        self._show(False)
        if isinstance(outcome, Cancelled):
            self.buildLog.appendPlainText(STOPPED_TEXT)
        elif outcome.ok and outcome.output:
            self.buildLog.appendPlainText(f"Validated: {outcome.output}. Adding it to your models…")
            self.built.emit(outcome.output)
        else:
            self.notices.report(
                AppError(
                    outcome.message
                    or f"Building the model stopped (exit code {outcome.exit_code})",
                    "the log above says why; fix it and build again to continue",
                )
            )

    @Slot(object)
    def _on_failed(self, error: UserFacingError) -> None:
        """The tool's own typed error (``BuildError``: message, hint, actions; a crash with
        its stderr as details), or the child could not be started."""
        self._show(False)
        self.notices.report(error, "building the model")

    def _show(self, running: bool) -> None:
        self.buildButton.setEnabled(not running)
        self.stopBuildButton.setVisible(running)
        self.stopBuildButton.setEnabled(running)
        self.buildProgress.setVisible(running)
        self.buildLog.setVisible(running or bool(self.buildLog.toPlainText()))


def _events(runner: BuildRunner):
    """The build's events (lane thread), then its outcome (``BuildRunner.outcome``: raises the
    tool's typed error). Closed early (the app is closing), it waits for the child, which was
    asked to stop, to end."""
    try:
        runner.start()
    except OSError as exc:
        raise AppError(f"Could not start {runner.argv[0]}", exc.strerror or str(exc)) from exc
    try:
        yield from runner.events()
    finally:
        if runner.running:
            with contextlib.suppress(Exception):
                runner.stop(SHUTDOWN_GRACE_S)
    return runner.outcome()
