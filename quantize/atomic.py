"""Atomic output files: a writer fills a temporary path beside the target, which is renamed into
place only after it was completed and flushed to disk. A failed or interrupted run leaves no
output file behind (and never a half-written one under the final name)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path


def temporary_sibling(target: Path) -> Path:
    """A unique hidden path in the target's folder (same file system, so rename is atomic)."""
    return target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on success fsync it and rename it onto ``target``."""
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(final)
    try:
        yield tmp
        if not tmp.is_file():
            raise FileNotFoundError(f"the writer produced no file at {tmp}")
        fsync_file(tmp)
        os.replace(tmp, final)
        fsync_dir(final.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
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
