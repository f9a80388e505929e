"""Export a conversation as Markdown or JSON, and import the JSON back.

The JSON format (``FORMAT_NAME``, ``FORMAT_VERSION``) holds the whole message tree, every
branch, so an export followed by an import loses nothing. Message ids in the file are
positions (1, 2, 3, ...) local to the file; parents always come before their children.

    {"format": "qwq-desktop-conversation", "version": 1, "app_version": "0.1.0",
     "exported_at": "2026-05-09T12:00:00Z", "includes_thinking": true,
     "conversation": {"title", "pinned", "created_at", "updated_at", "settings"},
     "messages": [{"id", "parent", "role", "content", "thinking", "status", "created_at",
                   "stats"}, ...],
     "active_leaf": 3}

Times are Unix seconds (floats). A file written by a newer format version is refused with a
message saying so; unknown extra keys are ignored.
"""

from __future__ import annotations

import math
import sqlite3
import time
from datetime import datetime, timezone

from .. import __version__
from . import conversations, messages
from .errors import ImportFormatError
from .records import ROLES, STATUSES, Message

FORMAT_NAME = "qwq-desktop-conversation"
FORMAT_VERSION = 1
_ROLE_HEADINGS = {"system": "System", "user": "User", "assistant": "Assistant"}
_STATUS_NOTES = {
    "interrupted": "*(This reply was interrupted before it finished.)*",
    "cancelled": "*(This reply was stopped.)*",
    "error": "*(This reply ended with an error.)*",
    "streaming": "*(This reply was still being written.)*",
}


def export_json(conn: sqlite3.Connection, conv_id: int, include_thinking: bool = True) -> dict:
    """The whole conversation (all branches) as a JSON-serialisable dict."""
    conv = conversations.get(conn, conv_id)
    tree = messages.all_in(conn, conv_id)
    position = {m.id: i for i, m in enumerate(tree, start=1)}
    leaf = messages.active_leaf(conn, conv_id)
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "app_version": __version__,
        "exported_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "includes_thinking": bool(include_thinking),
        "conversation": {
            "title": conv.title,
            "pinned": conv.pinned,
            "created_at": conv.created_at,
            "updated_at": conv.updated_at,
            "settings": conv.settings,
        },
        "messages": [
            {
                "id": position[m.id],
                "parent": position[m.parent_id] if m.parent_id is not None else None,
                "role": m.role,
                "content": m.content,
                "thinking": m.thinking if include_thinking else "",
                "status": m.status,
                "created_at": m.created_at,
                "stats": m.stats,
            }
            for m in tree
        ],
        "active_leaf": position.get(leaf) if leaf is not None else None,
    }


def _bad(problem: str) -> ImportFormatError:
    return ImportFormatError(
        f"This file is not a conversation exported by QwQ Desktop: {problem}",
        "choose a .json file made with Export → JSON",
    )


def _field(obj: dict, key: str, kinds: type | tuple[type, ...], where: str, default=...):
    if key not in obj:
        if default is ...:
            raise _bad(f"{where} has no {key!r}")
        return default
    value = obj[key]
    if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise _bad(f"{where}: {key!r} has the wrong type")
    if not isinstance(value, kinds):
        raise _bad(f"{where}: {key!r} has the wrong type")
    if isinstance(value, float) and not math.isfinite(value):
        raise _bad(f"{where}: {key!r} is not a finite number")
    return value


def _check_header(data: object) -> dict:
    if not isinstance(data, dict):
        raise _bad("the top level is not a JSON object")
    if data.get("format") != FORMAT_NAME:
        raise _bad(f"'format' is {data.get('format')!r}, expected {FORMAT_NAME!r}")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _bad("'version' is missing or not a positive whole number")
    if version > FORMAT_VERSION:
        raise ImportFormatError(
            f"This conversation was exported by a newer version of QwQ Desktop "
            f"(format {version}; this version reads up to {FORMAT_VERSION})",
            "update QwQ Desktop to import it",
        )
    return data


