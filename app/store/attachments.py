"""Which document collections each conversation uses (``conversation_collections``).

Collections live in the document index (app/docs), one SQLite file each; the store keeps only
their names, in the order the user attached them. Functions take a connection; the store
does the locking.
"""

from __future__ import annotations

import sqlite3

from . import conversations


def attached(conn: sqlite3.Connection, conv_id: int) -> list[str]:
    """The collection names attached to a conversation, in attachment order."""
    conversations.require(conn, conv_id)
    rows = conn.execute(
        "SELECT collection FROM conversation_collections WHERE conv_id = ? "
        "ORDER BY position, collection",
        (conv_id,),
    )
    return [r[0] for r in rows]


def set_attached(conn: sqlite3.Connection, conv_id: int, names: list[str]) -> None:
    """Replace the conversation's collections with ``names`` (duplicates dropped)."""
    conversations.require(conn, conv_id)
    if any(not isinstance(n, str) for n in names):
        raise TypeError("collection names must be strings")
    clean = [n for n in dict.fromkeys(names) if n.strip()]
    conn.execute("DELETE FROM conversation_collections WHERE conv_id = ?", (conv_id,))
    conn.executemany(
        "INSERT INTO conversation_collections(conv_id, collection, position) VALUES (?, ?, ?)",
        [(conv_id, name, i) for i, name in enumerate(clean)],
    )


def forget(conn: sqlite3.Connection, name: str) -> int:
    """Detach collection ``name`` from every conversation; return from how many."""
    return conn.execute(
        "DELETE FROM conversation_collections WHERE collection = ?", (name,)
    ).rowcount
