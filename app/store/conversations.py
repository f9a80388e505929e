"""Queries on the conversations table. Functions take a connection; the store does the locking."""

from __future__ import annotations

import json
import sqlite3
import time

from .errors import ConversationNotFoundError, StoreError
from .records import Conversation

_COLUMNS = "id, title, pinned, created_at, updated_at, settings, active_leaf_id, deleted_at"
DEFAULT_TITLE = "New chat"
MAX_TITLE_CHARS = 200


def clean_title(title: str) -> str:
    """One line, trimmed, at most ``MAX_TITLE_CHARS``; an empty title becomes "New chat"."""
    if not isinstance(title, str):
        raise TypeError(f"title must be a string, not {type(title).__name__}")
    line = " ".join(title.split())
    return line[:MAX_TITLE_CHARS] or DEFAULT_TITLE


def settings_json(settings: dict | None) -> str:
    """Serialise per-conversation settings; they must be a JSON object."""
    if settings is None:
        return "{}"
    if not isinstance(settings, dict):
        raise TypeError(f"settings must be a dict, not {type(settings).__name__}")
    try:
        return json.dumps(settings, ensure_ascii=False, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(
            f"These conversation settings cannot be saved ({exc})",
            "settings may hold only text, numbers, booleans, lists and objects",
        ) from exc


def _row_to_conversation(row: sqlite3.Row) -> Conversation:
    try:
        settings = json.loads(row["settings"] or "{}")
    except ValueError:
        settings = {}
    if not isinstance(settings, dict):
        settings = {}
    return Conversation(
        id=row["id"],
        title=row["title"],
        pinned=bool(row["pinned"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        settings=settings,
        active_leaf_id=row["active_leaf_id"],
        deleted_at=row["deleted_at"],
    )


def create(
    conn: sqlite3.Connection,
    title: str,
    settings: dict | None,
    *,
    pinned: bool = False,
    created_at: float | None = None,
) -> int:
    """Insert a conversation and return its id."""
    now = time.time()
    created = now if created_at is None else float(created_at)
    cur = conn.execute(
        "INSERT INTO conversations (title, pinned, created_at, updated_at, settings) "
        "VALUES (?, ?, ?, ?, ?)",
        (clean_title(title), int(bool(pinned)), created, now, settings_json(settings)),
    )
    return int(cur.lastrowid)


def get(conn: sqlite3.Connection, conv_id: int) -> Conversation:
    """The conversation with ``conv_id`` (soft-deleted ones included)."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM conversations WHERE id = ?", (conv_id,)).fetchone()
    if row is None:
        raise ConversationNotFoundError(
            f"Conversation {conv_id} does not exist", "it may have been deleted for good"
        )
    return _row_to_conversation(row)


def require(conn: sqlite3.Connection, conv_id: int) -> None:
    """Raise ``ConversationNotFoundError`` unless ``conv_id`` exists."""
    if conn.execute("SELECT 1 FROM conversations WHERE id = ?", (conv_id,)).fetchone() is None:
        raise ConversationNotFoundError(
            f"Conversation {conv_id} does not exist", "it may have been deleted for good"
        )


def list_visible(conn: sqlite3.Connection, limit: int | None = None) -> list[Conversation]:
    """Conversations not deleted: pinned first, then most recently updated. One query."""
    sql = (
        f"SELECT {_COLUMNS} FROM conversations WHERE deleted_at IS NULL "
        "ORDER BY pinned DESC, updated_at DESC, id DESC"
    )
    params: tuple = ()
    if limit is not None:
        sql += " LIMIT ?"
        params = (int(limit),)
    return [_row_to_conversation(r) for r in conn.execute(sql, params)]


def list_deleted(conn: sqlite3.Connection) -> list[Conversation]:
    """Soft-deleted conversations, most recently deleted first (for an undo or trash view)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM conversations WHERE deleted_at IS NOT NULL "
        "ORDER BY deleted_at DESC, id DESC"
    )
    return [_row_to_conversation(r) for r in rows]


def set_fields(conn: sqlite3.Connection, conv_id: int, **fields: object) -> None:
    """Update the given columns of one conversation."""
    require(conn, conv_id)
    assignments = ", ".join(f"{name} = ?" for name in fields)
    conn.execute(
        f"UPDATE conversations SET {assignments} WHERE id = ?", (*fields.values(), conv_id)
    )


def touch(conn: sqlite3.Connection, conv_id: int, when: float | None = None) -> None:
    """Mark the conversation as updated now (moves it up the list)."""
    conn.execute(
        "UPDATE conversations SET updated_at = ? WHERE id = ?",
        (time.time() if when is None else when, conv_id),
    )


def purge_deleted(conn: sqlite3.Connection, older_than: float | None = None) -> int:
    """Remove soft-deleted conversations (deleted before ``older_than``, if given) for good."""
    where = "deleted_at IS NOT NULL"
    params: tuple = ()
    if older_than is not None:
        where += " AND deleted_at < ?"
        params = (older_than,)
    ids = [r[0] for r in conn.execute(f"SELECT id FROM conversations WHERE {where}", params)]
    for conv_id in ids:
        conn.execute("UPDATE conversations SET active_leaf_id = NULL WHERE id = ?", (conv_id,))
        conn.execute("DELETE FROM messages WHERE conv_id = ?", (conv_id,))
        conn.execute("DELETE FROM conversations WHERE id = ?", (conv_id,))
    return len(ids)