def import_json(conn: sqlite3.Connection, data: dict) -> int:
    """Add the exported conversation as a new one and return its id (call in a transaction)."""
    data = _check_header(data)
    header = _field(data, "conversation", dict, "the file")
    title = _field(header, "title", str, "'conversation'", "Imported chat")
    settings = _field(header, "settings", dict, "'conversation'", {})
    pinned = _field(header, "pinned", bool, "'conversation'", False)
    created_at = _field(header, "created_at", (int, float), "'conversation'", None)
    items = _field(data, "messages", list, "the file")
    conv_id = conversations.create(conn, title, settings, pinned=pinned, created_at=created_at)
    new_ids: dict[int, int] = {}
    for n, item in enumerate(items, start=1):
        where = f"message {n}"
        if not isinstance(item, dict):
            raise _bad(f"{where} is not a JSON object")
        file_id = _field(item, "id", int, where)
        if file_id in new_ids:
            raise _bad(f"{where} repeats the id {file_id}")
        parent = _field(item, "parent", (int, type(None)), where, None)
        if parent is not None and parent not in new_ids:
            raise _bad(f"{where} answers message {parent}, which does not come before it")
        role = _field(item, "role", str, where)
        if role not in ROLES:
            raise _bad(f"{where} has the unknown role {role!r}")
        status = _field(item, "status", str, where, "complete")
        if status not in STATUSES:
            raise _bad(f"{where} has the unknown status {status!r}")
        if status == "streaming":
            status = "interrupted"
        stats = _field(item, "stats", (dict, type(None)), where, None)
        new_ids[file_id] = messages.add(
            conn,
            conv_id,
            role,
            _field(item, "content", str, where),
            _field(item, "thinking", str, where, ""),
            new_ids[parent] if parent is not None else None,
            status,
            stats,
            created_at=_field(item, "created_at", (int, float), where, None),
        )
    leaf = _field(data, "active_leaf", (int, type(None)), "the file", None)
    if leaf is not None and leaf not in new_ids:
        raise _bad(f"'active_leaf' names message {leaf}, which is not in the file")
    conversations.set_fields(
        conn,
        conv_id,
        active_leaf_id=new_ids[leaf] if leaf is not None else None,
        updated_at=time.time(),
    )
    return conv_id


def _heading_title(title: str) -> str:
    return " ".join(title.split()) or "Untitled chat"


def _thinking_block(thinking: str) -> str:
    body = thinking.strip().replace("</details>", "&lt;/details>")
    return f"<details>\n<summary>Thinking</summary>\n\n{body}\n\n</details>"


def _message_markdown(message: Message, include_thinking: bool) -> str:
    parts = [f"## {_ROLE_HEADINGS.get(message.role, message.role.title())}"]
    if include_thinking and message.thinking.strip():
        parts.append(_thinking_block(message.thinking))
    if message.content.strip():
        parts.append(message.content.strip())
    if message.status in _STATUS_NOTES:
        parts.append(_STATUS_NOTES[message.status])
    return "\n\n".join(parts)


def export_markdown(conn: sqlite3.Connection, conv_id: int, include_thinking: bool = False) -> str:
    """The conversation's branch on screen as Markdown; thinking in collapsible blocks if asked."""
    conv = conversations.get(conn, conv_id)
    created = time.strftime("%Y-%m-%d %H:%M", time.localtime(conv.created_at))
    sections = [
        f"# {_heading_title(conv.title)}",
        f"*Started {created} · exported from QwQ Desktop*",
    ]
    system_prompt = conv.settings.get("system_prompt")
    if isinstance(system_prompt, str) and system_prompt.strip():
        quoted = "\n".join(f"> {line}" if line else ">" for line in system_prompt.splitlines())
        sections.append(f"**System prompt**\n\n{quoted}")
    leaf = messages.active_leaf(conn, conv_id)
    for message in messages.path_to(conn, conv_id, leaf):
        sections.append(_message_markdown(message, include_thinking))
    return "\n\n".join(sections) + "\n"
