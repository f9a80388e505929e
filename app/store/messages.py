"""Queries on the message tree. Functions take a connection; the store does the locking.

Messages form a tree per conversation: ``parent_id`` points at the message answered or
continued. Editing a user message and resending, or regenerating a reply, adds a *sibling*
(same parent), so the old branch stays reachable. ``conversations.active_leaf_id`` names the
branch on screen; the visible conversation is the path from the root down to that leaf.
A child is always inserted after its parent, so the highest id in any subtree is a leaf:
"the newest leaf below a message" is the subtree's maximum id.
"""

from __future__ import annotations

import json
import sqlite3
import time

from . import conversations
from .errors import MessageNotFoundError, StoreError
from .records import ROLES, STATUSES, Message

_SELECT = """
SELECT m.id, m.conv_id, m.parent_id, m.role, m.content, m.thinking, m.status, m.created_at,
       m.stats,
       (SELECT COUNT(*) FROM messages s
         WHERE s.parent_id IS m.parent_id AND s.conv_id = m.conv_id AND s.id < m.id)
         AS sibling_index,
       (SELECT COUNT(*) FROM messages s
         WHERE s.parent_id IS m.parent_id AND s.conv_id = m.conv_id) AS sibling_count
"""


def _row_to_message(row: sqlite3.Row) -> Message:
    stats = None
    if row["stats"]:
        try:
            stats = json.loads(row["stats"])
        except ValueError:
            stats = None
    return Message(
        id=row["id"],
        conv_id=row["conv_id"],
        parent_id=row["parent_id"],
        role=row["role"],
        content=row["content"],
        thinking=row["thinking"],
        status=row["status"],
        created_at=row["created_at"],
        stats=stats,
        sibling_index=row["sibling_index"],
        sibling_count=row["sibling_count"],
    )


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return role


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    return status


