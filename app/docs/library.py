"""All collections in the app's ``docs_index_dir``: create, open, list, delete, and the
embedders they need (loaded once, shared, freed on ``close``).

Each collection is one SQLite file named after a slug of its name plus a short hash (names may
hold any characters). A file a crash left without its name (killed while being created) is
taken over by the next ``create`` or ``get`` of that name. ``DocsLibrary`` is thread-safe;
open one per process.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path

from .collection import Collection
from .embedder import Embedder
from .errors import (
    CollectionExistsError,
    CollectionNotFoundError,
    DocsError,
    EmbedderError,
    UnnamedIndexError,
)

SUFFIX = ".docs.sqlite3"


def collection_filename(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "collection"
    return f"{slug}-{hashlib.sha1(name.encode()).hexdigest()[:8]}{SUFFIX}"


def check_name(name: str) -> str:
    clean = " ".join(str(name).split())
    if not clean or len(clean) > 200:
        raise DocsError("A collection needs a name of 1 to 200 characters", "choose another name")
    return clean


class DocsLibrary:
    """The collections under ``root`` (``app_paths().docs_index_dir``)."""

    def __init__(self, root: str | os.PathLike[str], embedder_threads: int | None = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.embedder_threads = embedder_threads
        self._open: dict[str, Collection] = {}
        self._embedders: dict[str, Embedder] = {}
        self._lock = threading.RLock()

    def _path(self, name: str) -> Path:
        return self.root / collection_filename(name)

    def names(self) -> list[str]:
        """Every collection's name, sorted case-insensitively."""
        with self._lock:
            found = set(self._open)
            for path in self.root.glob(f"*{SUFFIX}"):
                if path.name not in {collection_filename(n) for n in found}:
                    try:
                        collection = Collection(path)
                    except DocsError:
                        continue
                    self._open[collection.name] = collection
                    found.add(collection.name)
            return sorted(found, key=str.lower)

    def exists(self, name: str) -> bool:
        return name in self._open or self._path(name).exists()

    def create(self, name: str, embedder: Embedder | str | os.PathLike | None = None) -> Collection:
        """A new, empty collection that will use ``embedder`` (a loaded one or a GGUF path;
        None: BM25 only). Raises ``CollectionExistsError``."""
        name = check_name(name)
        with self._lock:
            if self.exists(name) and not self._cut_short(name):
                raise CollectionExistsError(
                    f"A collection named {name!r} exists already", "choose another name"
                )
            loaded = (
                self.embedder(embedder) if isinstance(embedder, (str, os.PathLike)) else embedder
            )
            collection = Collection(self._path(name), name=name)
            if loaded is not None:
                collection.set_embedder(loaded.info)
            self._open[name] = collection
            return collection

    def get(self, name: str) -> Collection:
        """The collection ``name``; ``CollectionNotFoundError`` if none."""
        with self._lock:
            if name in self._open:
                return self._open[name]
            path = self._path(name)
            if not path.exists():
                known = ", ".join(self.names()) or "none yet"
                raise CollectionNotFoundError(
                    f"No collection is named {name!r}", f"collections: {known}"
                )
            # The file is named after ``name``: one left without a name by a creation cut short
            # (a crash) is this collection's, and gets its name now.
            collection = self._open[name] = Collection(path, name=name)
            return collection

    def _cut_short(self, name: str) -> bool:
        """Whether the file for ``name`` was left without a name by a crash while creating it."""
        if name in self._open:
            return False
        try:
            Collection(self._path(name)).close()
        except UnnamedIndexError:
            return True
        return False

    def get_or_create(self, name: str, embedder: Embedder | str | os.PathLike | None = None):
        return self.get(name) if self.exists(name) else self.create(name, embedder)

    def delete(self, name: str) -> None:
        """Remove a collection and its index files for good."""
        with self._lock:
            collection = self.get(name)
            collection.close()
            del self._open[name]
            # The journal first: a crash between two removals must not leave a WAL that a new
            # collection of the same name would replay into its fresh database.
            for suffix in ("-wal", "-shm", ""):
                Path(f"{collection.path}{suffix}").unlink(missing_ok=True)

    def embedder(self, path: str | os.PathLike | None) -> Embedder | None:
        """The loaded embedder for a GGUF path (loaded on first use, then shared)."""
        if path is None:
            return None
        key = str(Path(path).expanduser().resolve())
        with self._lock:
            if key not in self._embedders:
                self._embedders[key] = Embedder(key, n_threads=self.embedder_threads)
            return self._embedders[key]

    def embedder_for(self, collection: Collection, required: bool = True) -> Embedder | None:
        """The embedder a collection was indexed with, loaded (None for BM25-only ones).
        With ``required`` False a missing model file gives None (search falls back to BM25)."""
        info = collection.embedder_info
        if info is None:
            return None
        try:
            return self.embedder(info.path)
        except EmbedderError:
            if required:
                raise
            return None

    def close(self) -> None:
        """Close every collection and free every embedder (idempotent)."""
        with self._lock:
            for collection in self._open.values():
                collection.close()
            self._open.clear()
            for embedder in self._embedders.values():
                embedder.close()
            self._embedders.clear()

    def __enter__(self) -> DocsLibrary:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
