"""The cache of llama.cpp's verdicts on model files (quantize.gguf_probe), so a file is opened
in a child process once per version of it, not at every load.

A verdict is keyed by the file's size, modification time and a hash of its header (everything
before the tensor data), and by the llama.cpp version that gave it. It lives in memory for this
process and in ``gguf-verdicts.json`` in the app's cache folder, written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path

from app.atomic import atomic_write_text
from quantize.gguf_probe import ProbeResult

CACHE_NAME = "gguf-verdicts.json"
FORMAT = 1
MAX_ENTRIES = 256
# Not "hung" (a slow disk is no verdict on the file), "cancelled" or "unavailable".
KEPT_VERDICTS = frozenset({"ok", "refused", "crashed"})

_memory: dict[str, ProbeResult] = {}
_lock = threading.Lock()


def verdict_key(path: str | os.PathLike[str], header_bytes: int) -> str:
    """The cache key of a file: size, mtime, sha256 of its first ``header_bytes`` bytes and the
    llama.cpp version."""
    p = Path(path)
    stat = p.stat()
    digest = hashlib.sha256()
    with p.open("rb") as handle:
        remaining = header_bytes
        while remaining > 0:
            block = handle.read(min(remaining, 1 << 20))
            if not block:
                break
            digest.update(block)
            remaining -= len(block)
    parts = (FORMAT, stat.st_size, stat.st_mtime_ns, digest.hexdigest(), _llama_version())
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def _llama_version() -> str:
    try:
        import llama_cpp

        return str(getattr(llama_cpp, "__version__", "?"))
    except ImportError:
        return "none"


class VerdictCache:
    """Verdicts by key, in memory and in ``folder/gguf-verdicts.json`` (``folder`` None:
    memory only)."""

    def __init__(self, folder: str | os.PathLike[str] | None) -> None:
        self.file = Path(folder) / CACHE_NAME if folder is not None else None

    def get(self, key: str) -> ProbeResult | None:
        with _lock:
            if key in _memory:
                return _memory[key]
        entry = self._read().get(key)
        if entry is None:
            return None
        try:
            result = ProbeResult.from_dict(entry["result"])
        except (KeyError, TypeError, ValueError):
            return None
        with _lock:
            _memory[key] = result
        return result

    def put(self, key: str, path: str | os.PathLike[str], result: ProbeResult) -> None:
        """Remember ``result`` (only final verdicts; a cancelled check is asked again)."""
        if result.verdict not in KEPT_VERDICTS:
            return
        with _lock:
            _memory[key] = result
        if self.file is None:
            return
        entries = self._read()
        entries[key] = {"path": str(path), "at": time.time(), "result": result.to_dict()}
        if len(entries) > MAX_ENTRIES:
            newest = sorted(entries, key=lambda k: entries[k].get("at", 0))[-MAX_ENTRIES:]
            entries = {k: entries[k] for k in newest}
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.file, json.dumps({"format": FORMAT, "entries": entries}))
        except OSError:
            pass  # a read-only cache folder only costs a check at the next load

    def _read(self) -> dict:
        if self.file is None:
            return {}
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return {}
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}


def forget_memory() -> None:
    """Drop the in-memory verdicts (tests)."""
    with _lock:
        _memory.clear()
