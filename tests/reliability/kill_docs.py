"""(b) SIGKILL while ``qwq-desktop docs add NAME FOLDER`` indexes a folder of generated files.

Each cycle indexes the folder into a new collection and is killed at a random moment of the
run (the window is a measured uninterrupted run; for a quarter of the cycles, the half second
after the first commit). Then:

* the index passes ``PRAGMA integrity_check`` and the FTS5 check;
* every file the killed run reported "indexed" (reported once its commit is durable) is in
  the index, and each indexed file has exactly its chunks (a file is all or nothing);
* the same command run again finishes, redoes none of the files committed before, and leaves
  every file indexed once, with as many chunks as an uninterrupted run gives, each file's
  marker word found by full-text search in that file only; no half-written file is left.
"""

from __future__ import annotations

import random
import re
import sqlite3
import time
from pathlib import Path

from app.docs.library import collection_filename
from app.paths import app_paths
from tests.docs.makers import write_docx, write_pdf

from .harness import (
    Cycle,
    KillWindow,
    child_env,
    partial_files,
    run_to_end,
    sqlite_problems,
)

NAME = "docs"
WORDS = ("pump", "coolant", "valve", "pressure", "filter", "engine", "battery", "manual",
         "service", "interval", "check", "replace", "torque", "sensor", "bearing")  # fmt: skip
_INDEXED = re.compile(r"^  indexed (.+) \((\d+) chunks")
# A quarter of the kills within 0.5 s of the first commit (about what is left of a run after
# it here): between and during commits.
AFTER_FIRST_COMMIT = (0.25, lambda line: line.startswith("  indexed "), 0.5)


def marker(i: int) -> str:
    return f"zq{i}x"


