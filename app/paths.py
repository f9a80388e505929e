"""Every on-disk location the app uses, in one place.

Locations come from platformdirs. When the environment variable ``QWQ_DESKTOP_HOME`` is set,
everything the app writes goes under that folder instead (portable installs and tests).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "QwQDesktop"
HOME_ENV = "QWQ_DESKTOP_HOME"


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

    def ensure(self) -> AppPaths:
        """Create every folder (idempotent) and return self."""
        for folder in (
            self.config_dir,
            self.data_dir,
            self.cache_dir,
            self.models_dir,
            self.docs_index_dir,
            self.logs_dir,
            self.downloads_dir,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        return self


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
