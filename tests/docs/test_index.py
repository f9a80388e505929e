"""Indexing and BM25 retrieval: right page, only changed files redone, per-file errors,
pause and cancel, folder polling."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from app.docs import (
    EncryptedDocumentError,
    FileFailed,
    FileIndexed,
    FileStarted,
    IndexControl,
    IndexingFinished,
    IndexingPaused,
    IndexingResumed,
)
from tests.docs.conftest import FACTS
from tests.docs.makers import write_pdf


def indexed(collection, **kwargs):
    events = []
    summary = collection.index(on_event=events.append, **kwargs)
    return summary, events


def names(events, kind):
    return [Path(e.path).name for e in events if isinstance(e, kind)]


def test_bm25_finds_each_fact_at_its_page(library, corpus):
    collection = library.create("Manuals")
    collection.add([corpus])
    summary, events = indexed(collection)
    assert summary.indexed == 4 and not summary.failed
    assert isinstance(events[-1], IndexingFinished)
    for question, (file, page, _) in {
        "How often is the coolant pump replaced?": FACTS["pump"],
        "What is the main fuse rated at?": FACTS["fuse"],
        "How long does the warranty cover defects?": FACTS["warranty"],
        "How should the optical lens be cleaned?": FACTS["lens"],
        "What is the maximum altitude of the drone?": FACTS["altitude"],
    }.items():
        best = collection.search(question, k=3)[0]
        assert (Path(best.file).name, best.page) == (file, page), question


def test_an_edit_reindexes_only_that_file(library, corpus):
    collection = library.create("Manuals")
    collection.add([corpus])
    indexed(collection)
    before = {Path(f.path).name: f.indexed_at for f in collection.files()}
    care = corpus / "care.md"
    care.write_text(care.read_text() + "\nThe lens cap is made of recycled aluminium.\n")
    assert [Path(p).name for p in collection.changes().modified] == ["care.md"]
    summary, events = indexed(collection)
    assert summary.indexed == 1 and names(events, FileIndexed) == ["care.md"]
    after = {Path(f.path).name: f.indexed_at for f in collection.files()}
    assert all(after[n] == before[n] for n in before if n != "care.md")
    assert "aluminium" in collection.search("lens cap material aluminium")[0].text
    # Touched without a change: hashed, not re-read.
    os.utime(corpus / "policy.docx", ns=(1, 10**18))
    summary, events = indexed(collection)
    assert summary.indexed == 0 and summary.unchanged == 1
    assert [e.content_changed for e in events if isinstance(e, FileIndexed)] == [False]
    assert not collection.changes()


def test_deleted_files_leave_the_index(library, corpus):
    collection = library.create("Manuals")
    collection.add([corpus])
    indexed(collection)
    (corpus / "specs.html").unlink()
    summary, _ = indexed(collection)
    assert summary.removed == 1
    assert all(Path(h.file).name != "specs.html" for h in collection.search("drone altitude"))
    assert collection.remove(corpus / "care.md") == 1
    assert {Path(f.path).name for f in collection.files()} == {"manual.pdf", "policy.docx"}
    assert not collection.changes()  # a file taken out of a watched folder stays out
    collection.add([corpus / "care.md"])  # until it is added again
    assert [Path(p).name for p in collection.changes().new] == ["care.md"]
    (corpus / "100% sure_.txt").write_text("odd characters in the name")
    (corpus / "100% sure.txt").write_text("a neighbour that a LIKE pattern would also match")
    indexed(collection)
    assert collection.remove(corpus / "100% sure_.txt") == 1


def test_bad_files_are_reported_and_the_rest_goes_on(library, corpus):
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7 truncated garbage")
    write_pdf(corpus / "locked.pdf", ["secret"], encrypted=True)
    write_pdf(corpus / "scan.pdf", [None])
    collection = library.create("Manuals")
    collection.add([corpus])
    summary, events = indexed(collection)
    assert summary.indexed == 4
    assert sorted(names(events, FileFailed)) == ["broken.pdf", "locked.pdf", "scan.pdf"]
    failed = {Path(e.path).name: e.error for e in events if isinstance(e, FileFailed)}
    assert isinstance(failed["locked.pdf"], EncryptedDocumentError)
    assert all(e.message and e.hint for e in failed.values())
    errors = {Path(f.path).name: f.error for f in collection.files() if f.status == "error"}
    assert "password" in errors["locked.pdf"]
    summary, _ = indexed(collection)  # failures are not retried until the file changes
    assert summary.indexed == 0 and not summary.failed


def start_pausing_at(collection, number: int):
    """Index on a worker that pauses itself when file ``number`` starts; returns (worker,
    control, events, paused event)."""
    control, events, paused = IndexControl(), [], threading.Event()

    def on_event(event):
        events.append(event)
        if isinstance(event, FileStarted) and event.number == number:
            control.pause()  # takes effect after this file: the ones done are committed
        if isinstance(event, IndexingPaused):
            paused.set()

    worker = threading.Thread(
        target=collection.index, kwargs={"control": control, "on_event": on_event}
    )
    worker.start()
    return worker, control, events, paused


def test_pause_then_cancel_keeps_finished_files(library, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(6):
        (folder / f"note{i}.txt").write_text(f"Note {i} mentions the keyword zebra{i}.")
    collection = library.create("Notes")
    collection.add([folder])
    worker, control, events, paused = start_pausing_at(collection, 3)
    assert paused.wait(10)
    assert len(names(events, FileIndexed)) == 3
    assert len([f for f in collection.files() if f.status == "indexed"]) == 3  # durable
    control.cancel()
    worker.join(10)
    assert not worker.is_alive()
    finished = events[-1]
    assert isinstance(finished, IndexingFinished) and finished.cancelled
    assert not any(isinstance(e, IndexingResumed) for e in events)
    assert len(names(events, FileIndexed)) == 3
    summary, _ = indexed(collection)
    assert summary.indexed == 3


def test_collections_reopen_with_their_data(tmp_path, corpus):
    from app.docs import CollectionNotFoundError, DocsLibrary

    with DocsLibrary(tmp_path / "idx") as lib:
        lib.create("Ünïcode / name").add([corpus / "care.md"])
        lib.get("Ünïcode / name").index()
    with DocsLibrary(tmp_path / "idx") as lib:
        assert lib.names() == ["Ünïcode / name"]
        assert lib.get("Ünïcode / name").stats()["indexed"] == 1
        lib.delete("Ünïcode / name")
        assert lib.names() == []
        with pytest.raises(CollectionNotFoundError):
            lib.get("Ünïcode / name")


def test_pause_then_resume_finishes_everything(library, tmp_path):
    folder = tmp_path / "few"
    folder.mkdir()
    for i in range(4):
        (folder / f"n{i}.md").write_text(f"# Note {i}\n\nThe owl number {i} hoots.")
    collection = library.create("Few")
    collection.add([folder])
    worker, control, events, paused = start_pausing_at(collection, 2)
    assert paused.wait(10) and control.paused
    control.resume()
    worker.join(10)
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("IndexingPaused") < kinds.index("IndexingResumed")
    assert events[-1].summary.indexed == 4 and not events[-1].cancelled
