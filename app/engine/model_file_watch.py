"""Notice that a loaded model's file changed on disk before llama.cpp reads its weights again.

llama.cpp memory-maps the weights. A file truncated in place makes the next read past its new
end a SIGBUS that ends the process; a file rewritten in place changes the weights under the
model. A descriptor opened at load follows the file llama.cpp mapped (its inode, whatever its
name is now): a file deleted, or replaced by another renamed over it, stays as it was, and the
model answers on (POSIX). A different size or modification time of that file means its content
may have changed: ``check`` raises ``ModelFileChangedError`` instead of letting a turn run.
Where no descriptor may stay open without locking the file (Windows), the path is compared.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from app.sizes import format_bytes

from .errors import ModelFileChangedError

_HINT = "load the model again once the file is whole"


@dataclass(frozen=True)
class FileIdentity:
    """What says a file is still the one loaded: device, inode, size, modification time."""

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, stat: os.stat_result) -> FileIdentity:
        return cls(stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def same_file(self, other: FileIdentity) -> bool:
        return (self.device, self.inode) == (other.device, other.inode)


class ModelFileWatch:
    """The identity of one model file at load, compared before each use of its weights."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_RDONLY) if os.name == "posix" else None
        try:
            self.identity = self._now()
        except BaseException:
            self.close()
            raise
        self._changed: str | None = None

    def _now(self) -> FileIdentity:
        if self._fd is not None:
            return FileIdentity.of(os.fstat(self._fd))
        return FileIdentity.of(os.stat(self.path))

    def change(self) -> str | None:
        """How the loaded file changed ("cut short, 4 kB of 1.7 MB", "rewritten in place"), or
        None; once changed, always changed."""
        if self._changed is None:
            try:
                now = self._now()
            except OSError:  # no descriptor (Windows) and the path is gone: not our file now
                return None
            if not now.same_file(self.identity):  # the path names another file now
                return None
            was = self.identity
            if now.size < was.size:
                self._changed = f"cut short, {format_bytes(now.size)} of {format_bytes(was.size)}"
            elif (now.size, now.mtime_ns) != (was.size, was.mtime_ns):
                self._changed = "rewritten in place"
        return self._changed

    def check(self) -> None:
        """Raise ModelFileChangedError if the loaded file changed since the load."""
        change = self.change()
        if change is not None:
            raise ModelFileChangedError(
                f"The model file changed on disk while it was loaded ({self.path.name}: {change})",
                _HINT,
            )

    def check_still_named(self) -> None:
        """Right after the load: raise ModelFileChangedError unless the path still names the
        file watched (replaced while llama.cpp was opening it, which one it mapped is
        unknown)."""
        self.check()
        try:
            named = FileIdentity.of(os.stat(self.path))
        except OSError:
            named = None
        if named is None or not named.same_file(self.identity):
            raise ModelFileChangedError(
                f"The model file changed on disk while it was loaded ({self.path.name}: "
                "replaced during the load)",
                _HINT,
            )

    def close(self) -> None:
        """Close the descriptor (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
