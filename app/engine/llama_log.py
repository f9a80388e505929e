"""Capture llama.cpp's log while a model loads, to report what it really allocated and
offloaded, and keep its last words for the user when something fails (``llama_failure_details``;
``install_abort_reporter`` for the native aborts no Python code survives)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.paths import app_paths

MiB = 2**20
CRASH_LOG_NAME = "llama-crash.log"


@dataclass
class LoadReport:
    """What llama.cpp said while loading: buffer sizes (bytes), offloaded layers, devices."""

    model_buffers: dict[str, int] = field(default_factory=dict)
    kv_buffers: dict[str, int] = field(default_factory=dict)
    compute_buffers: dict[str, int] = field(default_factory=dict)
    offloaded_layers: int | None = None
    total_layers: int | None = None
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # from the file check before the load
    log_text: str = field(default="", repr=False)

    @property
    def model_bytes(self) -> int:
        return sum(self.model_buffers.values())

    @property
    def kv_bytes(self) -> int:
        return sum(self.kv_buffers.values())

    @property
    def compute_bytes(self) -> int:
        return sum(self.compute_buffers.values())

    @property
    def total_bytes(self) -> int:
        return self.model_bytes + self.kv_bytes + self.compute_bytes

    def gpu_devices(self) -> list[str]:
        names = set(self.model_buffers) | set(self.kv_buffers) | set(self.compute_buffers)
        return sorted(n for n in names if not n.upper().startswith("CPU"))


_MODEL_RE = re.compile(r"(\S+) model buffer size\s*=\s*([\d.]+) MiB")
_KV_RE = re.compile(r"(\S+) KV buffer size\s*=\s*([\d.]+) MiB")
_COMPUTE_RE = re.compile(r"(\S+)\s+(?:compute|output) buffer size\s*=\s*([\d.]+) MiB")
_OFFLOAD_RE = re.compile(r"offloaded (\d+)/(\d+) layers to GPU")


def parse_log(text: str, report: LoadReport | None = None) -> LoadReport:
    """Parse llama.cpp log text into a LoadReport."""
    report = report or LoadReport()
    for regex, target in (
        (_MODEL_RE, report.model_buffers),
        (_KV_RE, report.kv_buffers),
        (_COMPUTE_RE, report.compute_buffers),
    ):
        for name, size in regex.findall(text):
            target[name] = target.get(name, 0) + int(float(size) * MiB)
    m = _OFFLOAD_RE.search(text)
    if m:
        report.offloaded_layers, report.total_layers = int(m.group(1)), int(m.group(2))
    report.errors += [line for line in text.splitlines() if "error" in line.lower()]
    return report


@contextlib.contextmanager
def capture_llama_log(quiet: bool = False) -> Iterator[list[str]]:
    """Collect llama.cpp log lines (in a list) for the duration of the block.

    Lines are also passed on to llama-cpp-python's logger (which prints them when verbose)
    unless ``quiet``. llama.cpp has one log hook per process: this shares the quantisation
    tool's capture (and its lock), so the two never take the hook from each other.
    """
    from llama_cpp import _logger

    from quantize.llama_log import captured_llama_log

    def forward(line: str) -> None:
        _logger.llama_log_callback(1, line.encode("utf-8"), None)

    with captured_llama_log(None if quiet else forward) as lines:
        yield lines


def failure_details(lines: list[str] | None = None, limit: int = 12) -> str | None:
    """llama.cpp's last log lines for an error's ``details`` ("llama.cpp's last messages:"
    and the lines): from ``lines`` (a capture) or else from the process-wide recent log."""
    from quantize.llama_log import recent_llama_log, useful_lines

    tail = useful_lines("".join(lines).splitlines())[-limit:] if lines else []
    tail = tail or recent_llama_log(limit)
    return "llama.cpp's last messages:\n" + "\n".join(tail) if tail else None


def crash_log_path() -> Path | None:
    """Where a native abort's report is appended (the app's log folder), or None."""
    try:
        folder = app_paths().logs_dir
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder / CRASH_LOG_NAME


def arm_abort_reporter() -> bool:
    """quantize.llama_log.install_abort_reporter with the app's crash log (llama-crash.log in
    the log folder): a native abort's report goes to standard error and there."""
    from quantize.llama_log import install_abort_reporter

    return install_abort_reporter(crash_log_path())
