"""One indexing run over a collection (``Collection.index`` creates it).

Per file: stat and hash it; skip it when the content hash is unchanged (only its timestamp is
updated); otherwise read, chunk and embed it outside any transaction and queue the result.
Queued files are committed together in one short transaction once ``COMMIT_BYTES`` of text
and vectors are waiting or ``COMMIT_SECONDS`` have passed (and before a pause, at a cancel and
at the end). Each file's old rows are replaced by its new ones inside that transaction, so every
file is atomic; ``FileIndexed`` is emitted once its commit is durable. A kill loses at most the
queued files (redone by the next run, nothing else is). One commit per small file would write
each SQLite page that every commit touches (b-tree roots, FTS5 structure, the file table)
again and again: on 50 ten-page PDFs that was 7-11 times the index size in disk writes;
grouping keeps it near the WAL's inherent twice (docs/performance.md). Searches on other
threads wait at most for one commit. Per-file problems (unreadable, encrypted, no text) are
recorded as the file's error and the run goes on; the file is retried when it changes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from os import stat_result
from pathlib import Path

import numpy as np

from app.errors import as_user_error

from . import events as ev
from .chunker import chunk_sections
from .collection import EMBED_BATCH, Collection, embed_text, file_sha256, vectors_blob
from .embedder import Embedder
from .errors import DocsError, DocumentError, EmbedderError, IndexingCancelled, IndexStoreError
from .readers import read_document

COMMIT_BYTES = 4 * 1024 * 1024
COMMIT_SECONDS = 10.0


@dataclass
class _Prepared:
    """A file read, chunked and embedded, waiting for its commit."""

    path: Path
    st: stat_result
    digest: str
    kind: str
    pages: int | None
    chunks: list
    vectors: np.ndarray | None
    seconds: float

    @property
    def nbytes(self) -> int:
        vectors = 0 if self.vectors is None else self.vectors.shape[0] * self.vectors.shape[1] * 2
        return sum(len(c.text) for c in self.chunks) + vectors + 200 * len(self.chunks)


class IndexRun:
    """The state of one run: counters, the event sink and the control token."""

    def __init__(
        self,
        collection: Collection,
        embedder: Embedder | None,
        control: ev.IndexControl,
        on_event: ev.EventCallback | None,
    ) -> None:
        self.c = collection
        self.embedder = embedder
        self.control = control
        self.on_event = on_event
        self.name = collection.name
        self.indexed = self.unchanged = self.removed = self.chunks = self.pages = 0
        self.failed: list[tuple[str, DocsError]] = []
        self.bytes_done = self.bytes_total = 0
        self.files_done = self.files_total = 0
        self.pending: list[_Prepared] = []
        self.last_commit = time.perf_counter()

    def emit(self, event: ev.IndexEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _pause(self, paused: bool) -> None:
        if paused:
            self._flush()  # what is done before a pause is durable while paused
        self.emit(ev.IndexingPaused(self.name) if paused else ev.IndexingResumed(self.name))

    def _progress(self, current: str | None, extra: int = 0) -> None:
        self.emit(
            ev.IndexingProgress(
                self.name,
                self.files_done,
                self.files_total,
                self.bytes_done + extra,
                self.bytes_total,
                current,
            )
        )

    def summary(self, started: float) -> ev.IndexSummary:
        return ev.IndexSummary(
            self.indexed,
            self.unchanged,
            tuple(self.failed),
            self.removed,
            self.chunks,
            self.pages,
            time.perf_counter() - started,
        )

    def run(self) -> ev.IndexSummary:
        started = time.perf_counter()
        cancelled, error = False, None
        try:
            self.c.check_embedder(self.embedder)
            changes = self.c.changes()
            todo = [Path(p) for p in (*changes.new, *changes.modified)]
            sizes = {}
            for path in todo:
                try:
                    sizes[path] = path.stat().st_size
                except OSError:
                    sizes[path] = 0
            self.files_total, self.bytes_total = len(todo), sum(sizes.values())
            known = len(self.c.files()) - len(changes.modified) - len(changes.removed)
            self.emit(ev.IndexingStarted(self.name, len(todo), max(0, known), self.bytes_total))
            for path in changes.removed:
                self.control.checkpoint(self._pause)
                self._remove(path)
            for number, path in enumerate(todo, 1):
                self.control.checkpoint(self._pause)
                self.emit(ev.FileStarted(self.name, str(path), number, len(todo)))
                self._one(path, sizes[path])
                self.files_done += 1
                self.bytes_done += sizes[path]
                self._progress(str(path))
            self._flush()
        except IndexingCancelled:
            cancelled = True
        except DocsError as exc:
            error = exc
        except Exception as exc:  # a bug: still end the run with its final event
            error = as_user_error(exc, f"indexing {self.name}")
        if self.pending:  # files finished before a cancel or a run-wide error stay indexed
            try:
                self._flush()
            except DocsError as exc:
                error = error or exc
        summary = self.summary(started)
        self.emit(ev.IndexingFinished(self.name, summary, cancelled, error))
        if error is not None:
            raise error
        return summary

    def _remove(self, path: str) -> None:
        with self.c.db.transaction() as tx:
            row = tx.execute("SELECT id FROM files WHERE path = ?", (path,)).fetchone()
            if row is not None:
                self.c._delete_file(tx, row[0])
                self.c._bump(tx)
        self.removed += 1
        self.emit(ev.FileRemoved(self.name, path))

    def _one(self, path: Path, size: int) -> None:
        begun = time.perf_counter()
        try:
            st = path.stat()
            digest = file_sha256(path)
            with self.c.db.io() as conn:
                row = conn.execute(
                    "SELECT sha256, status, chunks, pages FROM files WHERE path = ?", (str(path),)
                ).fetchone()
            if row is not None and row["sha256"] == digest:
                with self.c.db.transaction() as tx:
                    tx.execute(
                        "UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?",
                        (st.st_size, st.st_mtime_ns, str(path)),
                    )
                self.unchanged += 1
                self.emit(
                    ev.FileIndexed(
                        self.name,
                        str(path),
                        row["chunks"],
                        row["pages"],
                        time.perf_counter() - begun,
                        content_changed=False,
                    )
                )
                return
            doc = read_document(path)
            chunks = chunk_sections(doc.sections, *self.c.db.get_meta("chunking"))
            vectors = self._embed(chunks, path, size)
        except (IndexingCancelled, EmbedderError, IndexStoreError):
            raise
        except DocumentError as exc:
            self._fail(path, exc)
            return
        except Exception as exc:
            error = as_user_error(exc, f"reading {path.name}")
            self._fail(path, DocumentError(path, error.message, error.hint))
            return
        prepared = _Prepared(
            path, st, digest, doc.kind, doc.pages, chunks, vectors, time.perf_counter() - begun
        )
        self.pending.append(prepared)
        waiting = sum(p.nbytes for p in self.pending)
        if waiting >= COMMIT_BYTES or time.perf_counter() - self.last_commit >= COMMIT_SECONDS:
            self._flush()

    def _flush(self) -> None:
        """Commit every queued file in one transaction, then report each as indexed."""
        self.last_commit = time.perf_counter()
        if not self.pending:
            return
        with self.c.db.transaction() as tx:
            for p in self.pending:
                self._write(tx, p)
            self.c._bump(tx)
        done, self.pending = self.pending, []
        for p in done:
            self.indexed += 1
            self.chunks += len(p.chunks)
            self.pages += p.pages or 0
            self.emit(ev.FileIndexed(self.name, str(p.path), len(p.chunks), p.pages, p.seconds))

    def _embed(self, chunks, path: Path, size: int) -> np.ndarray | None:
        if self.embedder is None:
            return None
        parts = []
        for start in range(0, len(chunks), EMBED_BATCH):
            self.control.checkpoint(self._pause)
            batch = [embed_text(c) for c in chunks[start : start + EMBED_BATCH]]
            parts.append(self.embedder.embed_documents(batch))
            self._progress(str(path), int(size * min(1.0, (start + EMBED_BATCH) / len(chunks))))
        return np.concatenate(parts) if parts else np.zeros((0, self.embedder.dim), np.float32)

    def _write(self, tx, p: _Prepared) -> None:
        path, st, chunks = p.path, p.st, p.chunks
        blobs = vectors_blob(p.vectors) if p.vectors is not None else [None] * len(chunks)
        old = tx.execute("SELECT id FROM files WHERE path = ?", (str(path),)).fetchone()
        if old is not None:
            self.c._delete_file(tx, old[0])
        cur = tx.execute(
            "INSERT INTO files(path, size, mtime_ns, sha256, status, kind, pages, chunks, "
            "tokens, indexed_at) VALUES (?, ?, ?, ?, 'indexed', ?, ?, ?, ?, ?)",
            (
                str(path),
                st.st_size,
                st.st_mtime_ns,
                p.digest,
                p.kind,
                p.pages,
                len(chunks),
                sum(c.tokens for c in chunks),
                time.time(),
            ),
        )
        file_id = cur.lastrowid
        tx.executemany(
            "INSERT INTO chunks(file_id, ordinal, page, heading, text, tokens, vector) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (file_id, c.ordinal, c.page, c.heading, c.text, c.tokens, b)
                for c, b in zip(chunks, blobs, strict=True)
            ],
        )

    def _fail(self, path: Path, error: DocumentError) -> None:
        """Record the file's error (so it is not retried until it changes) and report it."""
        try:
            st = path.stat()
            digest = file_sha256(path)
        except OSError:
            st, digest = None, ""
        message = error.text()
        with self.c.db.transaction() as tx:
            old = tx.execute("SELECT id FROM files WHERE path = ?", (str(path),)).fetchone()
            if old is not None:
                self.c._delete_file(tx, old[0])
                self.c._bump(tx)
            tx.execute(
                "INSERT INTO files(path, size, mtime_ns, sha256, status, error, indexed_at) "
                "VALUES (?, ?, ?, ?, 'error', ?, ?)",
                (
                    str(path),
                    st.st_size if st else 0,
                    st.st_mtime_ns if st else 0,
                    digest,
                    message,
                    time.time(),
                ),
            )
        self.failed.append((str(path), error))
        self.emit(ev.FileFailed(self.name, str(path), error))
