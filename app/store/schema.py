"""The database schema as an ordered list of migrations, tracked by ``PRAGMA user_version``.

Each migration runs once, in order, inside one transaction together with the version bump, so a
failed upgrade leaves the database exactly as it was. Before upgrading an existing database a
copy is taken with SQLite's online backup API (see ``connection.backup_database``).
To change the schema, append a new ``Migration``; never edit one that has shipped.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """One schema step: the SQL statements that take the database from ``version - 1``."""

    version: int
    description: str
    statements: tuple[str, ...]


_CORE_TABLES = Migration(
    version=1,
    description="conversations and messages (a tree through parent_id)",
    statements=(
        """
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            pinned INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            settings TEXT NOT NULL DEFAULT '{}',
            active_leaf_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
            deleted_at REAL
        )
        """,
        """
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conv_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            parent_id INTEGER REFERENCES messages(id),
            role TEXT NOT NULL,
            content TEXT NOT NULL DEFAULT '',
            thinking TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'complete',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            stats TEXT
        )
        """,
        # The sidebar's query: visible conversations, pinned first, most recent first.
        """
        CREATE INDEX conversations_by_recent
            ON conversations(pinned DESC, updated_at DESC, id DESC) WHERE deleted_at IS NULL
        """,
        # Foreign-key look-ups when a message is deleted.
        "CREATE INDEX conversations_by_active_leaf ON conversations(active_leaf_id)",
        # Children of a message, and siblings (same parent) inside one conversation.
        "CREATE INDEX messages_by_parent ON messages(parent_id, conv_id, id)",
        "CREATE INDEX messages_by_conversation ON messages(conv_id, id)",
        # Crash recovery on open: find replies that were still streaming.
        "CREATE INDEX messages_streaming ON messages(status) WHERE status = 'streaming'",
    ),
)

_FULL_TEXT_SEARCH = Migration(
    version=2,
    description="FTS5 index over message content and thinking, kept in sync by triggers",
    statements=(
        """
        CREATE VIRTUAL TABLE messages_fts USING fts5(
            content, thinking,
            content='messages', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2', prefix='2 3'
        )
        """,
        """
        CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts(rowid, content, thinking)
            VALUES (new.id, new.content, new.thinking);
        END
        """,
        """
        CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content, thinking)
            VALUES ('delete', old.id, old.content, old.thinking);
        END
        """,
        """
        CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, thinking ON messages
        WHEN old.content IS NOT new.content OR old.thinking IS NOT new.thinking BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content, thinking)
            VALUES ('delete', old.id, old.content, old.thinking);
            INSERT INTO messages_fts(rowid, content, thinking)
            VALUES (new.id, new.content, new.thinking);
        END
        """,
        # Index whatever messages an older database already holds.
        "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
    ),
)

_DOCUMENT_COLLECTIONS = Migration(
    version=3,
    description="document collections attached to each conversation (by collection name)",
    statements=(
        """
        CREATE TABLE conversation_collections (
            conv_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            collection TEXT NOT NULL,
            position INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (conv_id, collection)
        ) WITHOUT ROWID
        """,
        # Forgetting a collection everywhere when it is deleted from the library.
        "CREATE INDEX conversation_collections_by_name ON conversation_collections(collection)",
    ),
)

MIGRATIONS: tuple[Migration, ...] = (_CORE_TABLES, _FULL_TEXT_SEARCH, _DOCUMENT_COLLECTIONS)
LATEST_VERSION: int = MIGRATIONS[-1].version


def pending_migrations(current: int, target: int = LATEST_VERSION) -> list[Migration]:
    """The migrations that take a database at version ``current`` to ``target``, in order."""
    return [m for m in MIGRATIONS if current < m.version <= target]
