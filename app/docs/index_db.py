"""One collection's index: an SQLite file (WAL) with its files, chunks, FTS5 and vectors.

Tables: ``meta`` (name, embedder, chunking), ``roots`` (the files and folders the user added),
``files`` (one row per file: size, mtime, sha256, status, or the error that stopped it),
``chunks`` (text, page, heading, float16 vector) and ``chunks_fts`` (FTS5 over chunk text and
heading, Porter stemming, kept in step by triggers). A file's chunks and its ``files`` row
change in one transaction (indexing groups a few finished files per commit, ``indexer``), so a
crash leaves every file either wholly indexed as before or wholly as after: a killed indexing
run resumes with the files it had not committed.

Thread safety: one connection per ``IndexDB``, serialised by a lock, as the conversation store
does; readers in other processes (the CLI while the GUI indexes) see committed data (WAL).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from .errors import IndexStoreError

SCHEMA_VERSION = 1
_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE roots (path TEXT PRIMARY KEY, added_at REAL NOT NULL)",
    """
    CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        status TEXT NOT NULL,
        kind TEXT,
        pages INTEGER,
        chunks INTEGER NOT NULL DEFAULT 0,
        tokens INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        indexed_at REAL NOT NULL
    )
    """,
    """
    CREATE TABLE chunks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        page INTEGER,
        heading TEXT,
        text TEXT NOT NULL,
        tokens INTEGER NOT NULL,
        vector BLOB
    )
    """,
    "CREATE INDEX chunks_by_file ON chunks(file_id, ordinal)",
    """
    CREATE VIRTUAL TABLE chunks_fts USING fts5(
        text, heading, content='chunks', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
        INSERT INTO chunks_fts(rowid, text, heading) VALUES (new.id, new.text, new.heading);
    END
    """,
    """
    CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
        INSERT INTO chunks_fts(chunks_fts, rowid, text, heading)
        VALUES ('delete', old.id, old.text, old.heading);
    END
    """,
    # Fewer, larger FTS segment merges: each b-tree page is rewritten fewer times (disk writes).
    "INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('automerge', 8)",
)


def _connect(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        # Checkpoint every ~16 MB of WAL instead of 4 MB: pages changed by several file
        # transactions between two checkpoints reach the database file once.
        conn.execute("PRAGMA wal_autocheckpoint=4000")
        conn.execute("PRAGMA journal_size_limit=67108864")
        return conn
    except (OSError, sqlite3.Error) as exc:
        raise IndexStoreError(
            f"Cannot open the document index {path} ({exc})",
            "check that the disk has room and the folder can be written to; if the file is "
            "damaged, remove the collection and add its files again",
        ) from exc


class IndexDB:
    """The connection to one collection's index file, its lock and its metadata."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.lock = threading.RLock()
        self._conn: sqlite3.Connection | None = _connect(self.path)
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    def _migrate(self) -> None:
        with self.io() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise IndexStoreError(
                    f"The document index {self.path} was written by a newer QwQ Desktop",
                    "update the app; the index was not changed",
                )
            if version == SCHEMA_VERSION:
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def io(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock; SQLite's operational failures become ``IndexStoreError``."""
        with self.lock:
            if self._conn is None:
                raise IndexStoreError(f"The document index {self.path} is closed", "reopen it")
            try:
                yield self._conn
            except sqlite3.IntegrityError:
                raise
            except sqlite3.DatabaseError as exc:
                raise IndexStoreError(
                    f"Reading or writing the document index {self.path} failed ({exc})",
                    "check that the disk is not full; if it persists, remove the collection "
                    "and add its files again",
                ) from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT), rolled back on any error."""
        with self.io() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def get_meta(self, key: str, default=None):
        with self.io() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_meta(self, conn: sqlite3.Connection, key: str, value) -> None:
        conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )

    def close(self) -> None:
        """Fold the WAL into the file and close (idempotent)."""
        with self.lock:
            conn, self._conn = self._conn, None
            if conn is None:
                return
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA optimize")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
