"""Retrieval over one collection: BM25 (FTS5), exact vector search (numpy), and their fusion.

``Retriever.search`` returns ``Hit``s best first. With an embedder, BM25 and vector candidates
are fused by ``fusion.fuse``; without one, BM25 alone ranks. Vectors are held in memory as one
float32 matrix (100,000 chunks x 384 dimensions = 150 MB) and kept in step with the index by
a generation counter that every file transaction bumps: only added rows are read back.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .fusion import FusionWeights, fuse
from .index_db import IndexDB

CANDIDATES = 50  # per method, before fusion
_WORD = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves tell explain describe say says said give show does mean much many"""
STOPWORDS = frozenset(_STOPWORDS.split())


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk. ``score`` is the ranking score of the method used (higher is
    better); ``bm25`` and ``similarity`` are the raw signals where available."""

    chunk_id: int
    file: str
    page: int | None
    heading: str | None
    text: str
    score: float
    bm25: float | None = None
    similarity: float | None = None
    matched_terms: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "page": self.page,
            "heading": self.heading,
            "score": round(float(self.score), 6),
            "text": self.text,
        }


def query_terms(question: str) -> list[str]:
    """The distinct content words of a question, lower-cased, in order."""
    words = [w.lower() for w in _WORD.findall(question)]
    terms = [w for w in words if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    return list(dict.fromkeys(terms or words))


@functools.lru_cache(maxsize=200_000)
def light_stem(word: str) -> str:
    """A crude English suffix stripper (plurals, -ing, -ed, -ly), for matching question words
    to chunk words when weighing BM25 hits; the index itself stems with Porter."""
    for suffix in ("ingly", "edly", "ing", "ies", "ied", "ed", "es", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            return stem + "y" if suffix in ("ies", "ied") else stem
    return word


def fts_expression(terms: list[str]) -> str:
    """An FTS5 query matching any of ``terms`` (each quoted, so none is an operator)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


class VectorCache:
    """The collection's vectors as one normalised float32 matrix, refreshed incrementally."""

    def __init__(self) -> None:
        self.ids = np.zeros(0, np.int64)
        self.matrix = np.zeros((0, 0), np.float32)
        self.generation: int | None = None
        self._lock = threading.Lock()

    def refresh(self, db: IndexDB) -> None:
        """Drop rows of deleted chunks and read the ones added since the last refresh (chunk
        ids only grow: the table is AUTOINCREMENT)."""
        generation = int(db.get_meta("generation", 0))
        with self._lock:
            if generation == self.generation:
                return
            last = int(self.ids.max()) if len(self.ids) else -1
            with db.io() as conn:
                rows = conn.execute("SELECT id FROM chunks WHERE vector IS NOT NULL ORDER BY id")
                current = np.fromiter((r[0] for r in rows), np.int64)
                added = conn.execute(
                    "SELECT id, vector FROM chunks WHERE vector IS NOT NULL AND id > ? ORDER BY id",
                    (last,),
                ).fetchall()
            keep = np.isin(self.ids, current)
            parts = [self.matrix[keep]] if keep.any() else []
            if added:
                parts.append(np.stack([np.frombuffer(r[1], np.float16) for r in added]))
            ids = [self.ids[keep], np.array([r[0] for r in added], np.int64)]
            self.ids = np.concatenate(ids)
            self.matrix = (
                np.ascontiguousarray(np.concatenate(parts).astype(np.float32, copy=False))
                if parts
                else np.zeros((0, 0), np.float32)
            )
            self.generation = generation

    def top(self, query: np.ndarray, n: int) -> list[tuple[int, float]]:
        """The ``n`` chunks most similar to ``query``: (chunk id, cosine), best first."""
        with self._lock:
            if not len(self.ids):
                return []
            # einsum runs on the calling thread: BLAS's own threads spin against the GUI and
            # llama.cpp on a busy 2-core machine (measured 25 vs 32 ms at 100,000 x 384).
            sims = np.einsum("ij,j->i", self.matrix, query.astype(np.float32))
            n = min(n, len(sims))
            best = np.argpartition(-sims, n - 1)[:n]
            best = best[np.argsort(-sims[best])]
            return [(int(self.ids[i]), float(sims[i])) for i in best]


