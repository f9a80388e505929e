"""Fetch exactly the files conversion needs from the Hugging Face Hub, pinned to one commit.

Built on ``quantize.hub`` (resumable, sha256-verified downloads). The small files come first so
a repository that cannot be converted (no tokenizer, unknown architecture) is refused before
gigabytes of shards are transferred. The pinned commit is recorded in the folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .architectures import hparams_from_config, load_config
from .atomic import atomic_write_text
from .checkpoint import INDEX_NAME, SINGLE_NAME
from .errors import ModelRepoError, TokenizerError
from .hub import RepoSnapshot, download_files, list_repo_files
from .hub.download import ProgressCallback

REQUIRED = ("config.json", "tokenizer.json", "tokenizer_config.json")
OPTIONAL = ("generation_config.json", "chat_template.jinja", "README.md", "LICENSE")
SOURCE_RECORD = ".qwq-quantize-source.json"


@dataclass
class FetchResult:
    folder: Path
    repo_id: str
    commit_sha: str
    files: list[str]
    total_bytes: int


def small_files(snapshot: RepoSnapshot) -> list[str]:
    """Configuration, tokenizer and index files of ``snapshot``; refuses a repository that
    lacks a required one."""
    present = {f.path for f in snapshot.files}
    for name in REQUIRED:
        if name not in present:
            error = TokenizerError if name.startswith("tokenizer") else ModelRepoError
            raise error(
                f"{snapshot.repo_id} has no {name}",
                "Only Hugging Face transformers repositories with safetensors weights and a "
                "tokenizer.json can be converted.",
            )
    return [n for n in (*REQUIRED, *OPTIONAL, INDEX_NAME) if n in present]


def weight_files(snapshot: RepoSnapshot, index: dict | None) -> list[str]:
    """The safetensors files to download: the shards the index names, or the single file."""
    present = {f.path for f in snapshot.files}
    if index is not None:
        shards = sorted(set(index.get("weight_map", {}).values()))
        missing = [s for s in shards if s not in present]
        if missing or not shards:
            raise ModelRepoError(
                f"{INDEX_NAME} of {snapshot.repo_id} names shards the repository lacks: "
                f"{', '.join(missing[:3]) or '(none listed)'}",
                "The repository is broken at this revision; try another --revision.",
            )
        return shards
    if SINGLE_NAME in present:
        return [SINGLE_NAME]
    raise ModelRepoError(
        f"{snapshot.repo_id} has no safetensors weights ({SINGLE_NAME} or {INDEX_NAME})",
        "Only repositories with safetensors weights can be converted.",
    )


def fetch_metadata(
    snapshot: RepoSnapshot,
    folder: Path,
    *,
    token: str | bool | None = None,
    progress: ProgressCallback | None = None,
) -> list[str]:
    """Download the small files; refuse unsupported models; return the weight files to fetch."""
    small = small_files(snapshot)
    download_files(
        snapshot.repo_id, small, folder, snapshot=snapshot, token=token, progress=progress
    )
    hparams_from_config(load_config(folder))
    index_path = folder / INDEX_NAME
    index = json.loads(index_path.read_text(encoding="utf-8")) if INDEX_NAME in small else None
    return weight_files(snapshot, index)


def fetch(
    repo_id: str,
    folder: str | os.PathLike[str],
    *,
    revision: str = "main",
    token: str | bool | None = None,
    progress: ProgressCallback | None = None,
    snapshot: RepoSnapshot | None = None,
) -> FetchResult:
    """Download what converting ``repo_id`` needs into ``folder`` (resuming what is there)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    snap = snapshot or list_repo_files(repo_id, revision, token=token)
    shards = fetch_metadata(snap, folder, token=token, progress=progress)
    download_files(snap.repo_id, shards, folder, snapshot=snap, token=token, progress=progress)
    files = small_files(snap) + shards
    write_source_record(folder, snap, revision, files)
    return FetchResult(
        folder=folder,
        repo_id=snap.repo_id,
        commit_sha=snap.commit_sha,
        files=files,
        total_bytes=snap.total_size(files),
    )


def write_source_record(
    folder: Path, snapshot: RepoSnapshot, revision: str, files: list[str]
) -> None:
    """Record which commit (and files) a completed fetch into ``folder`` holds."""
    record = {
        "repo_id": snapshot.repo_id,
        "revision": revision,
        "commit": snapshot.commit_sha,
        "files": files,
    }
    atomic_write_text(folder / SOURCE_RECORD, json.dumps(record, indent=2))


def fetched_commit(folder: str | os.PathLike[str]) -> str | None:
    """The commit a completed fetch into ``folder`` pinned, or None (also when a recorded file
    has gone missing since)."""
    folder = Path(folder)
    try:
        record = json.loads((folder / SOURCE_RECORD).read_text(encoding="utf-8"))
        commit, files = record["commit"], record["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return commit if all((folder / name).is_file() for name in files) else None
