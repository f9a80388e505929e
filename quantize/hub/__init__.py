"""Download files from the Hugging Face Hub: pinned, resumable, verified. No Qt, no ``app``.

Used by ``qwq-quantize fetch`` and by the desktop app's model manager. Typical use::

    from quantize.hub import list_repo_files, download_file, download_files

    snap = list_repo_files("Qwen/QwQ-32B-GGUF", "main")      # -> RepoSnapshot (pinned commit)
    snap.commit_sha, snap.file("qwq-32b-q4_k_m.gguf")          # RemoteFile(path, size, sha256)
    path = download_file(
        "Qwen/QwQ-32B-GGUF", "qwq-32b-q4_k_m.gguf", "/models",
        snapshot=snap,                 # or revision="main" (resolved to its commit first)
        token=None,                    # None: $HF_TOKEN or the saved login; str; False: none
        expected_sha256=None,          # e.g. a catalogue's value; must agree with the Hub's
        part_dir="/cache/downloads",   # where the .part lives (default: the destination folder)
        progress=callback,             # DownloadProgress(filename, phase, done, total, speed, eta)
        cancel=threading.Event(),      # set() -> DownloadCancelled, partial file kept (= pause)
    )
    download_files("Qwen/QwQ-32B", ["config.json", ...], "/repo", snapshot=...)  # one space check
    search_models("qwq")                                       # -> [RepoSummary] (GGUF repos)

Guarantees:

* **Pinned**: the revision is resolved once to a commit sha and every byte comes from
  ``{HF_ENDPOINT}/{repo}/resolve/{commit}/{file}``.
* **Disk space** is checked before any transfer (InsufficientDiskSpaceError carries
  ``needed_bytes``/``free_bytes``); a disk that fills up anyway raises the same error.
* **Resumable**, also after the process was killed: bytes go to ``<file>.<content tag>.part``
  and the next call hashes what is there and asks only for the rest (HTTP Range). A dropped
  connection is retried from where it stopped (5 attempts without progress, then
  HubOfflineError). One writer per file (DownloadInProgressError otherwise).
* **Verified**: sha256 of LFS files against the Hub's LFS metadata (git blob sha1 for small
  files), computed while streaming. A file that fails is downloaded once more from zero, then
  ChecksumMismatchError. Only a verified file is moved (atomically) to ``dest_dir/<file>``.
* **Offline** fails fast with HubOfflineError (connection refused, DNS, ``HF_HUB_OFFLINE=1``,
  no answer within ``HF_HUB_ETAG_TIMEOUT``/``HF_HUB_DOWNLOAD_TIMEOUT`` seconds, default 10).
* Gated or private repositories: HubAuthError saying where to accept the licence / set HF_TOKEN.
  The token is sent to the Hub only, never to the storage host a file redirects to.

Every error is a ``HubError`` (a ``QuantizeToolError``) whose ``str()`` says what to do.
"""

from .download import (
    DownloadProgress,
    ProgressCallback,
    discard_partial,
    download_file,
    download_files,
    partial_bytes,
    partial_path,
)
from .errors import (
    ChecksumMismatchError,
    DownloadCancelled,
    DownloadInProgressError,
    HubAuthError,
    HubError,
    HubNotFoundError,
    HubOfflineError,
    HubProtocolError,
    InsufficientDiskSpaceError,
)
from .metadata import (
    RemoteFile,
    RepoSnapshot,
    RepoSummary,
    check_repo_id,
    list_repo_files,
    resolve_url,
    search_models,
)
from .storage import check_free_space, free_bytes, sha256_file
from .transport import hub_endpoint, is_offline_mode

__all__ = [
    "ChecksumMismatchError",
    "DownloadCancelled",
    "DownloadInProgressError",
    "DownloadProgress",
    "HubAuthError",
    "HubError",
    "HubNotFoundError",
    "HubOfflineError",
    "HubProtocolError",
    "InsufficientDiskSpaceError",
    "ProgressCallback",
    "RemoteFile",
    "RepoSnapshot",
    "RepoSummary",
    "check_free_space",
    "check_repo_id",
    "discard_partial",
    "download_file",
    "download_files",
    "free_bytes",
    "hub_endpoint",
    "is_offline_mode",
    "list_repo_files",
    "partial_bytes",
    "partial_path",
    "resolve_url",
    "search_models",
    "sha256_file",
]