def check_text(name: str, value: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, not {type(value).__name__}")
    return value


def stats_json(stats: dict | None) -> str | None:
    """Serialise a message's statistics (a JSON object) or None."""
    if stats is None:
        return None
    if not isinstance(stats, dict):
        raise TypeError(f"stats must be a dict or None, not {type(stats).__name__}")
    try:
        return json.dumps(stats, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise StoreError(
            f"These message statistics cannot be saved ({exc})",
            "pass plain numbers, text, lists and objects (e.g. TurnStats.to_dict())",
        ) from exc


def _not_found(msg_id: int) -> MessageNotFoundError:
    return MessageNotFoundError(
        f"Message {msg_id} does not exist", "it may have been deleted; reload the conversation"
    )


def get(conn: sqlite3.Connection, msg_id: int) -> Message:
    """The message with ``msg_id``."""
    row = conn.execute(_SELECT + " FROM messages m WHERE m.id = ?", (msg_id,)).fetchone()
    if row is None:
        raise _not_found(msg_id)
    return _row_to_message(row)


def conv_of(conn: sqlite3.Connection, msg_id: int) -> int:
    """The conversation that holds ``msg_id``."""
    row = conn.execute("SELECT conv_id FROM messages WHERE id = ?", (msg_id,)).fetchone()
    if row is None:
        raise _not_found(msg_id)
    return int(row[0])


def add(
    conn: sqlite3.Connection,
    conv_id: int,
    role: str,
    content: str,
    thinking: str,
    parent_id: int | None,
    status: str,
    stats: dict | None,
    created_at: float | None = None,
) -> int:
    """Insert a message under ``parent_id`` (which must be in the same conversation)."""
    check_role(role)
    check_status(status)
    check_text("content", content)
    check_text("thinking", thinking)
    if parent_id is not None and conv_of(conn, parent_id) != conv_id:
        raise MessageNotFoundError(
            f"Message {parent_id} is not part of conversation {conv_id}",
            "reply only to messages of the same conversation",
        )
    now = time.time()
    created = now if created_at is None else float(created_at)
    cur = conn.execute(
        "INSERT INTO messages (conv_id, parent_id, role, content, thinking, status, created_at, "
        "updated_at, stats) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (conv_id, parent_id, role, content, thinking, status, created, now, stats_json(stats)),
    )
    return int(cur.lastrowid)


def update(
    conn: sqlite3.Connection,
    msg_id: int,
    *,
    content: str | None = None,
    thinking: str | None = None,
    status: str | None = None,
    stats: dict | None = None,
) -> int:
    """Change the given fields of one message; return its conversation id."""
    fields: dict[str, object] = {}
    if content is not None:
        fields["content"] = check_text("content", content)
    if thinking is not None:
        fields["thinking"] = check_text("thinking", thinking)
    if status is not None:
        fields["status"] = check_status(status)
    if stats is not None:
        fields["stats"] = stats_json(stats)
    conv_id = conv_of(conn, msg_id)
    if fields:
        fields["updated_at"] = time.time()
        assignments = ", ".join(f"{name} = ?" for name in fields)
        conn.execute(f"UPDATE messages SET {assignments} WHERE id = ?", (*fields.values(), msg_id))
    return conv_id


def active_leaf(conn: sqlite3.Connection, conv_id: int) -> int | None:
    """The leaf of the branch on screen (the newest message if none was chosen)."""
    row = conn.execute(
        "SELECT active_leaf_id FROM conversations WHERE id = ?", (conv_id,)
    ).fetchone()
    if row is not None and row[0] is not None:
        return int(row[0])
    row = conn.execute("SELECT MAX(id) FROM messages WHERE conv_id = ?", (conv_id,)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def path_to(conn: sqlite3.Connection, conv_id: int, leaf_id: int | None) -> list[Message]:
    """Messages from the root down to ``leaf_id`` (one recursive query)."""
    if leaf_id is None:
        return []
    rows = conn.execute(
        """
        WITH RECURSIVE path(id, depth) AS (
            SELECT ?, 0
            UNION ALL
            SELECT m.parent_id, path.depth + 1 FROM messages m JOIN path ON m.id = path.id
             WHERE m.parent_id IS NOT NULL
        )
        """
        + _SELECT
        + " FROM path JOIN messages m ON m.id = path.id WHERE m.conv_id = ? "
        "ORDER BY path.depth DESC",
        (leaf_id, conv_id),
    ).fetchall()
    return [_row_to_message(r) for r in rows]


def all_in(conn: sqlite3.Connection, conv_id: int) -> list[Message]:
    """Every message of a conversation, all branches, parents before children."""
    rows = conn.execute(_SELECT + " FROM messages m WHERE m.conv_id = ? ORDER BY m.id", (conv_id,))
    return [_row_to_message(r) for r in rows]


def siblings(conn: sqlite3.Connection, msg_id: int) -> list[Message]:
    """Messages sharing ``msg_id``'s parent (itself included), oldest first."""
    row = conn.execute("SELECT conv_id, parent_id FROM messages WHERE id = ?", (msg_id,)).fetchone()
    if row is None:
        raise _not_found(msg_id)
    rows = conn.execute(
        _SELECT + " FROM messages m WHERE m.parent_id IS ? AND m.conv_id = ? ORDER BY m.id",
        (row["parent_id"], row["conv_id"]),
    )
    return [_row_to_message(r) for r in rows]


def subtree_ids(conn: sqlite3.Connection, msg_id: int) -> list[int]:
    """``msg_id`` and all its descendants."""
    rows = conn.execute(
        """
        WITH RECURSIVE sub(id) AS (
            SELECT ? UNION ALL SELECT m.id FROM messages m JOIN sub ON m.parent_id = sub.id
        )
        SELECT id FROM sub
        """,
        (msg_id,),
    )
    return [int(r[0]) for r in rows]


def newest_leaf_under(conn: sqlite3.Connection, msg_id: int) -> int:
    """The most recently added leaf of ``msg_id``'s subtree (``msg_id`` if it has no children)."""
    return max(subtree_ids(conn, msg_id))


def delete_subtree(conn: sqlite3.Connection, msg_id: int) -> None:
    """Delete a message and its descendants, moving the active branch off them if needed."""
    row = conn.execute("SELECT conv_id, parent_id FROM messages WHERE id = ?", (msg_id,)).fetchone()
    if row is None:
        raise _not_found(msg_id)
    conv_id, parent_id = int(row["conv_id"]), row["parent_id"]
    current = active_leaf(conn, conv_id)
    moves_active = current in set(subtree_ids(conn, msg_id))
    if moves_active:
        conn.execute("UPDATE conversations SET active_leaf_id = NULL WHERE id = ?", (conv_id,))
    # One statement, so the parent_id foreign key is checked only once all rows are gone.
    conn.execute(
        "WITH RECURSIVE sub(id) AS (SELECT ? UNION ALL "
        "SELECT m.id FROM messages m JOIN sub ON m.parent_id = sub.id) "
        "DELETE FROM messages WHERE id IN (SELECT id FROM sub)",
        (msg_id,),
    )
    if moves_active:
        new_leaf = newest_leaf_under(conn, parent_id) if parent_id is not None else None
        conversations.set_fields(conn, conv_id, active_leaf_id=new_leaf)
    conversations.touch(conn, conv_id)


def set_active(conn: sqlite3.Connection, conv_id: int, msg_id: int) -> int:
    """Show the branch through ``msg_id``, down to its newest leaf; return that leaf."""
    if conv_of(conn, msg_id) != conv_id:
        raise MessageNotFoundError(
            f"Message {msg_id} is not part of conversation {conv_id}",
            "reload the conversation and pick the branch again",
        )
    leaf = newest_leaf_under(conn, msg_id)
    conversations.set_fields(conn, conv_id, active_leaf_id=leaf)
    return leaf


def mark_interrupted(conn: sqlite3.Connection) -> int:
    """Mark replies left "streaming" by a crash as "interrupted"; return how many."""
    cur = conn.execute("UPDATE messages SET status = 'interrupted' WHERE status = 'streaming'")
    return cur.rowcount
