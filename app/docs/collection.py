"""A named collection of documents: its index, its files and folders, indexing and search.

Indexing (``Collection.index``) is meant for a worker thread: it reports typed events
(``events``), obeys an ``IndexControl`` (pause/cancel between files and embedding batches), and
commits each file in its own transaction, so it can be killed at any moment and resumed by the
next run, which redoes only files not committed or whose content changed. ``changes()`` is
the cheap poll behind folder watching (sizes and modification times; no hashing, no reading),
for a GUI timer; ``index()`` then hashes the candidates and re-reads only those whose content
hash differs.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import events as ev
from .chunker import DEFAULT_OVERLAP, DEFAULT_SIZE, Chunk
from .embedder import Embedder, EmbedderInfo
from .errors import (
    DocsError,
    DocumentError,
    EmbedderError,
    EmbedderMismatchError,
    UnnamedIndexError,
)
from .fusion import FusionWeights
from .index_db import IndexDB
from .readers import is_supported
from .search import Hit, Retriever

EMBED_BATCH = 8  # chunks between progress events and pause/cancel checks
SKIPPED_FOLDERS = frozenset({".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv"})


@dataclass(frozen=True)
class FileRecord:
    """A file of the collection as last indexed (``status`` "indexed" or "error")."""

    path: str
    size: int
    mtime_ns: int
    sha256: str
    status: str
    kind: str | None
    pages: int | None
    chunks: int
    error: str | None
    indexed_at: float


@dataclass(frozen=True)
class Changes:
    """What differs on disk from the index: files new, modified (size or time), removed."""

    new: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.new or self.modified or self.removed)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def embed_text(chunk: Chunk) -> str:
    """What is embedded for a chunk: its heading (if the text does not start with it), then
    its text, so a passage under "Battery safety" is found by questions about batteries."""
    if chunk.heading and not chunk.text.startswith(chunk.heading.split(" > ")[-1]):
        return f"{chunk.heading}\n{chunk.text}"
    return chunk.text


class Collection:
    """One collection's index file. Thread-safe; open it once per process (``DocsLibrary``)."""

    def __init__(self, db_path: str | os.PathLike[str], name: str | None = None) -> None:
        self.db = IndexDB(db_path)
        stored = self.db.get_meta("name")
        if stored is None:
            if name is None:
                self.db.close()
                raise UnnamedIndexError(
                    f"{db_path} holds no collection name (its creation was cut short)",
                    "add the collection again by its name, or remove the file",
                )
            with self.db.transaction() as tx:
                self.db.set_meta(tx, "name", name)
                self.db.set_meta(tx, "created_at", time.time())
                self.db.set_meta(tx, "chunking", [DEFAULT_SIZE, DEFAULT_OVERLAP])
                self.db.set_meta(tx, "generation", 0)
            stored = name
        self.name: str = stored
        self.retriever = Retriever(self.db)

    # -- properties ------------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self.db.path

    @property
    def embedder_info(self) -> EmbedderInfo | None:
        """The embedder the collection's vectors came from (None: BM25 only)."""
        data = self.db.get_meta("embedder")
        return EmbedderInfo.from_dict(data) if data else None

    def set_embedder(self, info: EmbedderInfo | None) -> None:
        """Choose the embedder; allowed only while nothing is indexed (vectors must agree)."""
        with self.db.transaction() as tx:
            if tx.execute("SELECT 1 FROM chunks LIMIT 1").fetchone() is not None:
                current = self.embedder_info
                if (current and current.sha256) != (info and info.sha256):
                    raise EmbedderMismatchError(
                        f"Collection {self.name!r} was indexed with "
                        f"{current.name if current else 'no embedder (BM25 only)'}",
                        "create a new collection to use another embedding model",
                    )
            self.db.set_meta(tx, "embedder", info.to_dict() if info else None)

    @property
    def roots(self) -> list[str]:
        with self.db.io() as conn:
            return [r[0] for r in conn.execute("SELECT path FROM roots ORDER BY path")]

    def files(self) -> list[FileRecord]:
        with self.db.io() as conn:
            rows = conn.execute(
                "SELECT path, size, mtime_ns, sha256, status, kind, pages, chunks, error, "
                "indexed_at FROM files ORDER BY path"
            ).fetchall()
        return [FileRecord(*r) for r in rows]

    def stats(self) -> dict:
        """Counts for a list view: files, indexed, failed, chunks, pages, index bytes."""
        with self.db.io() as conn:
            row = conn.execute(
                "SELECT COUNT(*), SUM(status = 'indexed'), SUM(status = 'error'), "
                "COALESCE(SUM(chunks), 0), COALESCE(SUM(pages), 0) FROM files"
            ).fetchone()
        size = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
        return {
            "name": self.name,
            "files": row[0] or 0,
            "indexed": row[1] or 0,
            "failed": row[2] or 0,
            "chunks": row[3],
            "pages": row[4],
            "index_bytes": size,
            "embedder": self.embedder_info.name if self.embedder_info else None,
            "roots": self.roots,
        }

    # -- adding, removing, watching --------------------------------------------------

    def add(self, paths: Iterable[str | os.PathLike[str]]) -> list[str]:
        """Remember files or folders (absolute) to index and watch; return them."""
        added = []
        for p in paths:
            path = Path(p).expanduser().resolve()
            if not path.exists():
                raise DocsError(f"{path} does not exist", "check the path and try again")
            added.append(str(path))
        with self.db.transaction() as tx:
            tx.executemany(
                "INSERT OR IGNORE INTO roots(path, added_at) VALUES (?, ?)",
                [(p, time.time()) for p in added],
            )
            excluded = [e for e in self.db.get_meta("excluded", []) if e not in added]
            self.db.set_meta(tx, "excluded", excluded)
        return added

    def remove(self, path: str | os.PathLike[str]) -> int:
        """Forget a root (file or folder) and every indexed file under it; return how many
        files left the index."""
        target = str(Path(path).expanduser().resolve())
        prefix = target.rstrip(os.sep) + os.sep
        under = "path = ? OR substr(path, 1, ?) = ?"  # not LIKE: paths may hold % and _
        params = (target, len(prefix), prefix)
        with self.db.transaction() as tx:
            was_root = tx.execute(f"DELETE FROM roots WHERE {under}", params).rowcount
            inside = any(target.startswith(r.rstrip(os.sep) + os.sep) for r in self.roots)
            if inside and not was_root:  # a file or folder inside a root: keep it out
                excluded = set(self.db.get_meta("excluded", [])) | {target}
                self.db.set_meta(tx, "excluded", sorted(excluded))
            ids = [r[0] for r in tx.execute(f"SELECT id FROM files WHERE {under}", params)]
            for file_id in ids:
                self._delete_file(tx, file_id)
            if ids:
                self._bump(tx)
        return len(ids)

    def _walk(self) -> Iterator[Path]:
        """Supported files under the roots, each once (roots may nest), hidden ones skipped."""
        seen: set[Path] = set()
        excluded = tuple(self.db.get_meta("excluded", []))
        prefixes = tuple(e.rstrip(os.sep) + os.sep for e in excluded)
        for path in self._walk_roots():
            text = str(path)
            if text in excluded or text.startswith(prefixes):
                continue
            if path not in seen:
                seen.add(path)
                yield path

    def _walk_roots(self) -> Iterator[Path]:
        for root in self.roots:
            path = Path(root)
            if path.is_file():
                yield path
                continue
            for folder, dirs, names in os.walk(path):
                dirs[:] = sorted(
                    d for d in dirs if d not in SKIPPED_FOLDERS and not d.startswith(".")
                )
                for name in sorted(names):
                    candidate = Path(folder, name)
                    if not name.startswith(".") and is_supported(candidate):
                        yield candidate

    def changes(self) -> Changes:
        """Files new, modified or removed since they were indexed (by size and mtime only).

        Cheap enough for a GUI timer every few seconds (no file is opened); run it on a worker
        for very large folders."""
        with self.db.io() as conn:
            known = {
                r[0]: (r[1], r[2]) for r in conn.execute("SELECT path, size, mtime_ns FROM files")
            }
        new, modified, seen = [], [], set()
        for path in self._walk():
            key = str(path)
            seen.add(key)
            try:
                st = path.stat()
            except OSError:
                continue
            if key not in known:
                new.append(key)
            elif known[key] != (st.st_size, st.st_mtime_ns):
                modified.append(key)
        removed = sorted(set(known) - seen)
        return Changes(tuple(new), tuple(modified), tuple(removed))

    # -- indexing -------------------------------------------------------------------

    def index(
        self,
        embedder: Embedder | None = None,
        control: ev.IndexControl | None = None,
        on_event: ev.EventCallback | None = None,
    ) -> ev.IndexSummary:
        """Bring the index up to date with the roots (see the module doc). Runs on the calling
        thread; returns the summary that ``IndexingFinished`` also carries. Raises
        ``EmbedderError``/``IndexStoreError`` for run-wide failures (after the final event)."""
        from .indexer import IndexRun

        return IndexRun(self, embedder, control or ev.IndexControl(), on_event).run()

    def check_embedder(self, embedder: Embedder | None) -> None:
        """Raise unless ``embedder`` is the collection's (adopting it while still empty)."""
        current = self.embedder_info
        if embedder is None:
            if current is not None:
                raise EmbedderError(
                    f"Collection {self.name!r} needs its embedding model {current.name}",
                    f"make {current.path} available again, or create a new collection",
                )
            return
        if current is None or current.sha256 != embedder.info.sha256:
            self.set_embedder(embedder.info)

    def _delete_file(self, tx, file_id: int) -> None:
        tx.execute("DELETE FROM chunks WHERE file_id = ?", (file_id,))
        tx.execute("DELETE FROM files WHERE id = ?", (file_id,))

    def _bump(self, tx) -> None:
        row = tx.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        self.db.set_meta(tx, "generation", int(row[0] if row else 0) + 1)

    # -- search ---------------------------------------------------------------------

    def search(
        self,
        question: str,
        k: int = 5,
        embedder: Embedder | None = None,
        method: str = "hybrid",
        weights: FusionWeights | None = None,
    ) -> list[Hit]:
        """The ``k`` best chunks. With the collection's embedder, hybrid by default; without
        one (or for a BM25-only collection), BM25 alone."""
        embed = None
        if embedder is not None and self.embedder_info is not None and method != "bm25":
            if embedder.info.sha256 != self.embedder_info.sha256:
                raise EmbedderMismatchError(
                    f"Collection {self.name!r} was indexed with {self.embedder_info.name}, "
                    f"not {embedder.name}",
                    "search it with the embedding model it was indexed with",
                )
            embed = embedder.embed_query
        if method == "vector" and embed is None:
            raise EmbedderError(
                "Vector search needs the collection's embedding model",
                "index the collection with an embedder, or search with BM25",
            )
        retriever = self.retriever if weights is None else Retriever(self.db, weights)
        if weights is not None:
            retriever.vectors = self.retriever.vectors
        return retriever.search(question, k, None, method, embed=embed)

    def close(self) -> None:
        self.db.close()


def vectors_blob(vectors: np.ndarray) -> list[bytes]:
    return [v.astype(np.float16).tobytes() for v in vectors]


def file_sha256(path: Path) -> str:
    return _sha256(path)


__all__ = ["Changes", "Collection", "DocumentError", "FileRecord", "embed_text", "file_sha256"]
