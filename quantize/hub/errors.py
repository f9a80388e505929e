"""Typed Hub errors. ``str(error)`` tells the user what happened and what to do next."""

from __future__ import annotations

from ..errors import InsufficientDiskError, QuantizeToolError


class HubError(QuantizeToolError):
    """Base class of every failure talking to the Hugging Face Hub or writing its files."""


class HubOfflineError(HubError):
    """The Hub cannot be reached (no network, server down, offline mode, timed out)."""


class HubAuthError(HubError):
    """The repository is gated or private and the request had no (or no sufficient) token."""


class HubNotFoundError(HubError):
    """The repository, revision or file does not exist on the Hub."""


class HubProtocolError(HubError):
    """The server answered something a Hub does not (a 5xx, a wrong byte range, bad JSON)."""


class DownloadInProgressError(HubError):
    """Another process is downloading the same file into the same folder right now."""


class DownloadCancelled(HubError):
    """The download was paused or cancelled; the partial file is kept for a later resume."""

    def __init__(self, filename: str, bytes_done: int, total: int | None) -> None:
        super().__init__(
            f"Download of {filename} stopped at {bytes_done:,} of {total or 0:,} bytes",
            "start it again to resume where it stopped",
        )
        self.filename = filename
        self.bytes_done = bytes_done
        self.total = total


class ChecksumMismatchError(HubError):
    """A downloaded file's sha256 differs from the one the Hub (or the catalogue) published."""

    def __init__(self, filename: str, expected: str, actual: str, hint: str = "") -> None:
        super().__init__(
            f"{filename} is corrupt: sha256 {actual[:16]}… but the published value is "
            f"{expected[:16]}…",
            hint
            or "the file was deleted; download it again, and check your network or proxy "
            "if this repeats",
        )
        self.filename = filename
        self.expected = expected
        self.actual = actual


class InsufficientDiskSpaceError(HubError, InsufficientDiskError):
    """The target folder lacks the free space the download needs (checked before it starts)."""

    def __init__(self, folder: str, needed_bytes: int, free_bytes: int) -> None:
        super().__init__(
            f"Not enough disk space in {folder}: {_gb(needed_bytes)} needed, "
            f"{_gb(free_bytes)} free",
            f"free at least {_gb(max(0, needed_bytes - free_bytes))} or choose another folder",
        )
        self.folder = folder
        self.needed_bytes = needed_bytes
        self.free_bytes = free_bytes


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 10**8 else f"{n / 1e6:.1f} MB"
