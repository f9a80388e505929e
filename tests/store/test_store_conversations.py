"""Conversations: create, read, list order, rename, pin, settings, soft delete and undo."""

from __future__ import annotations

import pytest

from app.store import ConversationNotFoundError, ConversationStore, StoreClosedError, StoreError


def test_create_and_get(store):
    conv = store.create_conversation("Trip to Paris", settings={"system_prompt": "Be brief."})
    again = store.get_conversation(conv.id)
    assert again == conv
    assert again.title == "Trip to Paris"
    assert again.settings == {"system_prompt": "Be brief."}
    assert again.pinned is False and again.active_leaf_id is None and not again.deleted
    assert again.created_at <= again.updated_at


def test_titles_are_one_trimmed_line_and_never_empty(store):
    assert store.create_conversation("  two\nlines  ").title == "two lines"
    assert store.create_conversation("   ").title == "New chat"
    assert len(store.create_conversation("x" * 1000).title) == 200


def test_list_puts_pinned_first_then_most_recent(store):
    old = store.create_conversation("old")
    middle = store.create_conversation("middle")
    new = store.create_conversation("new")
    assert [c.title for c in store.list_conversations()] == ["new", "middle", "old"]

    store.add_message(old.id, "user", "bump")  # activity moves a chat up
    assert [c.id for c in store.list_conversations()] == [old.id, new.id, middle.id]

    store.set_pinned(middle.id, True)
    assert [c.id for c in store.list_conversations()] == [middle.id, old.id, new.id]
    assert store.get_conversation(middle.id).pinned is True
    assert [c.id for c in store.list_conversations(limit=2)] == [middle.id, old.id]


def test_rename_and_update_settings(store):
    conv = store.create_conversation()
    assert store.rename(conv.id, "Renamed").title == "Renamed"
    updated = store.update_settings(conv.id, {"temperature": 0.6, "system_prompt": "Hi"})
    assert store.get_conversation(conv.id).settings == {"temperature": 0.6, "system_prompt": "Hi"}
    assert updated.title == "Renamed"


def test_settings_must_be_json(store):
    conv = store.create_conversation()
    with pytest.raises(StoreError, match="cannot be saved"):
        store.update_settings(conv.id, {"bad": object()})
    with pytest.raises(TypeError):
        store.update_settings(conv.id, ["not", "a", "dict"])


def test_soft_delete_hides_and_restore_undoes(store, make_chat):
    conv, _ = make_chat("needle in the haystack", title="doomed")
    keep = store.create_conversation("kept")
    store.delete(conv.id)
    assert [c.id for c in store.list_conversations()] == [keep.id]
    assert store.search("needle") == []
    assert [c.id for c in store.list_deleted()] == [conv.id]
    assert store.get_conversation(conv.id).deleted

    restored = store.restore(conv.id)
    assert not restored.deleted
    assert {c.id for c in store.list_conversations()} == {conv.id, keep.id}
    assert [h.conv_id for h in store.search("needle")] == [conv.id]
    assert len(store.messages(conv.id)) == 1


def test_purge_removes_only_deleted_for_good(store, make_chat):
    gone, _ = make_chat("first", "second")
    kept, _ = make_chat("third")
    store.delete(gone.id)
    assert store.purge_deleted() == 1
    with pytest.raises(ConversationNotFoundError):
        store.get_conversation(gone.id)
    assert [c.id for c in store.list_conversations()] == [kept.id]
    assert store.list_deleted() == []
    assert [m.content for m in store.messages(kept.id)] == ["third"]


def test_purge_older_than_keeps_recent_deletions(store):
    conv = store.create_conversation()
    store.delete(conv.id)
    deleted_at = store.get_conversation(conv.id).deleted_at
    assert store.purge_deleted(older_than=deleted_at - 60) == 0
    assert store.purge_deleted(older_than=deleted_at + 1) == 1


def test_unknown_conversation_raises_readable_error(store):
    with pytest.raises(ConversationNotFoundError, match="Conversation 999 does not exist"):
        store.get_conversation(999)
    for call in (
        lambda: store.rename(999, "x"),
        lambda: store.set_pinned(999, True),
        lambda: store.delete(999),
        lambda: store.messages(999),
        lambda: store.add_message(999, "user", "hi"),
    ):
        with pytest.raises(ConversationNotFoundError):
            call()


def test_data_survives_reopening(db_path):
    with ConversationStore.open(db_path) as first:
        conv = first.create_conversation("persisted")
        first.add_message(conv.id, "user", "hello")
    with ConversationStore.open(db_path) as second:
        assert [c.title for c in second.list_conversations()] == ["persisted"]
        assert [m.content for m in second.messages(conv.id)] == ["hello"]


def test_closed_store_refuses_calls(db_path):
    opened = ConversationStore.open(db_path)
    opened.close()
    opened.close()  # idempotent
    assert opened.closed
    with pytest.raises(StoreClosedError):
        opened.list_conversations()


def test_database_uses_wal_and_foreign_keys(store, db_path):
    import sqlite3

    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    # Foreign keys are enforced on the store's own connection.
    with store._db.transaction() as tx:
        assert tx.execute("PRAGMA foreign_keys").fetchone()[0] == 1
