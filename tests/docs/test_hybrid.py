"""Hybrid retrieval with the real all-MiniLM-L6-v2 converted by qwq-quantize."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.docs import EmbedderError, EmbedderMismatchError
from tests.docs.conftest import FACTS

PARAPHRASED = {
    # few or no words shared with the passage
    "When should the circulation motor for the cooling liquid be swapped?": FACTS["pump"],
    "Which electrical protection part limits the current, and where is it?": FACTS["fuse"],
    "How high up in the sky can the aircraft go?": FACTS["altitude"],
}


@pytest.fixture
def indexed_hybrid(library, corpus, minilm_gguf):
    collection = library.create("Manuals", minilm_gguf)
    collection.add([corpus])
    collection.index(library.embedder_for(collection))
    return collection, library.embedder_for(collection)


def test_collection_remembers_its_embedder(indexed_hybrid, minilm_gguf):
    collection, embedder = indexed_hybrid
    info = collection.embedder_info
    assert info.family == "minilm" and info.dim == 384 and Path(info.path) == minilm_gguf
    with pytest.raises(EmbedderError, match="needs its embedding model"):
        collection.index(None)


def test_paraphrased_questions_are_found_by_hybrid(indexed_hybrid):
    collection, embedder = indexed_hybrid
    for question, (file, page, _) in PARAPHRASED.items():
        top = collection.search(question, k=2, embedder=embedder)
        assert (Path(top[0].file).name, top[0].page) == (file, page), question
        assert top[0].similarity is not None
    # Lexical questions stay right too.
    best = collection.search("main fuse rated amperes", k=1, embedder=embedder)[0]
    assert (Path(best.file).name, best.page) == ("manual.pdf", 5)


def test_methods_and_bm25_fallback(indexed_hybrid):
    collection, embedder = indexed_hybrid
    question = "How high up in the sky can the aircraft go?"
    vector = collection.search(question, k=1, embedder=embedder, method="vector")[0]
    assert Path(vector.file).name == "specs.html"
    rrf = collection.search(question, k=3, embedder=embedder, method="rrf")
    assert len(rrf) == 3
    bm25_only = collection.search("coolant pump", k=1)  # no embedder: BM25 alone
    assert bm25_only[0].similarity is None and bm25_only[0].page == 3


def test_another_embedder_is_refused(indexed_hybrid, library, tmp_path, minilm_gguf):
    collection, _ = indexed_hybrid
    copy = tmp_path / "other.gguf"
    copy.write_bytes(minilm_gguf.read_bytes() + b"\0")  # a different file (sha256)
    other = library.embedder(copy)
    with pytest.raises(EmbedderMismatchError):
        collection.search("pump", embedder=other)
    with pytest.raises(EmbedderMismatchError):
        collection.index(other)


def test_grounding_with_vectors_finds_paraphrases_and_refuses_unrelated(indexed_hybrid, library):
    from app.docs.answer import prepare_context

    question = "When should the circulation motor for the cooling liquid be swapped?"
    ctx = prepare_context(library, ["Manuals"], question, budget_tokens=50, allow_whole=False)
    assert ctx.mode == "retrieved" and ctx.sources[0].page == 3
    assert ctx.sources[0].text.endswith("…")  # the best passage, cut to the small budget
    for unrelated in ("Who won the football world cup in 1954?", "recipe for pancakes"):
        assert not prepare_context(library, ["Manuals"], unrelated, 2000, False).found


@pytest.mark.gemma
def test_a_chat_model_is_refused_as_embedder(gemma_gguf, library):
    with pytest.raises(EmbedderError, match="not an embedding model"):
        library.create("Wrong", gemma_gguf)
    assert not library.exists("Wrong")
