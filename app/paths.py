"""Every on-disk location the app uses, in one place.

Locations come from platformdirs. When the environment variable ``QWQ_DESKTOP_HOME`` is set,
everything the app writes goes under that folder instead (portable installs and tests).

Privacy (POSIX): the app's folders are the user's alone (0700; ``ensure`` creates them so and
tightens looser ones), and ``private_files`` makes what the process creates 0600 (umask 077),
which the GUI and the command line set at start. ``check_writable`` turns a read-only data
folder into one clear ``DataFolderError`` before anything tries to save.
"""

from __future__ import annotations

import contextlib
import errno
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from app.errors import AppError

APP_NAME = "QwQDesktop"
HOME_ENV = "QWQ_DESKTOP_HOME"
FOLDER_MODE = 0o700
FILE_MODE = 0o600
PRIVATE_UMASK = 0o077


class DataFolderError(AppError):
    """One of the app's folders cannot be created or written to (read-only, no permission,
    disk full)."""


@dataclass(frozen=True)
class AppPaths:
    """The folders and files the app reads and writes."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path
    models_dir: Path
    docs_index_dir: Path
    logs_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def conversations_db(self) -> Path:
        return self.data_dir / "conversations.sqlite3"

    @property
    def downloads_dir(self) -> Path:
        """Partial downloads live here until verified and moved into ``models_dir``."""
        return self.cache_dir / "downloads"

    @property
    def folders(self) -> tuple[Path, ...]:
        return (
            self.config_dir,
            self.data_dir,
            self.cache_dir,
            self.models_dir,
            self.docs_index_dir,
            self.logs_dir,
            self.downloads_dir,
        )

    def ensure(self) -> AppPaths:
        """Create every folder user-only (0700 on POSIX), tighten looser existing ones
        (idempotent) and return self. OSError when one cannot be created."""
        for folder in self.folders:
            folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
            tighten(folder, FOLDER_MODE)
        return self

    def check_writable(self) -> AppPaths:
        """``ensure``, then prove that the data and config folders take a file: a
        ``DataFolderError`` saying which folder and why, instead of a failure at the first
        save."""
        folder = self.data_dir
        try:
            self.ensure()
            for folder in (self.data_dir, self.config_dir):
                probe = folder / f".write-check-{os.getpid()}"
                probe.write_bytes(b"")
                probe.unlink()
        except OSError as exc:
            where = (
                folder
                if exc.filename is None or ".write-check-" in str(exc.filename)
                else exc.filename
            )
            raise unwritable(exc, Path(where)) from exc
        return self


def unwritable(exc: OSError, folder: Path) -> DataFolderError:
    """The app's message for a folder it cannot write to."""
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        hint = (
            f"QwQ Desktop keeps its conversations and settings there: make it writable, or "
            f"start the app with {HOME_ENV} set to a folder you can write to"
        )
    elif exc.errno == errno.ENOSPC:
        hint = "free some disk space, then start the app again"
    else:
        hint = "check the folder and the disk, then start the app again"
    return DataFolderError(f"QwQ Desktop cannot write to {folder} ({exc.strerror or exc})", hint)


def tighten(path: Path, mode: int) -> None:
    """Give ``path`` no more than ``mode`` (POSIX; other systems keep their own rules). A file
    system that refuses (read-only, not ours) is left as it is."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        current = path.stat().st_mode & 0o777
        if current & ~mode:
            path.chmod(current & mode)


def private_files() -> int | None:
    """Make every file this process creates from now on user-only (umask 077, POSIX): the
    database, settings, indexes, logs, downloads and exports. Returns the previous umask
    (None where umasks do not apply)."""
    if os.name != "posix":
        return None
    return os.umask(PRIVATE_UMASK)


def app_paths(home: str | os.PathLike[str] | None = None) -> AppPaths:
    """The app's locations; ``home`` (or ``$QWQ_DESKTOP_HOME``) puts them all under one root."""
    root = home if home is not None else os.environ.get(HOME_ENV)
    if root:
        base = Path(root).expanduser().resolve()
        return AppPaths(
            config_dir=base / "config",
            data_dir=base / "data",
            cache_dir=base / "cache",
            models_dir=base / "models",
            docs_index_dir=base / "docs-index",
            logs_dir=base / "logs",
        )
    dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
    data = Path(dirs.user_data_dir)
    return AppPaths(
        config_dir=Path(dirs.user_config_dir),
        data_dir=data,
        cache_dir=Path(dirs.user_cache_dir),
        models_dir=data / "models",
        docs_index_dir=data / "docs-index",
        logs_dir=Path(dirs.user_log_dir),
    )
