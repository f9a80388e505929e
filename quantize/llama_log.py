"""Route llama.cpp's log into Python while the tool calls it: quiet terminals, and error lines
that can go into the tool's own messages."""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections.abc import Callable, Iterator

_lock = threading.Lock()


@contextlib.contextmanager
def captured_llama_log(on_line: Callable[[str], None] | None = None) -> Iterator[list[str]]:
    """Collect llama.cpp's log lines for the block (instead of printing them); ``on_line`` is
    called for each line as it arrives. The previous logger is restored afterwards."""
    import llama_cpp
    from llama_cpp import _logger

    lines: list[str] = []

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        line = text.decode("utf-8", errors="replace")
        lines.append(line)
        if on_line is not None:
            on_line(line)

    with _lock:
        llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
        try:
            yield lines
        finally:
            llama_cpp.llama_log_set(_logger.llama_log_callback, ctypes.c_void_p(0))


def error_lines(lines: list[str], limit: int = 3) -> str:
    """The last few error-looking lines of a captured log, joined for a message."""
    errors = [ln.strip() for ln in lines if "error" in ln.lower() or "failed" in ln.lower()]
    return "; ".join(errors[-limit:])
