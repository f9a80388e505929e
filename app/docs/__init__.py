"""Document Q&A without Qt: readers, chunker, per-collection SQLite index (FTS5 + vectors),
hybrid retrieval, indexing with progress/pause/cancel, and answering helpers for the chat.

Entry points: ``DocsLibrary(app_paths().docs_index_dir)`` (collections and their embedders),
``Collection.index``/``search``/``changes``, ``answer.prepare_context`` for a chat turn, and
``cli.add_docs_parser`` for the ``qwq-desktop docs`` commands. See docs/architecture.md.
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
