"""Full-text search: matching, snippets with highlights, safety of user input, index sync."""

from __future__ import annotations

import pytest

from app.store import ConversationStore


def test_finds_messages_across_conversations_with_highlighted_snippets(store, make_chat):
    paris, (q, _) = make_chat("What is the capital of France?", "Paris.", title="Geography")
    make_chat("Write a haiku about rain", "Soft rain on the roof", title="Poems")
    hits = store.search("capital")
    assert len(hits) == 1
    hit = hits[0]
    assert (hit.conv_id, hit.message_id, hit.title, hit.role) == (
        paris.id,
        q.id,
        "Geography",
        "user",
    )
    assert hit.snippet_text == "What is the capital of France?"
    assert hit.snippet == "What is the <b>capital</b> of France?"
    start, end = hit.highlights[0]
    assert hit.snippet_text[start:end] == "capital"


def test_every_word_must_match_and_the_last_is_a_prefix(store, make_chat):
    make_chat("the quick brown fox", "lazy dogs sleep")
    assert [h.snippet_text for h in store.search("quick fox")] == ["the quick brown fox"]
    assert store.search("quick cat") == []
    assert [h.snippet_text for h in store.search("laz")] == ["lazy dogs sleep"]
    assert store.search("qui fox") == []  # only the last word is a prefix


def test_case_and_accents_are_ignored(store, make_chat):
    make_chat("Crème brûlée recipe")
    assert len(store.search("creme brulee")) == 1
    assert len(store.search("CRÈME")) == 1


@pytest.mark.parametrize(
    "query", ['"', 'say "hi', "AND", "OR NOT", "a*b", "col:val", "(((", "NEAR(a b)", "-x", "^"]
)
def test_fts_syntax_in_the_query_never_raises(store, make_chat, query):
    make_chat('say "hi" AND (x) OR NOT col:val a*b')
    store.search(query)  # must not raise an sqlite3 error


def test_operators_are_searched_as_words(store, make_chat):
    make_chat("black AND white", "black or white")
    assert [h.snippet_text for h in store.search("AND white")] == ["black AND white"]


def test_empty_or_punctuation_only_query_returns_nothing(store, make_chat):
    make_chat("anything")
    assert store.search("") == [] and store.search("   ") == [] and store.search("?!") == []


def test_html_in_messages_is_escaped_in_the_snippet(store, make_chat):
    make_chat("use <script>alert(1)</script> tags")
    (hit,) = store.search("script")
    assert "<script>" not in hit.snippet
    assert "&lt;<b>script</b>&gt;" in hit.snippet
    assert "<script>" in hit.snippet_text


def test_long_messages_get_a_short_snippet_around_the_match(store, make_chat):
    filler = " ".join(f"word{i}" for i in range(300))
    make_chat(f"{filler} unicorn {filler}")
    (hit,) = store.search("unicorn")
    assert len(hit.snippet_text) < 200
    assert "…" in hit.snippet_text and "unicorn" in hit.snippet_text


def test_newlines_become_spaces_in_snippets(store, make_chat):
    make_chat("first line\n\nsecond   line with target")
    (hit,) = store.search("target")
    assert hit.snippet_text == "first line second line with target"


def test_thinking_is_searched_only_when_asked(store):
    conv = store.create_conversation()
    store.add_message(conv.id, "assistant", "The answer is 42.", thinking="ponder deeply")
    assert store.search("ponder") == []
    (hit,) = store.search("ponder", include_thinking=True)
    assert hit.snippet == "<b>ponder</b> deeply"


def test_index_follows_edits_and_deletes(store, make_chat):
    conv, (q,) = make_chat("original wording")
    store.update_message(q.id, content="revised text")
    assert store.search("original") == []
    assert [h.message_id for h in store.search("revised")] == [q.id]
    store.delete_message(q.id)
    assert store.search("revised") == []


def test_limit_caps_results_and_best_match_comes_first(store, make_chat):
    for i in range(10):
        make_chat(f"apple number {i} and some other words to dilute the score here")
    conv, (best,) = make_chat("apple apple apple")
    hits = store.search("apple", limit=3)
    assert len(hits) == 3
    assert hits[0].message_id == best.id


def test_fts_index_passes_its_integrity_check(db_path):
    with ConversationStore.open(db_path) as store:
        conv = store.create_conversation()
        m = store.add_message(conv.id, "user", "alpha beta", thinking="gamma")
        store.update_message(m.id, content="delta", thinking="epsilon")
        store.add_message(conv.id, "assistant", "zeta")
        store.delete_message(m.id)
        with store._db.transaction() as tx:
            tx.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
