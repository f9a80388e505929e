"""Resumable, verified downloads of Hub files, pinned to one commit.

The bytes travel over plain HTTP Range requests into ``<part_dir>/<file>.<content tag>.part``;
a later call (in this process or a new one after a crash or SIGKILL) hashes the bytes already
there and asks only for the rest. The finished file is checked against the Hub's published
sha256 (git blob id for small non-LFS files), downloaded once more from scratch if it fails,
and only then moved into place atomically: the destination never holds an unverified file.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .errors import (
    ChecksumMismatchError,
    DownloadCancelled,
    HubError,
    HubOfflineError,
    HubProtocolError,
    InsufficientDiskSpaceError,
)
from .metadata import RemoteFile, RepoSnapshot, list_repo_files, resolve_url
from .storage import (
    check_free_space,
    exclusive_lock,
    free_bytes,
    git_blob_header,
    hash_file,
    is_no_space,
    place_file,
    same_file_system,
)
from .transport import (
    RangeNotSatisfiable,
    TransientHubError,
    download_timeout,
    hub_headers,
    open_url,
)

CHUNK = 1 << 20
# Consecutive failed attempts (without a single new byte) before a download gives up.
MAX_FAILED_ATTEMPTS = 5
BACKOFF_S = (0.5, 1.0, 2.0, 4.0)
PROGRESS_INTERVAL_S = 0.1
SPEED_WINDOW_S = 5.0
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")

Phase = Literal["checking", "downloading", "retrying", "done"]


@dataclass(frozen=True)
class DownloadProgress:
    """A progress report: ``phase`` is "checking" (hashing a partial file before resuming),
    "downloading", "retrying" (after a dropped connection or a failed checksum) or "done"."""

    filename: str
    phase: Phase
    done: int
    total: int | None
    speed: float | None = None  # bytes per second over the last few seconds
    eta: float | None = None  # seconds left at that speed
    message: str = ""

    @property
    def fraction(self) -> float | None:
        return min(1.0, self.done / self.total) if self.total else None


ProgressCallback = Callable[[DownloadProgress], None]


def partial_path(part_dir: str | Path, remote: RemoteFile) -> Path:
    """Where the partial download of ``remote`` lives (named after its content, so a changed
    file on the Hub never resumes onto old bytes)."""
    return Path(part_dir) / f"{remote.path}.{remote.content_tag}.part"


def partial_bytes(part_dir: str | Path, remote: RemoteFile) -> int:
    """Bytes of ``remote`` already downloaded into ``part_dir`` (0 when none)."""
    part = partial_path(part_dir, remote)
    return part.stat().st_size if part.is_file() else 0


def discard_partial(part_dir: str | Path, filename: str) -> int:
    """Delete every partial download of ``filename`` in ``part_dir``; return how many."""
    target = Path(part_dir) / filename
    removed = 0
    if target.parent.is_dir():
        for stale in target.parent.glob(f"{_glob_escape(target.name)}.*.part"):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
                removed += 1
    return removed


def _glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def download_file(
    repo_id: str,
    filename: str,
    dest_dir: str | Path,
    *,
    revision: str = "main",
    token: str | bool | None = None,
    expected_sha256: str | None = None,
    snapshot: RepoSnapshot | None = None,
    part_dir: str | Path | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Download ``filename`` of ``repo_id`` to ``dest_dir/filename`` and return that path.

    ``snapshot`` (from list_repo_files) avoids a second API call and pins the commit; without
    it ``revision`` is resolved to its commit first. ``expected_sha256`` (e.g. a catalogue's)
    must agree with the Hub's. Partial bytes live in ``part_dir`` (default ``dest_dir``).
    Setting ``cancel`` stops at the next chunk with DownloadCancelled, keeping the part.
    """
    snap = snapshot or list_repo_files(repo_id, revision, token=token)
    remote = snap.file(filename)
    expected_sha256 = expected_sha256.lower() if expected_sha256 else None
    if expected_sha256 and remote.sha256 and expected_sha256 != remote.sha256:
        raise ChecksumMismatchError(
            filename,
            expected_sha256,
            remote.sha256,
            hint="the Hub publishes a different file than the one expected; nothing was "
            "downloaded (the repository changed, or the expected checksum is wrong)",
        )
    job = _Download(
        url=resolve_url(snap.repo_id, snap.commit_sha, remote.path),
        remote=remote,
        dest=Path(dest_dir) / remote.path,
        part=partial_path(part_dir if part_dir is not None else dest_dir, remote),
        headers=hub_headers(token),
        expected_sha256=expected_sha256 or remote.sha256,
        progress=progress,
        cancel=cancel or threading.Event(),
    )
    return job.run()