class Retriever:
    """Search one collection's index (BM25, vectors, hybrid). Thread-safe."""

    def __init__(self, db: IndexDB, weights: FusionWeights | None = None) -> None:
        self.db = db
        self.vectors = VectorCache()
        self.weights = weights or FusionWeights()

    def bm25(self, terms: list[str], n: int = CANDIDATES) -> list[tuple[int, float]]:
        """(chunk id, BM25 score as a positive number), best first."""
        if not terms:
            return []
        with self.db.io() as conn:
            rows = conn.execute(
                "SELECT rowid, -bm25(chunks_fts, 1.0, 0.5) FROM chunks_fts "
                "WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts, 1.0, 0.5) LIMIT ?",
                (fts_expression(terms), n),
            ).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def matched_terms(self, terms: list[str], ids: list[int]) -> dict[int, set[str]]:
        """Which of ``terms`` occur in each chunk of ``ids`` (text or heading), compared by
        ``light_stem`` on both sides. One read of the candidates' text: per-term FTS queries
        cost 40 ms at 100,000 chunks, this costs one."""
        found: dict[int, set[str]] = {i: set() for i in ids}
        if not ids or not terms:
            return found
        stems = {light_stem(t): t for t in terms}
        # Only words starting like a question word are looked at (one regex pass in C).
        starts = re.compile(
            r"\b(?:" + "|".join(sorted({re.escape(st[:4]) for st in stems})) + r")\w*", re.I
        )
        marks = ",".join("?" * len(ids))
        with self.db.io() as conn:
            rows = conn.execute(
                f"SELECT id, text, heading FROM chunks WHERE id IN ({marks})", ids
            ).fetchall()
        for chunk_id, text, heading in rows:
            seen = {light_stem(w.lower()) for w in starts.findall(f"{text} {heading or ''}")}
            found[int(chunk_id)] = {term for stem, term in stems.items() if stem in seen}
        return found

    def dense(self, query_vector: np.ndarray, n: int = CANDIDATES) -> list[tuple[int, float]]:
        self.vectors.refresh(self.db)
        return self.vectors.top(query_vector, n)

    def search(
        self,
        question: str,
        k: int = 5,
        query_vector: np.ndarray | None = None,
        method: str = "hybrid",
        embed: Callable[[str], np.ndarray] | None = None,
    ) -> list[Hit]:
        """The ``k`` best chunks for ``question``. ``method``: "hybrid" (needs a query vector,
        given or computed by ``embed`` on a helper thread while BM25 runs; BM25 alone without
        either), "bm25", "vector" or "rrf" (plain reciprocal rank fusion, k=60, kept for
        comparison)."""
        terms = query_terms(question)
        box: list = []
        helper = None
        if query_vector is None and embed is not None and method != "bm25":

            def work() -> None:
                try:
                    box.append(embed(question))
                except BaseException as exc:  # handed to the caller below
                    box.append(exc)

            helper = threading.Thread(target=work, name="docs-query-embedding", daemon=True)
            helper.start()
        lexical = self.bm25(terms) if method != "vector" else []
        if helper is not None:
            helper.join()
            if isinstance(box[0], BaseException):
                raise box[0]
            query_vector = box[0]
        dense = self.dense(query_vector) if query_vector is not None and method != "bm25" else []
        ids = list(dict.fromkeys([i for i, _ in lexical] + [i for i, _ in dense]))
        matched = self.matched_terms(terms, ids)
        ranked = fuse(lexical, dense, matched, len(terms), method, self.weights)[:k]
        return self._hits(ranked, dict(lexical), dict(dense), matched)

    def _hits(self, ranked, lexical, dense, matched) -> list[Hit]:
        if not ranked:
            return []
        ids = [i for i, _ in ranked]
        marks = ",".join("?" * len(ids))
        with self.db.io() as conn:
            rows = {
                r["id"]: r
                for r in conn.execute(
                    "SELECT c.id, c.page, c.heading, c.text, f.path FROM chunks c "
                    f"JOIN files f ON f.id = c.file_id WHERE c.id IN ({marks})",
                    ids,
                )
            }
        return [
            Hit(
                i,
                rows[i]["path"],
                rows[i]["page"],
                rows[i]["heading"],
                rows[i]["text"],
                score,
                lexical.get(i),
                dense.get(i),
                tuple(sorted(matched.get(i, ()))),
            )
            for i, score in ranked
            if i in rows
        ]
