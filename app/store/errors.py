"""Typed, user-facing store errors. Each message says what happened and what to do."""

from __future__ import annotations

from app.errors import AppError


class StoreError(AppError):
    """Base class for expected conversation-store failures."""


class StoreOpenError(StoreError):
    """The database file cannot be opened (unreadable, not a database, damaged)."""


class SchemaTooNewError(StoreOpenError):
    """The database was written by a newer version of the app; it is left untouched."""


class MigrationError(StoreOpenError):
    """Upgrading the database schema failed; the database is unchanged and a backup exists."""


class StoreClosedError(StoreError):
    """The store was used after ``close()``."""


class ConversationNotFoundError(StoreError, KeyError):
    """No conversation has the given id."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return StoreError.__str__(self)


class MessageNotFoundError(StoreError, KeyError):
    """No message has the given id (or it belongs to another conversation)."""

    def __str__(self) -> str:
        return StoreError.__str__(self)


class ImportFormatError(StoreError, ValueError):
    """A file offered for import is not a conversation exported by this app."""


class StoreIOError(StoreError):
    """SQLite could not read or write the database (disk full, I/O error, file locked)."""
