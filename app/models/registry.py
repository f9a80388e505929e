"""The installed models: a small JSON file (``<data>/models.json``) written atomically.

A model is listed only after its file was checked (header read, architecture loadable). Files
the app downloaded or copied live under the models folder and are deleted with the model;
linked files stay where the user keeps them.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from app.atomic import atomic_write_text
from app.engine import ModelFacts
from app.paths import AppPaths, app_paths

from .errors import ModelNotInstalledError, ModelsError
from .load_settings import LoadSettings

Source = Literal["download", "copy", "link", "found"]
REGISTRY_VERSION = 1


@dataclass(frozen=True)
class InstalledModel:
    """One model the app can load."""

    name: str
    path: str
    source: Source
    size_bytes: int
    quant: str
    architecture: str
    context_length: int
    title: str
    reasoning: bool
    added_at: str
    repo_id: str | None = None
    filename: str | None = None
    commit_sha: str | None = None
    sha256: str | None = None
    catalogue_id: str | None = None
    verified_at: str | None = None
    settings: LoadSettings = field(default_factory=LoadSettings)

    @property
    def owns_file(self) -> bool:
        """True when the app put the file there (deleting the model deletes the file)."""
        return self.source in ("download", "copy", "found")

    @property
    def exists(self) -> bool:
        return Path(self.path).is_file()

    def to_dict(self) -> dict:
        data = asdict(self)
        data["settings"] = self.settings.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> InstalledModel:
        fields_ = dict(data)
        fields_["settings"] = LoadSettings.from_dict(fields_.get("settings"))
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in fields_.items() if k in known})


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def model_from_facts(
    name: str, facts: ModelFacts, source: Source, path: Path, **extra
) -> InstalledModel:
    """An InstalledModel for a checked GGUF file."""
    return InstalledModel(
        name=name,
        path=str(Path(path).resolve()),
        source=source,
        size_bytes=facts.file_size,
        quant=facts.quant_type,
        architecture=facts.architecture,
        context_length=facts.context_length,
        title=facts.name,
        reasoning=facts.is_reasoning,
        added_at=now_iso(),
        **extra,
    )


class ModelRegistry:
    """Load, change and save the list of installed models (thread-safe within a process)."""

    def __init__(self, paths: AppPaths | None = None) -> None:
        self.paths = paths or app_paths()
        self.file = self.paths.data_dir / "models.json"
        self._lock = threading.RLock()

    # -- reading -----------------------------------------------------------------------------
    def list(self) -> list[InstalledModel]:
        """Every installed model, in the order they were added."""
        with self._lock:
            return list(self._read().values())

    def get(self, name: str) -> InstalledModel:
        """The model called ``name`` (ModelNotInstalledError naming the installed ones)."""
        models = self._read()
        if name in models:
            return models[name]
        known = ", ".join(models) or "none"
        raise ModelNotInstalledError(
            f"No installed model is called {name!r}",
            f"installed models: {known} (see `qwq-desktop models list`)",
        )

    def find_by_path(self, path: str | Path) -> InstalledModel | None:
        target = str(Path(path).resolve())
        return next((m for m in self._read().values() if m.path == target), None)

    def is_empty(self) -> bool:
        return not self._read()

    # -- changing ----------------------------------------------------------------------------
    def add(self, model: InstalledModel) -> InstalledModel:
        """Add ``model`` (a model with the same file is replaced, keeping its settings unless
        new ones are given; a name already taken by another file gets a numeric suffix)."""
        with self._lock:
            models = self._read()
            same_file = next((m for m in models.values() if m.path == model.path), None)
            if same_file is not None:
                del models[same_file.name]
                if model.settings == LoadSettings():
                    model = replace(model, settings=same_file.settings)
            model = replace(model, name=unique_name(model.name, models))
            models[model.name] = model
            self._write(models)
            return model

    def remove(self, name: str, *, delete_file: bool | None = None) -> InstalledModel:
        """Forget a model; its file is deleted when the app owns it (or ``delete_file``)."""
        with self._lock:
            models = self._read()
            model = self.get(name)
            del models[name]
            self._write(models)
        if delete_file if delete_file is not None else model.owns_file:
            Path(model.path).unlink(missing_ok=True)
            _remove_empty_parents(Path(model.path).parent, self.paths.models_dir)
        return model

    def update(self, name: str, **changes) -> InstalledModel:
        """Change fields of a model (e.g. ``settings=LoadSettings(...)``, ``verified_at=...``)."""
        with self._lock:
            models = self._read()
            model = replace(self.get(name), **changes)
            models[name] = model
            self._write(models)
            return model

    # -- storage -----------------------------------------------------------------------------
    def _read(self) -> dict[str, InstalledModel]:
        with self._lock:
            try:
                data = json.loads(self.file.read_text(encoding="utf-8"))
            except FileNotFoundError:
                return {}
            except ValueError:
                self._quarantine()
                return {}
            return {
                m["name"]: InstalledModel.from_dict(m)
                for m in data.get("models", [])
                if isinstance(m, dict) and "name" in m
            }

    def _write(self, models: dict[str, InstalledModel]) -> None:
        payload = {"version": REGISTRY_VERSION, "models": [m.to_dict() for m in models.values()]}
        try:
            atomic_write_text(self.file, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        except OSError as exc:  # read-only or full disk: the list on disk stays as it was
            raise ModelsError(
                f"Cannot save the list of installed models in {self.file.parent} "
                f"({exc.strerror or exc})",
                "check that the disk has room and the folder can be written to",
            ) from exc

    def _quarantine(self) -> None:
        """Keep an unreadable registry aside (for a bug report) instead of crashing."""
        broken = self.file.with_name(f"models.broken-{datetime.now():%Y%m%d-%H%M%S}.json")
        self.file.replace(broken)


def unique_name(wanted: str, taken) -> str:
    """``wanted`` cleaned to a short identifier, with -2, -3, ... when already taken."""
    base = re.sub(r"[^\w.+-]+", "-", wanted).strip("-.") or "model"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def _remove_empty_parents(folder: Path, stop: Path) -> None:
    """Remove empty folders from ``folder`` up to (not including) ``stop``."""
    folder, stop = folder.resolve(), stop.resolve()
    while folder != stop and stop in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
