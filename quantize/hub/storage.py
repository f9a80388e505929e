"""Local side of a download: free space, one writer per file, checksums, atomic placement."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from ..atomic import atomic_path, fsync_dir, fsync_file
from .errors import DownloadInProgressError, InsufficientDiskSpaceError

MiB = 2**20
# Kept free beyond the file itself, so that the disk is not filled to the last byte.
DISK_SPACE_MARGIN = 16 * MiB
HASH_CHUNK = 4 * MiB
NO_SPACE_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def free_bytes(folder: Path) -> int:
    """Free bytes on the file system holding ``folder`` (its nearest existing parent)."""
    probe = Path(folder)
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def check_free_space(folder: Path, needed_bytes: int) -> None:
    """Raise InsufficientDiskSpaceError unless ``folder`` has ``needed_bytes`` plus a margin."""
    if needed_bytes <= 0:
        return
    free = free_bytes(folder)
    if free < needed_bytes + DISK_SPACE_MARGIN:
        raise InsufficientDiskSpaceError(str(folder), needed_bytes + DISK_SPACE_MARGIN, free)


def is_no_space(exc: OSError) -> bool:
    """True for 'disk full' and 'quota exceeded' errors."""
    return exc.errno in NO_SPACE_ERRNOS


def same_file_system(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` (or their nearest existing parents) are on one file system."""

    def device(p: Path) -> int:
        while not p.exists() and p.parent != p:
            p = p.parent
        return p.stat().st_dev

    return device(Path(a)) == device(Path(b))


def git_blob_header(size: int) -> bytes:
    """The header git hashes before a blob's content (``blob <size>\\0``)."""
    return b"blob %d\x00" % size


def hash_file(
    path: Path,
    hasher,
    *,
    limit: int | None = None,
    on_bytes: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Feed the first ``limit`` bytes (all when None) of ``path`` into ``hasher``; return the
    count. ``on_bytes(done)`` reports progress; ``should_stop()`` true ends early."""
    done = 0
    with open(path, "rb") as handle:
        while limit is None or done < limit:
            want = HASH_CHUNK if limit is None else min(HASH_CHUNK, limit - done)
            block = handle.read(want)
            if not block:
                break
            hasher.update(block)
            done += len(block)
            if on_bytes:
                on_bytes(done)
            if should_stop and should_stop():
                break
    return done


def sha256_file(path: str | os.PathLike[str], on_bytes: Callable[[int], None] | None = None) -> str:
    """The sha256 of a whole file, streamed (constant memory)."""
    hasher = hashlib.sha256()
    hash_file(Path(path), hasher, on_bytes=on_bytes)
    return hasher.hexdigest()


@contextlib.contextmanager
def exclusive_lock(lock_path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive, non-blocking lock named by ``lock_path``; DownloadInProgressError if
    another holder (this process or another) has it.

    The lock belongs to the process: the OS releases it when the process dies, even by SIGKILL.
    The lock file itself lives in ``lock_file_for(lock_path)``, outside the download folder.
    """
    lock = FileLock(lock_file_for(lock_path), timeout=0)
    try:
        lock.acquire()
    except Timeout as exc:
        raise DownloadInProgressError(
            f"{what} is already being downloaded by another process",
            "wait for it to finish, or stop the other download first",
        ) from exc
    try:
        yield
    finally:
        lock.release()


def lock_file_for(lock_path: Path) -> Path:
    """The file that carries the lock named by ``lock_path``: in a per-user folder of the
    system's temporary directory, named after the path's hash.

    A lock file must stay after release (deleting it lets a process that opened it just before
    lock the old file while another creates and locks a new one), and download folders should
    hold nothing but downloads, so lock files live where the system cleans up.
    """
    key = os.path.normcase(str(Path(lock_path).resolve()))
    user = f"-{os.getuid()}" if hasattr(os, "getuid") else ""
    folder = Path(tempfile.gettempdir()) / f"qwq-download-locks{user}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder / f"{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}.lock"


def place_file(part: Path, dest: Path) -> None:
    """Move a finished ``part`` onto ``dest`` atomically (fsynced); across file systems it is
    copied to a hidden temporary file beside ``dest`` first (``atomic_path``: the copy a killed
    download left there is removed by the next one), then renamed."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fsync_file(part)
    try:
        os.replace(part, dest)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        with atomic_path(dest) as tmp:
            shutil.copyfile(part, tmp)
        part.unlink()
    fsync_dir(dest.parent)
