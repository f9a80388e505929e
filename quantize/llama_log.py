"""Route llama.cpp's log into Python: quiet terminals, error lines for the tool's own messages,
and llama.cpp's last words never lost.

One log hook is installed per process, the first time it is needed. It keeps the last lines
llama.cpp logged (``recent_llama_log``, debug chatter left out) whatever else happens, hands
every line to the capture block running now (``captured_llama_log``) or else, only while a
``Llama`` is verbose, to llama-cpp-python's own printer: nothing reaches stderr unasked.

``install_abort_reporter`` covers the case no Python code survives: ggml's assertions abort the
process. Its report (the failed assertion and the last log lines) goes to the standard error the
process started with, even while llama-cpp-python has pointed it at /dev/null for a quiet load,
and to a crash file when one is given.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

_lock = threading.Lock()  # one capture block at a time
_install_lock = threading.Lock()
_handlers: list[tuple[Callable[[str], None], bool]] = []  # (handler, wants debug lines)
_recent: deque[str] = deque(maxlen=400)  # pieces of text, as llama.cpp sends them
_hook: list = []  # keeps the installed ctypes callbacks alive
_LEVEL_DEBUG, _LEVEL_CONT = 1, 5  # enum ggml_log_level
_last_level = [0]
_SOURCE_PATH = re.compile(r"(?:[A-Za-z]:)?[^\s:]*[/\\]([^/\\\s:]+:\d+:)")
# The loader's dump of every key and tensor type says nothing about what went wrong.
_NOISE = re.compile(r"llama_model_loader: (- kv|- type|Dumping)")


def _install_log_hook() -> None:
    """Install the process-wide log hook once (idempotent, thread-safe)."""
    if _hook:
        return
    with _install_lock:
        if _hook:
            return
        import llama_cpp
        from llama_cpp import _logger

        forward = _logger.llama_log_callback

        @llama_cpp.llama_log_callback
        def callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
            try:
                if level != _LEVEL_CONT:
                    _last_level[0] = level
                debug = _last_level[0] == _LEVEL_DEBUG
                if not debug:
                    _recent.append(text.decode("utf-8", errors="replace"))
                if not _handlers:
                    # Outside a capture block only a verbose ``Llama`` prints; otherwise the
                    # line stays in the ring (llama-cpp-python's printer reads this build's
                    # warnings as errors and would print them on stderr).
                    if _logger.logger.level == logging.DEBUG:  # set_verbose(True)
                        forward(level, text, user_data)
                    return
                handler, with_debug = _handlers[-1]
                if with_debug or not debug:
                    handler(text.decode("utf-8", errors="replace"))
            except Exception:  # noqa: BLE001 - nothing may escape into llama.cpp's C code
                pass

        llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
        _hook.append(callback)


@contextlib.contextmanager
def captured_llama_log(
    on_line: Callable[[str], None] | None = None, *, debug: bool = True
) -> Iterator[list[str]]:
    """Collect llama.cpp's log lines for the block (instead of printing them); ``on_line`` is
    called for each line as it arrives; ``debug=False`` leaves debug lines out. Lines keep
    reaching ``recent_llama_log`` too."""
    _install_log_hook()
    lines: list[str] = []

    def handle(line: str) -> None:
        lines.append(line)
        if on_line is not None:
            on_line(line)

    with _lock:
        _handlers.append((handle, debug))
        try:
            yield lines
        finally:
            _handlers.pop()


def recent_llama_log(limit: int = 12) -> list[str]:
    """The last ``limit`` lines llama.cpp logged in this process (debug lines left out),
    source paths shortened to the file name."""
    text = "".join(list(_recent))
    return useful_lines(text.splitlines())[-limit:]


def useful_lines(lines: list[str]) -> list[str]:
    """Log lines worth showing a person: blank lines and the loader's metadata dump dropped,
    source paths shortened."""
    return [shorten(line) for line in lines if line.strip() and not _NOISE.match(line.strip())]


def shorten(line: str) -> str:
    """A log line without the build machine's source paths
    ("/tmp/pip-…/llama-vocab.cpp:2544: …" becomes "llama-vocab.cpp:2544: …")."""
    return _SOURCE_PATH.sub(r"\1", line.strip())


def error_lines(lines: list[str], limit: int = 3) -> str:
    """The last few error-looking lines of a captured log, joined for a message."""
    errors = [ln.strip() for ln in lines if "error" in ln.lower() or "failed" in ln.lower()]
    return "; ".join(errors[-limit:])


_reporter: dict = {}


def install_abort_reporter(
    crash_file: str | os.PathLike[str] | None = None, *, with_log: bool = True
) -> bool:
    """Make a native abort in ggml (a failed GGML_ASSERT) leave a report: the assertion and the
    last log lines, written to the standard error this process has now and, when given, appended
    to ``crash_file``. Idempotent (a later call may change ``crash_file``); False when this build
    of llama.cpp offers no abort hook. ``with_log=False`` reports the assertion alone (for a
    process whose log already goes to its standard error)."""
    _install_log_hook()
    with _install_lock:
        _reporter["with_log"] = with_log
        if crash_file is not None:
            _reporter["crash_file"] = str(crash_file)
        if "callback" in _reporter:
            return True
        setter = _abort_setter()
        if setter is None:
            return False
        try:
            _reporter["fd"] = os.dup(sys.stderr.fileno())
        except (OSError, ValueError, AttributeError):
            _reporter["fd"] = None

        @ctypes.CFUNCTYPE(None, ctypes.c_char_p)
        def on_abort(message: bytes | None) -> None:
            try:
                _write_abort_report((message or b"").decode("utf-8", errors="replace"))
            except BaseException:  # noqa: BLE001 - the process is ending; say what we can
                pass

        setter(on_abort)
        _reporter["callback"] = on_abort
        return True


ABORT_PREFIX = "llama.cpp stopped the program: "


def abort_report(message: str, limit: int = 12) -> str:
    """The text written when ggml aborts: its message and llama.cpp's last log lines."""
    lines = [ABORT_PREFIX + shorten(message)]
    tail = recent_llama_log(limit) if limit else []
    if tail:
        lines.append("llama.cpp's last messages:")
        lines += [f"  {line}" for line in tail]
    return "\n".join(lines) + "\n"


