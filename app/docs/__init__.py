"""Document Q&A without Qt: readers, chunker, per-collection SQLite index (FTS5 + vectors),
hybrid retrieval, indexing with progress/pause/cancel, and answering helpers for the chat.

For a GUI (all of it plain Python; nothing here blocks on Qt or needs the GUI thread):

- ``library = DocsLibrary(app_paths().docs_index_dir)``: one per process, thread-safe.
  ``create(name, embedder_path_or_None)``, ``get(name)``, ``names()``, ``delete(name)``
  (then ``store.forget_collection(name)``), ``embedder_for(collection)`` (loaded once, shared),
  ``close()`` at exit.
- ``collection.add(paths)``, ``remove(path)``, ``files()``, ``stats()``: quick (milliseconds).
- ``collection.index(embedder, control, on_event)``: run on a worker thread. ``on_event`` is
  called on that thread with the typed events of ``events`` (forward them as signals);
  ``IndexControl.pause()/resume()/cancel()`` may be called from the GUI thread. It always ends
  with ``IndexingFinished``; per-file problems arrive as ``FileFailed`` (a ``DocumentError``
  with message and hint) and do not stop the run.
- ``collection.changes()``: the folder-watch poll (stat only); call it from a timer on a
  worker, and ``index()`` when it is truthy.
- ``collection.search(question, k, embedder)``: tens of milliseconds at 100,000 chunks; fine
  on a worker or, for small collections, directly.
- ``answer.conversation_context(...)`` / ``prepare_context`` + ``grounded_messages`` on the
  chat worker before generating; ``answer.with_sources(stats, ctx)`` stores the numbered
  sources with the reply; ``answer.message_sources(message)`` reads them back for the panel;
  ``pdf.render_pdf_page(path, page)`` renders a page (RGBA bytes) for it, thread-safe.
"""

from .collection import Changes, Collection, FileRecord
from .embedder import Embedder, EmbedderInfo
from .errors import (
    CollectionExistsError,
    CollectionNotFoundError,
    CorruptDocumentError,
    DocsError,
    DocumentError,
    EmbedderError,
    EmbedderMismatchError,
    EncryptedDocumentError,
    IndexingCancelled,
    IndexStoreError,
    NoTextError,
    UnsupportedFileError,
)
from .events import (
    FileFailed,
    FileIndexed,
    FileRemoved,
    FileStarted,
    IndexControl,
    IndexEvent,
    IndexingFinished,
    IndexingPaused,
    IndexingProgress,
    IndexingResumed,
    IndexingStarted,
    IndexSummary,
)
from .library import DocsLibrary
from .search import Hit

__all__ = [
    "Changes",
    "Collection",
    "CollectionExistsError",
    "CollectionNotFoundError",
    "CorruptDocumentError",
    "DocsError",
    "DocsLibrary",
    "DocumentError",
    "Embedder",
    "EmbedderError",
    "EmbedderInfo",
    "EmbedderMismatchError",
    "EncryptedDocumentError",
    "FileFailed",
    "FileIndexed",
    "FileRecord",
    "FileRemoved",
    "FileStarted",
    "Hit",
    "IndexControl",
    "IndexEvent",
    "IndexStoreError",
    "IndexSummary",
    "IndexingCancelled",
    "IndexingFinished",
    "IndexingPaused",
    "IndexingProgress",
    "IndexingResumed",
    "IndexingStarted",
    "NoTextError",
    "UnsupportedFileError",
]
