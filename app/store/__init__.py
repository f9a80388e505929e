"""The conversation store: SQLite (WAL, versioned schema, FTS5), no Qt.

``ConversationStore.open(path)`` is the entry point; ``StreamingSaver`` saves a reply while it
streams. See ``store`` for the API and ``connection`` for the thread-safety and durability rules.
"""

from .errors import (
    ConversationNotFoundError,
    ImportFormatError,
    MessageNotFoundError,
    MigrationError,
    SchemaTooNewError,
    StoreClosedError,
    StoreError,
    StoreIOError,
    StoreOpenError,
)
from .records import ROLES, STATUSES, Conversation, Message, SearchHit
from .schema import LATEST_VERSION
from .store import ConversationStore
from .streaming import StreamingSaver
from .transfer import FORMAT_NAME, FORMAT_VERSION

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "LATEST_VERSION",
    "ROLES",
    "STATUSES",
    "Conversation",
    "ConversationNotFoundError",
    "ConversationStore",
    "ImportFormatError",
    "Message",
    "MessageNotFoundError",
    "MigrationError",
    "SchemaTooNewError",
    "SearchHit",
    "StoreClosedError",
    "StoreError",
    "StoreIOError",
    "StoreOpenError",
    "StreamingSaver",
]
