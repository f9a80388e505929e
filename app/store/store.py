"""``ConversationStore``: the conversation history the GUI talks to (stdlib sqlite3, no Qt).

Safe to call from several threads: every method takes the database lock for the few statements
it runs (see ``connection``). Open one store per database file per process: opening marks every
message still "streaming" as "interrupted", which is right only when no one else is writing.
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from pathlib import Path

from . import attachments, conversations, messages, search, transfer
from .connection import Database, connect, migrate
from .records import Conversation, Message, SearchHit

log = logging.getLogger(__name__)

_ACTIVE_LEAF = object()  # add_message's default parent: the end of the branch on screen


class ConversationStore:
    """Conversations, their message trees, full-text search, export and import."""

    def __init__(self, db: Database, migration_backup: Path | None, recovered: int) -> None:
        self._db = db
        self.migration_backup = migration_backup
        """The copy of the database taken before this open upgraded its schema, if any."""
        self.recovered_messages = recovered
        """How many replies a previous crash left "streaming" (now marked "interrupted")."""
        self._savers: weakref.WeakSet = weakref.WeakSet()

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> ConversationStore:
        """Open (or create) the database at ``path``, upgrading its schema if needed.

        Raises ``StoreOpenError`` (or its subclasses ``SchemaTooNewError``,
        ``MigrationError``) with a message for the user when the file cannot be used.
        """
        db_path = Path(path)
        conn = connect(db_path)
        try:
            backup = migrate(conn, db_path)
            db = Database(conn, db_path)
            with db.transaction() as tx:
                recovered = messages.mark_interrupted(tx)
        except BaseException:
            conn.close()
            raise
        if recovered:
            log.info("Marked %d reply(s) left streaming by a crash as interrupted", recovered)
        return cls(db, backup, recovered)

    @property
    def path(self) -> Path:
        return self._db.path

    @property
    def closed(self) -> bool:
        return self._db.closed

    def close(self) -> None:
        """Finish any reply still being saved as "interrupted", then close (idempotent)."""
        for saver in list(self._savers):
            saver.finish("interrupted")
        self._db.close()

    def __enter__(self) -> ConversationStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- conversations -------------------------------------------------------------------

    def create_conversation(
        self, title: str = conversations.DEFAULT_TITLE, settings: dict | None = None
    ) -> Conversation:
        """Start a new, empty conversation."""
        with self._db.transaction() as tx:
            return conversations.get(tx, conversations.create(tx, title, settings))

    def get_conversation(self, conv_id: int) -> Conversation:
        """One conversation (soft-deleted ones too); ``ConversationNotFoundError`` if none."""
        with self._db.reading() as conn:
            return conversations.get(conn, conv_id)

    def list_conversations(self, limit: int | None = None) -> list[Conversation]:
        """Conversations not deleted: pinned first, then most recently updated."""
        with self._db.reading() as conn:
            return conversations.list_visible(conn, limit)

    def list_deleted(self) -> list[Conversation]:
        """Soft-deleted conversations, most recently deleted first."""
        with self._db.reading() as conn:
            return conversations.list_deleted(conn)

    def rename(self, conv_id: int, title: str) -> Conversation:
        """Give a conversation a new title (one line; empty becomes "New chat")."""
        with self._db.transaction() as tx:
            conversations.set_fields(tx, conv_id, title=conversations.clean_title(title))
            return conversations.get(tx, conv_id)

    def set_pinned(self, conv_id: int, pinned: bool) -> Conversation:
        """Pin a conversation to the top of the list, or unpin it."""
        with self._db.transaction() as tx:
            conversations.set_fields(tx, conv_id, pinned=int(bool(pinned)))
            return conversations.get(tx, conv_id)

    def update_settings(self, conv_id: int, settings: dict) -> Conversation:
        """Replace the conversation's settings (system prompt, sampling overrides)."""
        with self._db.transaction() as tx:
            conversations.set_fields(tx, conv_id, settings=conversations.settings_json(settings))
            return conversations.get(tx, conv_id)

    def delete(self, conv_id: int) -> None:
        """Soft-delete: hide from the list and from search until ``restore`` or ``purge``."""
        with self._db.transaction() as tx:
            conversations.set_fields(tx, conv_id, deleted_at=time.time())

    def restore(self, conv_id: int) -> Conversation:
        """Undo ``delete``."""
        with self._db.transaction() as tx:
            conversations.set_fields(tx, conv_id, deleted_at=None)
            return conversations.get(tx, conv_id)

    def purge_deleted(self, older_than: float | None = None) -> int:
        """Remove soft-deleted conversations for good (only those deleted before the Unix time
        ``older_than``, if given); return how many."""
        with self._db.transaction() as tx:
            return conversations.purge_deleted(tx, older_than)

    # -- messages ------------------------------------------------------------------------

    def add_message(
        self,
        conv_id: int,
        role: str,
        content: str,
        thinking: str = "",
        parent_id: int | None | object = _ACTIVE_LEAF,
        status: str = "complete",
        stats: dict | None = None,
    ) -> Message:
        """Add a message and make it the active leaf.

        ``parent_id`` defaults to the end of the branch on screen; pass a message's parent to
        create an alternative (edit-and-resend, regenerate), or None for a new first message.
        """
        with self._db.transaction() as tx:
            conversations.require(tx, conv_id)
            parent = messages.active_leaf(tx, conv_id) if parent_id is _ACTIVE_LEAF else parent_id
            msg_id = messages.add(tx, conv_id, role, content, thinking, parent, status, stats)
            conversations.set_fields(tx, conv_id, active_leaf_id=msg_id)
            conversations.touch(tx, conv_id)
            return messages.get(tx, msg_id)

    def get_message(self, msg_id: int) -> Message:
        """One message; ``MessageNotFoundError`` if none."""
        with self._db.reading() as conn:
            return messages.get(conn, msg_id)

    def update_message(
        self,
        msg_id: int,
        content: str | None = None,
        thinking: str | None = None,
        status: str | None = None,
        stats: dict | None = None,
    ) -> Message:
        """Change the given fields of a message (None leaves a field as it is)."""
        with self._db.transaction() as tx:
            conv_id = messages.update(
                tx, msg_id, content=content, thinking=thinking, status=status, stats=stats
            )
            conversations.touch(tx, conv_id)
            return messages.get(tx, msg_id)

    def delete_message(self, msg_id: int) -> None:
        """Delete a message and everything below it in the tree."""
        with self._db.transaction() as tx:
            messages.delete_subtree(tx, msg_id)

    def messages(self, conv_id: int) -> list[Message]:
        """The branch on screen, root to leaf."""
        with self._db.reading() as conn:
            conversations.require(conn, conv_id)
            return messages.path_to(conn, conv_id, messages.active_leaf(conn, conv_id))

    def all_messages(self, conv_id: int) -> list[Message]:
        """Every message of every branch, parents before children."""
        with self._db.reading() as conn:
            conversations.require(conn, conv_id)
            return messages.all_in(conn, conv_id)

    def siblings(self, msg_id: int) -> list[Message]:
        """The alternatives sharing ``msg_id``'s parent (itself included), oldest first."""
        with self._db.reading() as conn:
            return messages.siblings(conn, msg_id)

    def set_active_leaf(self, conv_id: int, msg_id: int) -> list[Message]:
        """Switch to the branch through ``msg_id`` (down to its newest leaf); return it."""
        with self._db.transaction() as tx:
            leaf = messages.set_active(tx, conv_id, msg_id)
            return messages.path_to(tx, conv_id, leaf)

    # -- document collections (app/docs) -------------------------------------------------

    def attached_collections(self, conv_id: int) -> list[str]:
        """Names of the document collections the conversation answers from, in order."""
        with self._db.reading() as conn:
            return attachments.attached(conn, conv_id)

    def set_attached_collections(self, conv_id: int, names: list[str]) -> list[str]:
        """Attach exactly ``names`` (in this order) to the conversation; return them."""
        with self._db.transaction() as tx:
            attachments.set_attached(tx, conv_id, list(names))
            return attachments.attached(tx, conv_id)

    def attach_collection(self, conv_id: int, name: str) -> list[str]:
        """Add one collection at the end (no-op if attached already); return all."""
        with self._db.transaction() as tx:
            current = attachments.attached(tx, conv_id)
            attachments.set_attached(tx, conv_id, [*current, name])
            return attachments.attached(tx, conv_id)

    def detach_collection(self, conv_id: int, name: str) -> list[str]:
        """Remove one collection from the conversation; return the rest."""
        with self._db.transaction() as tx:
            current = attachments.attached(tx, conv_id)
            attachments.set_attached(tx, conv_id, [n for n in current if n != name])
            return attachments.attached(tx, conv_id)

    def forget_collection(self, name: str) -> int:
        """Detach a deleted collection from every conversation; return from how many."""
        with self._db.transaction() as tx:
            return attachments.forget(tx, name)

    # -- search, export, import ----------------------------------------------------------

    def search(
        self, query: str, limit: int = 50, include_thinking: bool = False
    ) -> list[SearchHit]:
        """Messages matching every word of ``query`` (the last word as a prefix), best first."""
        with self._db.reading() as conn:
            return search.search(conn, query, limit, include_thinking)

    def export_markdown(self, conv_id: int, include_thinking: bool = False) -> str:
        """The branch on screen as Markdown (thinking in collapsible ``<details>`` blocks)."""
        with self._db.reading() as conn:
            return transfer.export_markdown(conn, conv_id, include_thinking)

    def export_json(self, conv_id: int, include_thinking: bool = True) -> dict:
        """The whole conversation, every branch, in the versioned JSON format."""
        with self._db.reading() as conn:
            return transfer.export_json(conn, conv_id, include_thinking)

    def import_json(self, data: dict) -> int:
        """Add a conversation from ``export_json`` data; return its new id.

        Raises ``ImportFormatError`` (nothing is added) when the data is not a valid export.
        """
        with self._db.transaction() as tx:
            return transfer.import_json(tx, data)

    # -- streaming savers (used by StreamingSaver) ----------------------------------------

    def _register_saver(self, saver: object) -> None:
        self._savers.add(saver)

    def _unregister_saver(self, saver: object) -> None:
        self._savers.discard(saver)
