"""Answering helpers: whole documents, budgeted chunks, numbered sources, nothing found."""

from __future__ import annotations

from pathlib import Path

from app.docs.answer import (
    SYSTEM_GROUNDED,
    context_budget,
    conversation_context,
    message_sources,
    prepare_context,
    with_sources,
)
from app.store import ConversationStore
from tests.docs.conftest import FACTS


def make(library, corpus):
    collection = library.create("Manuals")
    collection.add([corpus])
    collection.index()
    return collection


def test_small_collections_are_given_whole(library, corpus):
    make(library, corpus)
    ctx = prepare_context(library, ["Manuals"], "What is the fuse rating?", budget_tokens=20000)
    assert ctx.mode == "whole" and ctx.found
    assert [s.number for s in ctx.sources] == list(range(1, len(ctx.sources) + 1))
    assert {(Path(s.file).name, s.page) for s in ctx.sources} >= {("manual.pdf", 5)}
    assert ctx.system_prompt == SYSTEM_GROUNDED
    assert "[1] " in ctx.user_message and ctx.user_message.endswith("What is the fuse rating?")


def test_large_collections_give_the_best_chunks_within_the_budget(library, corpus):
    make(library, corpus)
    ctx = prepare_context(library, ["Manuals"], "main fuse rating amperes", budget_tokens=120)
    assert ctx.mode == "retrieved"
    assert (Path(ctx.sources[0].file).name, ctx.sources[0].page) == ("manual.pdf", 5)
    assert ctx.tokens < 120 + 200  # sources within budget, plus the fixed instructions
    assert "page 5" in ctx.user_message


def test_nothing_relevant_is_explicit(library, corpus):
    make(library, corpus)
    ctx = prepare_context(library, ["Manuals"], "Who won the football world cup in 1954?", 100)
    assert ctx.mode == "none" and not ctx.found
    assert "Manuals" in ctx.notice and "nothing relevant" in ctx.system_prompt
    assert ctx.user_message == "Who won the football world cup in 1954?"
    empty = prepare_context(library, [], "anything", 1000)
    assert empty.mode == "none" and empty.notice is None


def test_sources_are_stored_with_the_message(library, corpus, tmp_path):
    make(library, corpus)
    with ConversationStore.open(tmp_path / "c.sqlite3") as store:
        conv = store.create_conversation()
        store.attach_collection(conv.id, "Manuals")
        ctx = conversation_context(store, library, conv.id, "coolant pump hours", 4096, 500)
        assert ctx.found and ctx.collections == ("Manuals",)
        store.add_message(conv.id, "user", "coolant pump hours")
        reply = store.add_message(
            conv.id, "assistant", "Every 4000 hours [1].", stats=with_sources({"tokens": 7}, ctx)
        )
        sources = message_sources(store.get_message(reply.id))
        assert sources == list(ctx.sources)
        assert store.get_message(reply.id).stats["tokens"] == 7
        assert any(FACTS["pump"][2] in " ".join(s.text.split()) for s in sources)
        exported = store.export_json(conv.id)
        assert "sources" in str(exported)


def test_budget_leaves_room_for_history_and_answer():
    assert context_budget(32768, 1000) == 32768 - 1000 - 4096 - 64
    assert context_budget(4096, 3000) == 0 or context_budget(4096, 3000) < 100


def test_grounded_messages_merge_the_instruction_into_the_system_message(library, corpus):
    from app.docs.answer import grounded_messages, history_tokens

    make(library, corpus)
    history = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    ctx = prepare_context(library, ["Manuals"], "fuse rating", 4096 - history_tokens(history))
    messages = grounded_messages(history, ctx)
    assert (
        messages[0]["content"].startswith("Be brief.\n\n")
        and SYSTEM_GROUNDED in messages[0]["content"]
    )
    assert messages[-1] == {"role": "user", "content": ctx.user_message}
    assert history[0]["content"] == "Be brief."  # the caller's history is not changed
    bare = grounded_messages([], ctx)
    assert bare[0]["role"] == "system" and len(bare) == 2
