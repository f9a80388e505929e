"""What a Hub repository holds at one commit: file names, sizes and published checksums."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from .errors import HubNotFoundError, HubProtocolError
from .transport import hub_endpoint, hub_headers, metadata_timeout, open_url, require_online

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class RemoteFile:
    """One file of a repository. ``sha256`` is the LFS checksum (None for small git files, which
    are checked by their git ``blob_id`` instead)."""

    path: str
    size: int | None
    sha256: str | None = None
    blob_id: str | None = None

    @property
    def is_lfs(self) -> bool:
        return self.sha256 is not None

    @property
    def content_tag(self) -> str:
        """A short name for this exact content (used to name its partial download)."""
        return (self.sha256 or self.blob_id or "unversioned")[:16]


@dataclass(frozen=True)
class RepoSnapshot:
    """A repository pinned to one commit, with the files it holds there."""

    repo_id: str
    revision: str
    commit_sha: str
    files: tuple[RemoteFile, ...]

    def file(self, path: str) -> RemoteFile:
        """The file at ``path``; HubNotFoundError (naming close matches) when absent."""
        for remote in self.files:
            if remote.path == path:
                return remote
        similar = [f.path for f in self.files if f.path.lower() == path.lower()]
        hint = f"did you mean {similar[0]}?" if similar else "list the repository's files to check"
        raise HubNotFoundError(f"{self.repo_id}@{self.commit_sha[:8]} has no file {path}", hint)

    def total_size(self, paths: list[str] | None = None) -> int:
        """Bytes of the given files (all files when None); unknown sizes count as 0."""
        wanted = self.files if paths is None else [self.file(p) for p in paths]
        return sum(f.size or 0 for f in wanted)


def check_repo_id(repo_id: str) -> None:
    """Raise HubNotFoundError unless ``repo_id`` looks like ``owner/name``."""
    if not _REPO_ID.match(repo_id or "") or ".." in repo_id:
        raise HubNotFoundError(
            f"{repo_id!r} is not a Hub repository id", "write it as owner/name, e.g. Qwen/QwQ-32B"
        )


def list_repo_files(
    repo_id: str, revision: str = "main", *, token: str | bool | None = None
) -> RepoSnapshot:
    """Ask the Hub (``/api/models/{repo}/revision/{rev}?blobs=true``) for the files at
    ``revision`` and the commit it points to. Raises HubOfflineError, HubAuthError,
    HubNotFoundError or HubProtocolError."""
    check_repo_id(repo_id)
    require_online()
    url = f"{hub_endpoint()}/api/models/{repo_id}/revision/{quote(revision, safe='')}?blobs=true"
    with open_url(url, hub_headers(token), metadata_timeout(), what=repo_id) as response:
        raw = response.read()
    try:
        info = json.loads(raw)
        return parse_model_info(repo_id, revision, info)
    except (ValueError, KeyError, TypeError) as exc:
        raise HubProtocolError(
            f"The Hub's answer about {repo_id} is not the expected JSON ({exc})",
            "check HF_ENDPOINT points at a Hugging Face Hub",
        ) from exc


def parse_model_info(repo_id: str, revision: str, info: dict) -> RepoSnapshot:
    """Build a RepoSnapshot from the JSON of the Hub's model-info API (with ``blobs=true``)."""
    commit = str(info["sha"])
    files = []
    for sibling in info.get("siblings") or []:
        lfs = sibling.get("lfs") or {}
        sha256 = lfs.get("sha256") or lfs.get("oid")
        if sha256 is not None and not _SHA256.match(str(sha256)):
            sha256 = None
        size = lfs.get("size", sibling.get("size"))
        files.append(
            RemoteFile(
                path=str(sibling["rfilename"]),
                size=int(size) if size is not None else None,
                sha256=sha256,
                blob_id=sibling.get("blobId"),
            )
        )
    return RepoSnapshot(repo_id=repo_id, revision=revision, commit_sha=commit, files=tuple(files))


def resolve_url(repo_id: str, commit_sha: str, path: str) -> str:
    """The URL that serves ``path`` of ``repo_id`` at ``commit_sha`` (the Hub's resolve route)."""
    return f"{hub_endpoint()}/{repo_id}/resolve/{quote(commit_sha, safe='')}/{quote(path)}"


@dataclass(frozen=True)
class RepoSummary:
    """A search hit: a model repository and its popularity."""

    repo_id: str
    downloads: int = 0
    likes: int = 0


def search_models(
    query: str, *, gguf_only: bool = True, limit: int = 20, token: str | bool | None = None
) -> list[RepoSummary]:
    """Model repositories whose name contains ``query`` (only GGUF ones by default), most
    downloaded first, from the Hub's ``/api/models?search=`` route."""
    require_online()
    params = {"search": query, "limit": str(limit), "sort": "downloads", "direction": "-1"}
    if gguf_only:
        params["filter"] = "gguf"
    url = f"{hub_endpoint()}/api/models?{urlencode(params)}"
    with open_url(url, hub_headers(token), metadata_timeout(), what=f"search {query!r}") as resp:
        raw = resp.read()
    try:
        hits = json.loads(raw)
        return [
            RepoSummary(str(h["id"]), int(h.get("downloads") or 0), int(h.get("likes") or 0))
            for h in hits
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise HubProtocolError(
            f"The Hub's search answer is not the expected JSON ({exc})",
            "check HF_ENDPOINT points at a Hugging Face Hub",
        ) from exc
