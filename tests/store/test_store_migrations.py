"""Schema versions: upgrading an older database (with a backup first), refusing bad files."""

from __future__ import annotations

import sqlite3

import pytest

from app.store import (
    LATEST_VERSION,
    ConversationStore,
    MigrationError,
    SchemaTooNewError,
    StoreOpenError,
)
from app.store import connection as store_connection
from app.store.schema import MIGRATIONS, Migration


def _make_v1_database(path) -> None:
    """A database as version 1 of the app left it: no full-text index yet."""
    conn = store_connection.connect(path)
    store_connection.migrate(conn, path, target=1)
    conn.execute(
        "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (1, 'Old chat', 1, 2)"
    )
    conn.execute(
        "INSERT INTO messages (id, conv_id, role, content, thinking, created_at, updated_at) "
        "VALUES (1, 1, 'user', 'remember the lighthouse', 'a thought', 1, 1)"
    )
    conn.execute("UPDATE conversations SET active_leaf_id = 1")
    conn.close()


def _user_version(path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def test_new_database_gets_the_latest_schema_without_a_backup(db_path):
    with ConversationStore.open(db_path) as store:
        assert store.migration_backup is None
    assert _user_version(db_path) == LATEST_VERSION
    assert [p.name for p in db_path.parent.iterdir() if p.suffix == ".bak"] == []


def test_migrations_are_numbered_in_order():
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST_VERSION + 1))


def test_upgrade_from_version_1_backs_up_first_and_keeps_the_data(db_path):
    _make_v1_database(db_path)
    assert _user_version(db_path) == 1

    with ConversationStore.open(db_path) as store:
        backup = store.migration_backup
        assert backup is not None and backup.exists()
        assert backup.name.startswith("conversations.sqlite3.v1-") and backup.suffix == ".bak"
        assert [c.title for c in store.list_conversations()] == ["Old chat"]
        # The upgrade indexed the messages that were already there.
        (hit,) = store.search("lighthouse")
        assert hit.snippet == "remember the <b>lighthouse</b>"
        assert store.search("thought", include_thinking=True)[0].message_id == 1
    assert _user_version(db_path) == LATEST_VERSION

    # The backup is a complete, standalone copy of the version-1 database.
    copy = sqlite3.connect(backup)
    try:
        assert copy.execute("PRAGMA user_version").fetchone()[0] == 1
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT content FROM messages").fetchall() == [
            ("remember the lighthouse",)
        ]
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    finally:
        copy.close()

    # Opening again needs no upgrade, so no second backup.
    with ConversationStore.open(db_path) as store:
        assert store.migration_backup is None
    assert len(list(db_path.parent.glob("*.bak"))) == 1


def test_failed_upgrade_rolls_back_and_leaves_the_backup(db_path, monkeypatch):
    _make_v1_database(db_path)
    broken = Migration(LATEST_VERSION + 1, "a step that fails", ("CREATE TABLE oops (",))
    monkeypatch.setattr(
        store_connection, "pending_migrations", lambda current, target: [*MIGRATIONS[1:], broken]
    )
    with pytest.raises(MigrationError, match="a step that fails") as info:
        ConversationStore.open(db_path)
    assert "a copy of the old database is at" in str(info.value)
    assert _user_version(db_path) == 1  # the successful step 2 was rolled back too
    conn = sqlite3.connect(db_path)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    assert "messages_fts" not in names
    assert len(list(db_path.parent.glob("*.bak"))) == 1


def test_database_from_a_newer_app_is_refused_untouched(db_path):
    ConversationStore.open(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 5}")
    conn.close()
    with pytest.raises(SchemaTooNewError, match="newer version of QwQ Desktop"):
        ConversationStore.open(db_path)
    assert _user_version(db_path) == LATEST_VERSION + 5
    assert list(db_path.parent.glob("*.bak")) == []


def test_a_file_that_is_not_a_database_is_refused(db_path):
    db_path.write_bytes(b"this is not an SQLite file at all" * 100)
    with pytest.raises(StoreOpenError, match="damaged or is not a database"):
        ConversationStore.open(db_path)


def test_someone_elses_sqlite_database_is_refused(db_path):
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.close()
    with pytest.raises(StoreOpenError, match="not a QwQ Desktop conversation history"):
        ConversationStore.open(db_path)
