"""Document collections attached to conversations (schema 3)."""

from __future__ import annotations

import sqlite3

import pytest

from app.store import ConversationNotFoundError, ConversationStore
from app.store.schema import MIGRATIONS, pending_migrations


def test_attach_detach_keep_order_and_survive_reopen(tmp_path):
    path = tmp_path / "c.sqlite3"
    with ConversationStore.open(path) as store:
        conv = store.create_conversation("Manuals")
        assert store.attached_collections(conv.id) == []
        store.attach_collection(conv.id, "Camera")
        store.attach_collection(conv.id, "Drone")
        assert store.attach_collection(conv.id, "Camera") == ["Camera", "Drone"]
        assert store.detach_collection(conv.id, "Camera") == ["Drone"]
        store.set_attached_collections(conv.id, ["Z", "A", "Z"])
    with ConversationStore.open(path) as store:
        assert store.attached_collections(conv.id) == ["Z", "A"]


def test_forget_collection_and_cascade_on_purge(tmp_path):
    with ConversationStore.open(tmp_path / "c.sqlite3") as store:
        a, b = store.create_conversation("a"), store.create_conversation("b")
        store.attach_collection(a.id, "Old")
        store.attach_collection(b.id, "Old")
        store.attach_collection(b.id, "Kept")
        assert store.forget_collection("Old") == 2
        assert store.attached_collections(b.id) == ["Kept"]
        store.delete(b.id)
        store.purge_deleted()
        with pytest.raises(ConversationNotFoundError):
            store.attached_collections(b.id)


def test_upgrade_from_version_2_adds_the_table(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    for migration in pending_migrations(0, 2):
        for statement in migration.statements:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    conn.execute(
        "INSERT INTO conversations(title, created_at, updated_at) VALUES ('kept', 1.0, 1.0)"
    )
    conn.commit()
    conn.close()
    with ConversationStore.open(path) as store:
        assert store.migration_backup is not None
        conv = store.list_conversations()[0]
        assert conv.title == "kept"
        assert store.attach_collection(conv.id, "Docs") == ["Docs"]
    assert MIGRATIONS[-1].version == 3
