"""Putting models on the machine: download from the Hub, import (copy or link) a user's GGUF,
verify an installed one, adopt verified files found in the models folder."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.errors import AppError
from quantize.hub import (
    DownloadCancelled,
    ProgressCallback,
    RepoSnapshot,
    check_free_space,
    download_file,
    list_repo_files,
    sha256_file,
)

from .catalogue import Catalogue, load_catalogue
from .checks import check_gguf
from .errors import ModelFileMissingError, VerificationFailedError
from .hub_token import hub_token
from .load_settings import LoadSettings
from .registry import InstalledModel, ModelRegistry, model_from_facts, now_iso

COPY_CHUNK = 8 * 2**20
ImportMode = Literal["copy", "link", "move"]
BytesCallback = Callable[[int, int], None]  # (done, total)


def download_target(registry: ModelRegistry, repo_id: str) -> tuple[Path, Path]:
    """(models folder, partial-downloads folder) for a repository's files."""
    paths = registry.paths
    return paths.models_dir / repo_id, paths.downloads_dir / repo_id


def install_download(
    registry: ModelRegistry,
    repo_id: str,
    filename: str,
    *,
    revision: str = "main",
    token: str | bool | None = None,
    expected_sha256: str | None = None,
    settings: LoadSettings | None = None,
    catalogue: Catalogue | None = None,
    snapshot: RepoSnapshot | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> InstalledModel:
    """Download, verify (sha256), check (GGUF, architecture) and register one model file.

    ``token`` None: ``hub_token()`` ($HF_TOKEN or the one kept in the keyring).
    A catalogue entry for the file supplies its expected sha256 (when published) and name.
    A verified file that llama.cpp cannot load is deleted again and UnsupportedModelError raised.
    """
    catalogue = catalogue or load_catalogue()
    entry = catalogue.find_file(repo_id, filename)
    expected = expected_sha256 or (entry.sha256 if entry else None)
    token = hub_token() if token is None else token
    snap = snapshot or list_repo_files(repo_id, revision, token=token)
    dest_dir, part_dir = download_target(registry, repo_id)
    path = download_file(
        repo_id,
        filename,
        dest_dir,
        token=token,
        expected_sha256=expected,
        snapshot=snap,
        part_dir=part_dir,
        progress=progress,
        cancel=cancel,
    )
    try:
        facts = check_gguf(path)
    except AppError:
        path.unlink(missing_ok=True)
        raise
    remote = snap.file(filename)
    model = model_from_facts(
        entry.id if entry else Path(filename).stem,
        facts,
        "download",
        path,
        repo_id=repo_id,
        filename=filename,
        commit_sha=snap.commit_sha,
        sha256=expected or remote.sha256,
        catalogue_id=entry.id if entry else None,
        verified_at=now_iso(),
        settings=settings or LoadSettings(),
    )
    return registry.add(model)


def import_gguf(
    registry: ModelRegistry,
    source: str | os.PathLike[str],
    *,
    mode: ImportMode = "link",
    name: str | None = None,
    settings: LoadSettings | None = None,
    on_bytes: BytesCallback | None = None,
    cancel: threading.Event | None = None,
) -> InstalledModel:
    """Register a GGUF the user already has: checked first, then linked in place, copied (with
    its sha256 computed on the way) or moved into the models folder ("move" is for files the
    app made itself, such as a finished quantisation)."""
    src = Path(source).expanduser()
    facts = check_gguf(src)
    extra: dict = {"settings": settings or LoadSettings(), "verified_at": now_iso()}
    if mode == "link":
        return registry.add(
            model_from_facts(name or src.stem, facts, "link", src.resolve(), **extra)
        )
    folder = registry.paths.models_dir / ("imported" if mode == "copy" else "built")
    target = _free_name(folder, src.name)
    if mode == "move" and _move(src, target):
        extra["sha256"] = None
    else:
        extra["sha256"] = _copy(src, target, on_bytes, cancel)
        if mode == "move":
            src.unlink()
    facts = check_gguf(target)
    return registry.add(model_from_facts(name or src.stem, facts, "copy", target, **extra))


def _free_name(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if target.exists():
        target = folder / f"{target.stem}-{uuid.uuid4().hex[:6]}{target.suffix}"
    return target


def _move(src: Path, target: Path) -> bool:
    """Rename ``src`` to ``target``; False when they are on different file systems."""
    try:
        os.replace(src, target)
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            return False
        raise
    return True


def _copy(
    src: Path,
    target: Path,
    on_bytes: BytesCallback | None,
    cancel: threading.Event | None,
) -> str:
    """Copy ``src`` to ``target`` atomically (hidden .part, fsync, rename); return its sha256."""
    folder = target.parent
    total = src.stat().st_size
    check_free_space(folder, total)
    tmp = folder / f".{target.name}.{uuid.uuid4().hex[:8]}.part"
    digest = hashlib.sha256()
    try:
        with open(src, "rb") as reader, open(tmp, "wb") as writer:
            done = 0
            while block := reader.read(COPY_CHUNK):
                writer.write(block)
                digest.update(block)
                done += len(block)
                if on_bytes:
                    on_bytes(done, total)
                if cancel is not None and cancel.is_set():
                    raise DownloadCancelled(src.name, done, total)
            writer.flush()
            os.fsync(writer.fileno())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return digest.hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of ``verify_model``: ``expected`` is None when no checksum was known before
    (the computed one is then recorded as the reference for later checks)."""

    model: InstalledModel
    sha256: str
    expected: str | None

    @property
    def recorded_now(self) -> bool:
        return self.expected is None


def verify_model(
    registry: ModelRegistry,
    name: str,
    *,
    catalogue: Catalogue | None = None,
    on_bytes: BytesCallback | None = None,
) -> VerifyResult:
    """Re-check an installed model: file present, header and architecture loadable, sha256 equal
    to the recorded (or catalogue) value. Raises ModelFileMissingError, ModelFileError,
    UnsupportedModelError or VerificationFailedError."""
    model = registry.get(name)
    path = Path(model.path)
    if not path.is_file():
        raise ModelFileMissingError(
            f"The file of {name} is gone: {path}",
            f"download or import it again, or remove it with `qwq-desktop models remove {name}`",
        )
    check_gguf(path)
    expected = model.sha256
    if expected is None and model.repo_id and model.filename:
        entry = (catalogue or load_catalogue()).find_file(model.repo_id, model.filename)
        expected = entry.sha256 if entry else None
    total = path.stat().st_size
    actual = sha256_file(path, (lambda done: on_bytes(done, total)) if on_bytes else None)
    if expected is not None and actual != expected:
        raise VerificationFailedError(
            f"{name} is damaged: its sha256 is {actual[:16]}…, expected {expected[:16]}…",
            f"remove it (`qwq-desktop models remove {name}`) and download it again",
        )
    updated = registry.update(name, sha256=expected or actual, verified_at=now_iso())
    return VerifyResult(updated, actual, expected)


def adopt_found_models(registry: ModelRegistry) -> list[InstalledModel]:
    """Register GGUF files lying in the models folder but missing from the registry (e.g. the app
    stopped between placing a verified download and recording it). Files that fail the checks
    are left alone and not listed."""
    adopted = []
    root = registry.paths.models_dir
    if not root.is_dir():
        return adopted
    for path in sorted(root.rglob("*.gguf")):
        if path.name.startswith(".") or registry.find_by_path(path) is not None:
            continue
        try:
            facts = check_gguf(path)
        except AppError:
            continue
        relative = path.relative_to(root).parts
        repo_id = "/".join(relative[:2]) if len(relative) == 3 else None
        model = model_from_facts(
            path.stem,
            facts,
            "found",
            path,
            repo_id=repo_id,
            filename=path.name if repo_id else None,
        )
        adopted.append(registry.add(model))
    return adopted


def disk_usage_summary(registry: ModelRegistry) -> tuple[int, int]:
    """(bytes used by installed models, bytes free in the models folder)."""
    used = sum(m.size_bytes for m in registry.list() if m.exists)
    root = registry.paths.models_dir
    probe = root if root.exists() else root.parent
    while not probe.exists():
        probe = probe.parent
    return used, shutil.disk_usage(probe).free
