"""Full-text search over messages (SQLite FTS5), with highlighted snippets.

What the user types is never passed to FTS5 as query syntax: each word becomes a quoted phrase
(so ``"``, ``-``, ``AND`` or ``*`` in the text cannot cause a syntax error), all words must
match, and the last word also matches as a prefix, for search-as-you-type.
"""

from __future__ import annotations

import html
import sqlite3

from .records import SearchHit

_MARK_START = "\ue000"  # private-use characters: cannot clash with message text
_MARK_END = "\ue001"
_ELLIPSIS = "…"
SNIPPET_TOKENS = 16


def match_expression(text: str) -> str | None:
    """Turn what the user typed into a safe FTS5 query, or None if it has nothing to search."""
    words = [w for w in text.split() if any(ch.isalnum() for ch in w)]
    if not words:
        return None
    phrases = ['"' + w.replace('"', '""') + '"' for w in words]
    phrases[-1] += "*"
    return " ".join(phrases)


def split_snippet(raw: str) -> tuple[str, tuple[tuple[int, int], ...], str]:
    """Turn an FTS5 snippet with private markers into (plain text, highlight spans, HTML)."""
    text_parts: list[str] = []
    html_parts: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    highlighted = False
    for piece in raw.replace(_MARK_END, _MARK_START).split(_MARK_START):
        if highlighted:
            spans.append((pos, pos + len(piece)))
            html_parts.append(f"<b>{html.escape(piece)}</b>")
        else:
            html_parts.append(html.escape(piece))
        text_parts.append(piece)
        pos += len(piece)
        highlighted = not highlighted
    return "".join(text_parts), tuple(spans), "".join(html_parts)


def _collapse_whitespace(raw: str) -> str:
    """Single spaces instead of newlines and runs of blanks, keeping spaces next to markers."""
    out = []
    pending_space = False
    for ch in raw:
        if ch.isspace():
            pending_space = True
            continue
        if pending_space and out:
            out.append(" ")
        pending_space = False
        out.append(ch)
    return "".join(out)


def search(
    conn: sqlite3.Connection, text: str, limit: int = 50, include_thinking: bool = False
) -> list[SearchHit]:
    """Best-matching messages of conversations that are not deleted, best first."""
    expression = match_expression(text)
    if expression is None or limit <= 0:
        return []
    if include_thinking:
        column = -1  # snippet from whichever column matched best
    else:
        expression = f"content : ({expression})"
        column = 0
    rows = conn.execute(
        f"""
        SELECT m.id, m.conv_id, m.role, m.created_at, c.title,
               snippet(messages_fts, {column}, ?, ?, ?, {SNIPPET_TOKENS}) AS snippet
          FROM messages_fts
          JOIN messages m ON m.id = messages_fts.rowid
          JOIN conversations c ON c.id = m.conv_id
         WHERE messages_fts MATCH ? AND c.deleted_at IS NULL
         ORDER BY bm25(messages_fts, 1.0, 0.5), m.created_at DESC
         LIMIT ?
        """,
        (_MARK_START, _MARK_END, _ELLIPSIS, expression, int(limit)),
    ).fetchall()
    hits = []
    for row in rows:
        plain, spans, marked_up = split_snippet(_collapse_whitespace(row["snippet"] or ""))
        hits.append(
            SearchHit(
                conv_id=row["conv_id"],
                message_id=row["id"],
                title=row["title"],
                snippet=marked_up,
                snippet_text=plain,
                highlights=spans,
                role=row["role"],
                created_at=row["created_at"],
            )
        )
    return hits
