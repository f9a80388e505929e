"""What this computer can run, found out once and off the GUI thread.

``probe_hardware()`` may import llama.cpp and wait seconds for ``nvidia-smi``: pages that need
its answer (first run, Models, Hub search) show "Checking this computer…" and fill in their
recommendation or verdicts when ``HardwareProbe`` reports. A known machine (tests, benchmarks)
is wrapped with ``HardwareProbe.known(info)`` and answers at once.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from app.engine import HardwareInfo, probe_hardware
from app.errors import UserFacingError

from .jobs import Job, JobLane

CHECKING_TEXT = "Checking this computer…"


class HardwareProbe(QObject):
    """Runs ``probe`` once in a worker thread; ``ready(HardwareInfo)`` or ``failed(error)``
    follow in the GUI thread. ``shutdown()`` joins the thread; idempotent."""

    ready = Signal(object)  # HardwareInfo
    failed = Signal(object)  # UserFacingError

    def __init__(
        self,
        probe: Callable[[], HardwareInfo] = probe_hardware,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._probe = probe
        self.info: HardwareInfo | None = None
        self.error: UserFacingError | None = None
        self._lane: JobLane | None = None
        self._job: Job | None = None

    @classmethod
    def known(cls, info: HardwareInfo, parent: QObject | None = None) -> HardwareProbe:
        """A probe that already has its answer (no thread)."""
        probe = cls(parent=parent)
        probe.info = info
        return probe

    def request(
        self,
        on_ready: Callable[[HardwareInfo], None],
        on_failed: Callable[[UserFacingError], None],
    ) -> None:
        """Call ``on_ready(info)`` (or ``on_failed(error)``) in the GUI thread: now if the answer
        is known, else when the probe, started here if needed, returns. The callbacks must be
        methods of objects living in the GUI thread."""
        if self.info is not None:
            on_ready(self.info)
            return
        if self.error is not None:
            on_failed(self.error)
            return
        self.ready.connect(on_ready)
        self.failed.connect(on_failed)
        self.start()

    def start(self) -> None:
        """Start probing in the background (no-op once started or answered)."""
        if self._job is not None or self.info is not None or self.error is not None:
            return
        probe = self._probe
        self._lane = JobLane("HardwareProbe", self)
        self._job = self._lane.submit(lambda job: probe(), "checking this computer")
        self._job.finished.connect(self._on_probed)
        self._job.errored.connect(self._on_failed)

    def shutdown(self) -> None:
        """Join the probe's thread (waits for a probe still running). Idempotent."""
        if self._job is not None:
            self._job.discard()
            self._job = None
        if self._lane is not None:
            self._lane.shutdown()

    @Slot(object)
    def _on_probed(self, info: HardwareInfo) -> None:
        self.info = info
        self.shutdown()  # answered once and for all: no thread stays behind
        self.ready.emit(info)

    @Slot(object)
    def _on_failed(self, error: UserFacingError) -> None:
        self.error = error
        self.shutdown()
        self.failed.emit(error)


def as_probe(hardware: HardwareInfo | HardwareProbe | None, parent: QObject) -> HardwareProbe:
    """``hardware`` as a HardwareProbe: a given probe as is, a described machine as a known
    answer, None as a new probe of this computer (owned by ``parent``)."""
    if isinstance(hardware, HardwareProbe):
        return hardware
    if hardware is not None:
        return HardwareProbe.known(hardware, parent)
    return HardwareProbe(parent=parent)