def _write_abort_report(message: str) -> None:
    limit = 12 if _reporter.get("with_log", True) else 0
    report = abort_report(message, limit).encode("utf-8", errors="replace")
    fd = _reporter.get("fd")
    if fd is not None:
        with contextlib.suppress(OSError):
            os.write(fd, report)
    crash_file = _reporter.get("crash_file")
    if crash_file:
        with contextlib.suppress(OSError), open(crash_file, "ab") as handle:
            handle.write(report)


def _abort_setter():
    """ggml_set_abort_callback from the libggml-base that llama.cpp really uses, or None."""
    lib = _ggml_base()
    fn = getattr(lib, "ggml_set_abort_callback", None) if lib is not None else None
    if fn is None:
        return None
    fn.restype = ctypes.c_void_p
    fn.argtypes = [ctypes.c_void_p]
    return lambda callback: fn(ctypes.cast(callback, ctypes.c_void_p))


def _ggml_base() -> ctypes.CDLL | None:
    import llama_cpp  # noqa: F401  (maps libllama and, with it, libggml-base)

    from .llama_runtime import llama_lib_dir

    lib_dir = llama_lib_dir()
    maps = Path("/proc/self/maps")
    candidates: list[Path] = []
    if maps.exists():  # Linux: the copy the dynamic loader really mapped (wheels hold several)
        for line in maps.read_text().splitlines():
            path = Path(line.split(maxsplit=5)[-1]) if "/" in line else None
            if path and re.match(r"libggml-base\.so(\.\d+)*$", path.name):
                candidates.append(path)
    names = ("libggml-base.so", "libggml-base.dylib", "ggml-base.dll")
    candidates += [lib_dir / name for name in names]
    for path in candidates:
        if path.exists():
            try:
                return ctypes.CDLL(str(path))
            except OSError:
                continue
    return None