def download_files(
    repo_id: str,
    filenames: Iterable[str],
    dest_dir: str | Path,
    *,
    revision: str = "main",
    token: str | bool | None = None,
    snapshot: RepoSnapshot | None = None,
    part_dir: str | Path | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> list[Path]:
    """Download several files of one commit, checking first that the disk holds them all."""
    snap = snapshot or list_repo_files(repo_id, revision, token=token)
    remotes = [snap.file(name) for name in filenames]
    parts = Path(part_dir if part_dir is not None else dest_dir)
    missing = [r for r in remotes if not _is_complete(Path(dest_dir) / r.path, r)]
    needed = sum(max(0, (r.size or 0) - partial_bytes(parts, r)) for r in missing)
    check_free_space(parts, needed)
    if not same_file_system(parts, Path(dest_dir)):
        check_free_space(Path(dest_dir), sum(r.size or 0 for r in missing))
    return [
        download_file(
            snap.repo_id,
            r.path,
            dest_dir,
            token=token,
            snapshot=snap,
            part_dir=parts,
            progress=progress,
            cancel=cancel,
        )
        for r in remotes
    ]


def _is_complete(dest: Path, remote: RemoteFile) -> bool:
    """A destination file is only ever written verified, so a matching size means done."""
    return dest.is_file() and remote.size is not None and dest.stat().st_size == remote.size


class _RateMeter:
    """Bytes per second over a sliding window."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, done: int) -> float | None:
        now = time.monotonic()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > SPEED_WINDOW_S:
            self._samples.popleft()
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        return (d1 - d0) / (t1 - t0) if t1 - t0 >= 0.2 else None

    def reset(self) -> None:
        self._samples.clear()


class _Download:
    """One file's download: resume, transfer with retries, verify, place."""

    def __init__(
        self,
        *,
        url: str,
        remote: RemoteFile,
        dest: Path,
        part: Path,
        headers: dict[str, str],
        expected_sha256: str | None,
        progress: ProgressCallback | None,
        cancel: threading.Event,
    ) -> None:
        self.url = url
        self.remote = remote
        self.size = remote.size
        self.dest = dest
        self.part = part
        self.headers = {**headers, "Accept-Encoding": "identity"}
        self.expected_sha256 = expected_sha256
        self.progress = progress
        self.cancel = cancel
        self.offset = 0
        self.hasher = self._new_hasher()
        self.meter = _RateMeter()
        self._last_report = 0.0

    # -- the whole job ---------------------------------------------------------------------
    def run(self) -> Path:
        lock = self.part.with_name(self.part.name + ".lock")
        with exclusive_lock(lock, self.remote.path):
            if _is_complete(self.dest, self.remote):
                self._report("done", force=True)
                return self.dest
            _discard_other_versions(self.part, self.remote.path)
            problem: ChecksumMismatchError | None = None
            for _attempt in range(2):  # a file that fails its checksum is fetched once more
                if problem is not None:
                    self._report("retrying", force=True, message=str(problem))
                self._resume()
                self._check_space()
                self._transfer()
                problem = self._verify()
                if problem is None:
                    place_file(self.part, self.dest)
                    self._report("done", force=True)
                    return self.dest
                self.part.unlink()
            raise problem

    # -- steps ---------------------------------------------------------------------------
    def _new_hasher(self):
        if self.expected_sha256:
            return hashlib.sha256()
        hasher = hashlib.sha1()
        if self.remote.blob_id and self.size is not None:
            hasher.update(git_blob_header(self.size))
        return hasher

    def _expected_digest(self) -> str | None:
        if self.expected_sha256:
            return self.expected_sha256
        return self.remote.blob_id if self.size is not None else None

    def _resume(self) -> None:
        """Hash the bytes a previous attempt left, so only the rest is fetched."""
        self.hasher = self._new_hasher()
        self.offset = 0
        self.meter.reset()
        if not self.part.is_file():
            self.part.parent.mkdir(parents=True, exist_ok=True)
            return
        have = self.part.stat().st_size
        if self.size is not None and have > self.size:
            self.part.unlink()
            return
        self.offset = hash_file(
            self.part,
            self.hasher,
            limit=have,
            on_bytes=lambda n: self._report("checking", done=n),
            should_stop=self.cancel.is_set,
        )
        if self.cancel.is_set():
            raise DownloadCancelled(self.remote.path, self.offset, self.size)

    def _check_space(self) -> None:
        if self.size is None:
            return
        check_free_space(self.part.parent, self.size - self.offset)
        if not same_file_system(self.part.parent, self.dest.parent):
            check_free_space(self.dest.parent, self.size)

    def _transfer(self) -> None:
        failures = 0
        with open(self.part, "ab") as handle:
            while self.size is None or self.offset < self.size:
                before = self.offset
                try:
                    if self._fetch_into(handle):
                        return
                except RangeNotSatisfiable as exc:
                    if self.size is None:
                        return  # the server says the part already holds everything
                    raise HubProtocolError(
                        f"The Hub refused the byte range {self.offset}- of {self.remote.path}",
                        "delete the partial download and try again",
                    ) from exc
                except (
                    HubOfflineError,
                    TransientHubError,
                    OSError,
                    http.client.HTTPException,
                ) as exc:
                    failures = 0 if self.offset > before else failures + 1
                    if failures >= MAX_FAILED_ATTEMPTS:
                        raise self._give_up(exc) from exc
                    delay = BACKOFF_S[min(failures, len(BACKOFF_S)) - 1] if failures else 0.0
                    self._report("retrying", force=True, message=str(exc))
                    if self.cancel.wait(delay):
                        raise DownloadCancelled(self.remote.path, self.offset, self.size) from None

    def _fetch_into(self, handle) -> bool:
        """One HTTP request from the current offset; True when the file is complete."""
        if self.cancel.is_set():
            raise DownloadCancelled(self.remote.path, self.offset, self.size)
        headers = dict(self.headers)
        if self.offset:
            headers["Range"] = f"bytes={self.offset}-"
        with open_url(self.url, headers, download_timeout(), what=self.remote.path) as resp:
            self._accept(resp, handle)
            while True:
                chunk = resp.read1(CHUNK)
                if not chunk:
                    break
                self._write(handle, chunk)
                if self.cancel.is_set():
                    self._flush(handle)
                    raise DownloadCancelled(self.remote.path, self.offset, self.size)
        self._flush(handle)
        if self.size is None:
            return True
        if self.offset > self.size:
            handle.truncate(0)
            raise HubProtocolError(
                f"The Hub sent more than the {self.size:,} bytes it announced for "
                f"{self.remote.path}",
                "try again later",
            )
        if self.offset < self.size:
            raise TransientHubError(
                f"The connection closed after {self.offset:,} of {self.size:,} bytes"
            )
        return True

    def _accept(self, resp, handle) -> None:
        """Check the answer matches the requested range; restart from zero if it does not."""
        if resp.status == 206:
            match = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
            if match and int(match.group(1)) == self.offset:
                return
            raise TransientHubError(
                f"The Hub answered the wrong byte range ({resp.headers.get('Content-Range')})"
            )
        if self.offset:  # a plain 200: the server ignored the Range header
            handle.truncate(0)
            self.hasher = self._new_hasher()
            self.offset = 0
            self.meter.reset()

    def _write(self, handle, chunk: bytes) -> None:
        try:
            handle.write(chunk)
        except OSError as exc:
            raise self._write_error(exc) from exc
        self.hasher.update(chunk)
        self.offset += len(chunk)
        self._report("downloading")

    def _flush(self, handle) -> None:
        try:
            handle.flush()
        except OSError as exc:
            raise self._write_error(exc) from exc

    def _write_error(self, exc: OSError) -> HubError:
        """Local write failures are not retried (unlike network ones): a full disk gets its
        own typed error; the partial file is kept and re-hashed on the next attempt."""
        if is_no_space(exc):
            return self._disk_full()
        return HubError(
            f"Cannot write {self.part}: {exc.strerror or exc}",
            "check the disk and the folder's permissions, then try again",
        )

    def _disk_full(self) -> InsufficientDiskSpaceError:
        remaining = (self.size or self.offset) - self.offset
        return InsufficientDiskSpaceError(
            str(self.part.parent), remaining, free_bytes(self.part.parent)
        )

    def _verify(self) -> ChecksumMismatchError | None:
        expected = self._expected_digest()
        if expected is None:
            return None
        actual = self.hasher.hexdigest()
        if actual == expected:
            return None
        return ChecksumMismatchError(self.remote.path, expected, actual)

    def _give_up(self, exc: BaseException) -> HubError:
        if isinstance(exc, HubError):
            if isinstance(exc, HubOfflineError):
                return exc
            return HubOfflineError(
                f"{exc.message}; gave up after {MAX_FAILED_ATTEMPTS} attempts",
                "try again later: the partial download is kept and resumes",
            )
        return HubOfflineError(
            f"The download of {self.remote.path} keeps failing ({exc or type(exc).__name__})",
            "check the network and try again: the partial download is kept and resumes",
        )

    def _report(
        self, phase: Phase, *, done: int | None = None, force: bool = False, message: str = ""
    ) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        done = self.offset if done is None else done
        if phase == "done":
            done = self.size if self.size is not None else done
        speed = self.meter.add(done) if phase == "downloading" else None
        if not force and now - self._last_report < PROGRESS_INTERVAL_S:
            return
        self._last_report = now
        eta = None
        if speed and self.size is not None:
            eta = max(0.0, (self.size - done) / speed)
        self.progress(
            DownloadProgress(self.remote.path, phase, done, self.size, speed, eta, message)
        )


def _discard_other_versions(keep: Path, filename: str) -> None:
    """Remove partial downloads of other versions of ``filename`` beside ``keep``."""
    name = Path(filename).name
    for stale in keep.parent.glob(f"{_glob_escape(name)}.*.part"):
        if stale != keep:
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
