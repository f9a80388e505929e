"""Typed, user-facing errors of document Q&A. Each says what happened and what to try.

``DocumentError``s concern one file (``path``): indexing reports them per file and goes on with
the rest of a folder. The others concern a collection, the index or the embedder.
"""

from __future__ import annotations

from pathlib import Path

from app.errors import AppError


class DocsError(AppError):
    """Base class of expected document Q&A failures."""


class DocumentError(DocsError):
    """One file cannot be read; ``path`` names it. Indexing records it and goes on."""

    def __init__(self, path: str | Path, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.path = Path(path)


class UnsupportedFileError(DocumentError):
    """The file's type is not one the readers know."""


class EncryptedDocumentError(DocumentError):
    """A password-protected document (PDF)."""


class CorruptDocumentError(DocumentError):
    """The file is damaged or is not what its extension says."""


class NoTextError(DocumentError):
    """The document holds no extractable text (a scanned, image-only PDF; an empty file)."""


class CollectionNotFoundError(DocsError, KeyError):
    """No collection has the given name."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return DocsError.__str__(self)


class UnnamedIndexError(DocsError):
    """An index file holding no collection name: its creation was cut short (the app was
    killed between creating the file and storing the name)."""


class CollectionExistsError(DocsError):
    """A collection of that name exists already."""


class EmbedderError(DocsError):
    """The embedding model cannot be loaded or used."""


class EmbedderMismatchError(EmbedderError):
    """The collection was indexed with another embedding model than the one given."""


class IndexStoreError(DocsError):
    """The index database cannot be opened, read or written."""


class IndexingCancelled(DocsError):
    """Indexing was cancelled; files finished before stay indexed."""