def write_corpus(folder: Path, files: int, seed: int = 0) -> dict[str, str]:
    """``files`` documents (text, Markdown, HTML, every 20th a PDF, every 30th a DOCX) of a
    few to 60 KB, each with its own marker word; returns {path: marker}."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    markers = {}
    for i in range(files):
        paragraphs = [" ".join(rng.choice(WORDS) for _ in range(rng.randrange(40, 120)))
                      for _ in range(rng.randrange(5, 60))]  # fmt: skip
        at = rng.randrange(min(len(paragraphs), 11) + 1)  # on one of a PDF's 12 pages too
        paragraphs.insert(at, f"The code word is {marker(i)}.")
        if i % 20 == 7:
            path = write_pdf(folder / f"doc{i:04d}.pdf", paragraphs[:12])
        elif i % 30 == 11:
            path = write_docx(folder / f"doc{i:04d}.docx", [("p", p) for p in paragraphs])
        else:
            ext = (".txt", ".md", ".html")[i % 3]
            body = "\n\n".join(paragraphs)
            if ext == ".html":
                body = f"<html><body><h1>Document {i}</h1><p>{body}</p></body></html>"
            path = folder / f"doc{i:04d}{ext}"
            path.write_text(body, encoding="utf-8")
        markers[str(path.resolve())] = marker(i)
    return markers


def indexed_lines(lines: list[str]) -> dict[str, int]:
    """{path: chunks} of the files a run reported indexed with new content."""
    return {m[1]: int(m[2]) for m in map(_INDEXED.match, lines) if m}


class DocsScenario:
    name = NAME

    def __init__(self, workdir: Path, files: int = 240) -> None:
        self.dir = workdir / NAME
        self.home = self.dir / "home"
        self.env = child_env(self.home)
        self.folder = self.dir / "corpus"
        self.markers = write_corpus(self.folder, files)
        started = time.monotonic()
        reference = self._add("Reference")
        self.window = KillWindow((time.monotonic() - started) * 1.1)
        if reference.returncode != 0:
            raise RuntimeError(f"the reference run failed:\n{reference.tail()}")
        self.chunks = indexed_lines(reference.stderr)
        if sorted(self.chunks) != sorted(self.markers):
            raise RuntimeError("the reference run did not index every file")
        self._remove("Reference")
        self.figures = {"files": files, "committed_before_kill": 0, "redone": 0}

    def _argv(self, *args: str) -> list[str]:
        return ["-m", "app.cli", "docs", *args]

    def _add(self, collection: str):
        return run_to_end(self._argv("add", collection, str(self.folder)), self.env)

    def _remove(self, collection: str) -> None:
        run_to_end(self._argv("remove", collection), self.env)

    def _db(self, collection: str) -> Path:
        return app_paths(self.home).docs_index_dir / collection_filename(collection)

    def cycle(self, index: int, rng: random.Random) -> Cycle:
        collection = f"Killed {index}"
        argv = self._argv("add", collection, str(self.folder))
        run, delay = self.window.kill(argv, self.env, rng, AFTER_FIRST_COMMIT)
        committed = indexed_lines(run.stderr)
        phase = _phase(run.stderr, len(committed), len(self.markers))
        cycle = Cycle(NAME, index, run.killed, delay, phase, orphans=run.orphans)
        if not run.killed and (run.returncode != 0 or run.traceback):
            cycle.problems.append(f"the run failed on its own:\n{run.tail()}")
        db = self._db(collection)
        if db.exists():
            cycle.problems += sqlite_problems(db, ("chunks_fts",))
            cycle.problems += self._check_committed(db, committed)
        cycle.problems += self._restart(collection, committed, cycle)
        self.figures["committed_before_kill"] += len(committed)
        self._remove(collection)
        return cycle

    def _check_committed(self, db: Path, committed: dict[str, int]) -> list[str]:
        indexed = _indexed_files(db)
        problems = [f"{Path(p).name} was reported indexed but is not in the index"
                    for p in committed if p not in indexed]  # fmt: skip
        problems += [f"{Path(p).name} holds {got} of its {want} chunks"
                     for p, (want, got) in indexed.items() if want != got]  # fmt: skip
        return problems

    def _restart(self, collection: str, committed: dict[str, int], cycle: Cycle) -> list[str]:
        run = self._add(collection)
        if run.returncode != 0 or run.traceback:
            return [f"the run after the kill failed ({run.returncode}):\n{run.tail()}"]
        redone = sorted(set(indexed_lines(run.stderr)) & set(committed))
        self.figures["redone"] += len(redone)
        problems = [f"{Path(p).name} was indexed again after its commit" for p in redone]
        db = self._db(collection)
        problems += sqlite_problems(db, ("chunks_fts",))
        indexed = _indexed_files(db)
        if sorted(indexed) != sorted(self.markers):
            problems.append(f"{len(indexed)} of {len(self.markers)} files indexed after the run")
        problems += [f"{Path(p).name}: {got} chunks, an uninterrupted run gives {self.chunks[p]}"
                     for p, (got, _) in indexed.items() if self.chunks.get(p) != got]  # fmt: skip
        problems += _marker_problems(db, self.markers)
        problems += [f"left behind: {p}" for p in partial_files(self.home, self.folder)]
        cycle.facts["files_after_restart"] = len(indexed)
        return problems

    def finish(self) -> list[str]:
        return [f"left behind: {p}" for p in partial_files(self.home, self.folder)]


def _indexed_files(db: Path) -> dict[str, tuple[int, int]]:
    """{path: (chunks recorded, chunk rows)} of the files with status "indexed"."""
    conn = sqlite3.connect(db)
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'files'").fetchone() is None:
            return {}  # killed while the file was being created
        rows = conn.execute(
            "SELECT f.path, f.chunks, (SELECT COUNT(*) FROM chunks c WHERE c.file_id = f.id) "
            "FROM files f WHERE f.status = 'indexed'"
        ).fetchall()
    finally:
        conn.close()
    return {path: (want, got) for path, want, got in rows}


def _marker_problems(db: Path, markers: dict[str, str]) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        problems = []
        for path, word in markers.items():
            found = {r[0] for r in conn.execute(
                "SELECT f.path FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid "
                "JOIN files f ON f.id = c.file_id WHERE chunks_fts MATCH ?", (word,))}  # fmt: skip
            if found != {path}:
                problems.append(f"{word} found in {sorted(found)}, not in {Path(path).name}")
        return problems
    finally:
        conn.close()


def _phase(stderr: list[str], committed: int, files: int) -> str:
    if committed:
        return "all files committed" if committed == files else "some files committed"
    if any("file(s) to index" in line for line in stderr):
        return "indexing, nothing committed"
    return "starting"
