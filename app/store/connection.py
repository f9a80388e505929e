"""Opening the database: pragmas, schema upgrades with a backup first, and thread-safe access.

Thread safety: the store keeps **one** SQLite connection per open database and serialises every
use of it with a re-entrant lock (``Database.lock``). The GUI thread, the generation worker and
a ``StreamingSaver``'s flush thread may all call the store; each call holds the lock only for its
own few statements, and every write runs in its own short ``BEGIN IMMEDIATE`` transaction.
One connection (rather than one per thread) keeps the crash-recovery and ``close()`` semantics
simple, and the store's queries take milliseconds, so nobody waits noticeably.

Privacy: the database and its ``-wal``/``-shm`` files are the user's alone (0600 on POSIX; an
older, looser file is tightened on open), in a folder created user-only (0700).

Durability: WAL journal with ``synchronous=NORMAL``. A committed transaction survives the app
being killed (the WAL is in the operating system's cache); only a power cut can lose the last
commits, never corrupt the file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from app.paths import FILE_MODE, FOLDER_MODE, tighten

from .errors import (
    MigrationError,
    SchemaTooNewError,
    StoreClosedError,
    StoreIOError,
    StoreOpenError,
)
from .schema import LATEST_VERSION, pending_migrations

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 10.0


def connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open ``path`` in autocommit mode with the store's pragmas (WAL, foreign keys)."""
    db_path = Path(path)
    try:
        db_path.parent.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        _private(db_path)
        conn = sqlite3.connect(
            db_path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S
        )
    except (OSError, sqlite3.Error) as exc:
        raise StoreOpenError(
            f"Cannot open the conversation database {db_path} ({exc})",
            "check that the folder exists and that you may write to it",
        ) from exc
    conn.row_factory = sqlite3.Row
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreOpenError(
            f"The conversation database {db_path} is damaged or is not a database ({exc})",
            "move the file aside and restart the app to begin a new history "
            "(backups taken before upgrades sit beside it as *.bak)",
        ) from exc
    if str(mode).lower() != "wal":
        log.warning("SQLite refused WAL mode for %s (journal mode is %s)", db_path, mode)
    for suffix in ("", "-wal", "-shm"):  # SQLite gives its sidecars the database's mode
        tighten(Path(f"{db_path}{suffix}"), FILE_MODE)
    return conn


def _private(db_path: Path) -> None:
    """Create a new database file user-only, whatever the process's umask."""
    if os.name == "posix" and not db_path.exists():
        os.close(os.open(db_path, os.O_CREAT | os.O_WRONLY, FILE_MODE))


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version stored in the database header (0 for a new, empty database)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def backup_database(conn: sqlite3.Connection, dest: Path) -> None:
    """Copy the live database to ``dest`` with SQLite's online backup API (written atomically)."""
    tmp = dest.with_name(dest.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    target = sqlite3.connect(tmp)
    try:
        conn.backup(target)
        # The copy is a standalone file: keep it out of WAL mode so it needs no -wal sidecar.
        target.execute("PRAGMA journal_mode=DELETE")
    finally:
        target.close()
    tighten(tmp, FILE_MODE)
    os.replace(tmp, dest)


def backup_path_for(db_path: Path, version: int) -> Path:
    """Where the copy taken before upgrading from ``version`` goes (never overwrites one)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = db_path.with_name(f"{db_path.name}.v{version}-{stamp}.bak")
    n = 1
    while candidate.exists():
        n += 1
        candidate = db_path.with_name(f"{db_path.name}.v{version}-{stamp}-{n}.bak")
    return candidate


def migrate(conn: sqlite3.Connection, db_path: Path, target: int = LATEST_VERSION) -> Path | None:
    """Bring the schema to ``target``; return the backup taken first (None if none was needed).

    Raises ``SchemaTooNewError`` for a database from a newer app and ``MigrationError`` if a
    step fails (the transaction is rolled back, so the database keeps its old version).
    """
    current = schema_version(conn)
    if current > LATEST_VERSION:
        raise SchemaTooNewError(
            f"The conversation database {db_path} was written by a newer version of "
            f"QwQ Desktop (schema {current}, this version knows up to {LATEST_VERSION})",
            "update QwQ Desktop; the database was not changed",
        )
    steps = pending_migrations(current, target)
    if not steps:
        return None
    if current == 0 and _has_tables(conn):
        raise StoreOpenError(
            f"{db_path} is an SQLite database but not a QwQ Desktop conversation history",
            "choose another file or move this one aside",
        )
    backup = None
    if current > 0:
        backup = backup_path_for(db_path, current)
        try:
            backup_database(conn, backup)
        except (OSError, sqlite3.Error) as exc:
            raise MigrationError(
                f"Could not back up {db_path} before upgrading it ({exc})",
                "free some disk space and restart; the database was not changed",
            ) from exc
        log.info("Backed up %s (schema %d) to %s before upgrading", db_path, current, backup)
    step = steps[0]
    try:
        conn.execute("BEGIN IMMEDIATE")
        for step in steps:
            for statement in step.statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {int(step.version)}")
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        where = f"; a copy of the old database is at {backup}" if backup else ""
        raise MigrationError(
            f"Upgrading the conversation database to schema {step.version} "
            f"({step.description}) failed: {exc}",
            f"the database was not changed{where}. Please report this bug",
        ) from exc
    return backup


@contextlib.contextmanager
def _io_errors_as_store_errors(path: Path) -> Iterator[None]:
    """Turn SQLite's operational failures (disk full, I/O error, locked) into ``StoreIOError``.

    Constraint and programming errors are bugs and pass through unchanged.
    """
    try:
        yield
    except sqlite3.OperationalError as exc:
        raise StoreIOError(
            f"Reading or writing the conversation database {path} failed ({exc})",
            "check that the disk is not full and that no other program holds the file",
        ) from exc
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError)):
            raise
        raise StoreIOError(
            f"The conversation database {path} is damaged ({exc})",
            "quit, move the file aside and restart; backups sit beside it as *.bak",
        ) from exc


def _has_tables(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None


class Database:
    """One connection plus the lock that serialises its use across threads."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self._conn: sqlite3.Connection | None = conn

    @property
    def closed(self) -> bool:
        return self._conn is None

    def _require(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreClosedError(
                "The conversation store is closed", "this is a bug in the app; please report it"
            )
        return self._conn

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock for a group of reads."""
        with self.lock, _io_errors_as_store_errors(self.path):
            yield self._require()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and run the block as one write transaction (nested blocks join it)."""
        with self.lock, _io_errors_as_store_errors(self.path):
            conn = self._require()
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # the block failed, or COMMIT did (disk full)
                    conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Optimise query statistics and close the connection (idempotent)."""
        with self.lock:
            if self._conn is None:
                return
            conn, self._conn = self._conn, None
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA optimize")
            conn.close()
