"""Atomic output files: a writer fills a temporary path beside the target, which is renamed into
place only after it was completed and flushed to disk. A failed or interrupted run leaves no
output file behind (and never a half-written one under the final name).

Temporary files are named ``.<target name>.<8 hex digits>.p<writer's process id>.partial``. Only
a process killed outright (SIGKILL, power loss) leaves one behind, or one whose file is still
held open where the OS cannot delete an open file (Windows). ``remove_stale_partials``
recognises these by that name (and nothing else) and deletes those whose writer is no longer
running; ``atomic_path`` does so for its own target before it writes, so the next write of a
file cleans up after a killed one.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# The writer's process id is optional: files of earlier versions do not name it.
_PARTIAL_RE = re.compile(r"^\.(?P<target>.+)\.[0-9a-f]{8}(?:\.p(?P<pid>[0-9]+))?\.partial$")


def temporary_sibling(target: Path) -> Path:
    """A unique hidden path in the target's folder (same file system, so rename is atomic),
    naming this process as its writer."""
    return target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.p{os.getpid()}.partial")


def partial_target(path: Path) -> str | None:
    """The target name a temporary file of ``atomic_path`` was written for, or None when
    ``path`` is not named like one."""
    match = _PARTIAL_RE.match(path.name)
    return match.group("target") if match else None


@dataclass(frozen=True)
class RemovedFile:
    path: Path
    size: int


def writer_running(path: Path) -> bool:
    """Whether the process named in a temporary file's name still runs (False when the name
    names none: a file of an earlier version, whose writer is long gone)."""
    match = _PARTIAL_RE.match(path.name)
    if match is None or match.group("pid") is None:
        return False
    pid = int(match.group("pid"))
    if pid == os.getpid():
        return True
    import psutil

    return psutil.pid_exists(pid)


def remove_stale_partials(folder: Path, target: str | None = None) -> list[RemovedFile]:
    """Delete the temporary files killed writers left in ``folder`` (not recursive): all of
    them, or only those for the file named ``target``; a running writer's file is kept.
    Returns what was removed."""
    removed: list[RemovedFile] = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for path in sorted(Path(folder).iterdir()):
            name = partial_target(path)
            if name is None or (target is not None and name != target) or path.is_symlink():
                continue
            if writer_running(path):
                continue
            with contextlib.suppress(OSError):  # gone meanwhile, or still open (Windows)
                size = path.stat().st_size
                path.unlink()
                removed.append(RemovedFile(path, size))
    return removed


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on success fsync it and rename it onto ``target``."""
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # what a killed writer of this file left
        remove_stale_partials(final.parent, final.name)
    tmp = temporary_sibling(final)
    try:
        yield tmp
        if not tmp.is_file():
            raise FileNotFoundError(f"the writer produced no file at {tmp}")
        fsync_file(tmp)
        os.replace(tmp, final)
        fsync_dir(final.parent)
    finally:
        # OSError beyond "not found": the file is still open elsewhere and the OS cannot delete
        # it (Windows); remove_stale_partials deletes it on the next start.
        with contextlib.suppress(OSError):
            tmp.unlink()


def atomic_write_text(target: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def fsync_file(path: Path) -> None:
    """Flush a file's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    """Flush a folder entry (the rename) to disk where the OS supports it."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
