"""One QwQ Desktop per data folder.

A second app opening the same conversation store would mark the reply the first one is
writing as interrupted (that is how the store recovers replies cut off by a crash). So
``run_gui`` takes ``InstanceLock`` before it opens anything, and a second app explains and
exits instead.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QLockFile

LOCK_NAME = "qwq-desktop.lock"


class InstanceLock:
    """A lock file in the data folder, held while the app runs.

    The lock of a process that is gone (crash, kill, power cut) is stale and taken over:
    QLockFile recognises it by the process id, host and boot recorded in it. Age says nothing
    about an app left open for days, so a lock is never considered stale because it is old.
    """

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / LOCK_NAME
        self._lock = QLockFile(str(self.path))
        self._lock.setStaleLockTime(0)  # 0: stale only when its process is gone

    def acquire(self) -> str | None:
        """Take the lock: None when taken, else why not, in words for the user."""
        if self._lock.tryLock(0):
            return None
        if self._lock.error() == QLockFile.LockError.LockFailedError:
            pid, host, _app = self._lock.getLockInfo()
            holder = f" (process {pid}" + (f" on {host})" if host else ")") if pid else ""
            return (
                f"QwQ Desktop is already running{holder} with the data folder "
                f"{self.path.parent}. Switch to its window, or quit it before starting the app "
                f"again. If it is not running, delete {self.path} and start again."
            )
        return (
            f"QwQ Desktop could not create its lock file {self.path}: check that the folder "
            "exists and that you may write to it."
        )

    def release(self) -> None:
        """Let the next app start (idempotent)."""
        self._lock.unlock()
