"""Messages as a tree: the active branch, edit-and-resend, regenerate, switching, deleting."""

from __future__ import annotations

import pytest

from app.store import ConversationStore, MessageNotFoundError


def test_messages_follow_the_active_branch(store, make_chat):
    conv, (q, a) = make_chat("What is 2+2?", "4")
    assert [m.id for m in store.messages(conv.id)] == [q.id, a.id]
    assert a.parent_id == q.id and q.parent_id is None
    assert store.get_conversation(conv.id).active_leaf_id == a.id


def test_message_fields_round_trip(store):
    conv = store.create_conversation()
    stats = {"completion_tokens": 12, "tokens_per_s": 8.5, "stop_reason": "eos"}
    m = store.add_message(conv.id, "assistant", "answer", thinking="hmm", stats=stats)
    got = store.get_message(m.id)
    assert got == m
    assert (got.role, got.content, got.thinking, got.status, got.stats) == (
        "assistant",
        "answer",
        "hmm",
        "complete",
        stats,
    )


def test_update_message_changes_only_given_fields(store, make_chat):
    conv, (_, a) = make_chat("q", "partial")
    updated = store.update_message(a.id, content="full answer", status="cancelled")
    assert (updated.content, updated.thinking, updated.status) == ("full answer", "", "cancelled")
    updated = store.update_message(a.id, thinking="thought", stats={"n": 1})
    assert (updated.content, updated.thinking, updated.stats) == (
        "full answer",
        "thought",
        {"n": 1},
    )
    with pytest.raises(ValueError, match="status must be one of"):
        store.update_message(a.id, status="bogus")


def test_invalid_role_is_refused(store):
    conv = store.create_conversation()
    with pytest.raises(ValueError, match="role must be one of"):
        store.add_message(conv.id, "robot", "beep")


def test_regenerate_keeps_the_old_reply_as_a_sibling(store, make_chat):
    conv, (q, first) = make_chat("Tell me a joke", "joke one")
    second = store.add_message(conv.id, "assistant", "joke two", parent_id=q.id)
    assert [m.content for m in store.messages(conv.id)] == ["Tell me a joke", "joke two"]
    siblings = store.siblings(second.id)
    assert [m.id for m in siblings] == [first.id, second.id]
    assert [(m.sibling_index, m.sibling_count) for m in siblings] == [(0, 2), (1, 2)]
    assert store.messages(conv.id)[-1].sibling_index == 1


def test_edit_and_resend_branches_from_the_parent(store, make_chat):
    conv, (q1, a1, q2, a2) = make_chat("hi", "hello", "what is 1+1", "2")
    edited = store.add_message(conv.id, "user", "what is 2+2", parent_id=q2.parent_id)
    reply = store.add_message(conv.id, "assistant", "4")
    assert [m.content for m in store.messages(conv.id)] == ["hi", "hello", "what is 2+2", "4"]
    assert reply.parent_id == edited.id
    assert [m.id for m in store.siblings(edited.id)] == [q2.id, edited.id]

    # Switching back to the old user message shows its old reply (its newest leaf).
    branch = store.set_active_leaf(conv.id, q2.id)
    assert [m.id for m in branch] == [q1.id, a1.id, q2.id, a2.id]
    assert [m.id for m in store.messages(conv.id)] == [q1.id, a1.id, q2.id, a2.id]


def test_set_active_leaf_descends_to_the_newest_leaf(store, make_chat):
    conv, (q, a) = make_chat("q", "a")
    follow_old = store.add_message(conv.id, "user", "follow-up", parent_id=a.id)
    alt = store.add_message(conv.id, "assistant", "a2", parent_id=q.id)
    newest_under_a = store.add_message(conv.id, "assistant", "late reply", parent_id=follow_old.id)
    store.set_active_leaf(conv.id, alt.id)
    assert store.messages(conv.id)[-1].id == alt.id
    store.set_active_leaf(conv.id, a.id)
    assert store.messages(conv.id)[-1].id == newest_under_a.id


def test_several_first_messages_are_root_siblings(store):
    conv = store.create_conversation()
    first = store.add_message(conv.id, "user", "version one")
    second = store.add_message(conv.id, "user", "version two", parent_id=None)
    assert second.parent_id is None
    assert [m.id for m in store.siblings(first.id)] == [first.id, second.id]
    assert [m.id for m in store.messages(conv.id)] == [second.id]


def test_parent_must_be_in_the_same_conversation(store, make_chat):
    _, (other,) = make_chat("elsewhere")
    conv = store.create_conversation()
    with pytest.raises(MessageNotFoundError, match="not part of conversation"):
        store.add_message(conv.id, "user", "x", parent_id=other.id)
    with pytest.raises(MessageNotFoundError):
        store.set_active_leaf(conv.id, other.id)


def test_delete_message_removes_descendants_and_moves_the_branch(store, make_chat):
    conv, (q, a, q2, a2) = make_chat("q", "a", "q2", "a2")
    alt = store.add_message(conv.id, "assistant", "alt", parent_id=q.id)
    store.set_active_leaf(conv.id, a.id)
    store.delete_message(a.id)
    for gone in (a.id, q2.id, a2.id):
        with pytest.raises(MessageNotFoundError):
            store.get_message(gone)
    assert [m.id for m in store.messages(conv.id)] == [q.id, alt.id]
    assert store.search("q2") == []


def test_deleting_the_only_branch_leaves_an_empty_conversation(store, make_chat):
    conv, (q, _) = make_chat("q", "a")
    store.delete_message(q.id)
    assert store.messages(conv.id) == []
    assert store.get_conversation(conv.id).active_leaf_id is None
    again = store.add_message(conv.id, "user", "fresh start")
    assert again.parent_id is None


def test_deleting_a_long_chain_has_no_recursion_limit(store):
    conv = store.create_conversation()
    first = store.add_message(conv.id, "user", "start")
    for i in range(1500):
        store.add_message(conv.id, "assistant" if i % 2 == 0 else "user", f"m{i}")
    assert len(store.messages(conv.id)) == 1501
    store.delete_message(first.id)
    assert store.messages(conv.id) == [] and store.all_messages(conv.id) == []


def test_all_messages_lists_every_branch(store, make_chat):
    conv, (q, a) = make_chat("q", "a")
    alt = store.add_message(conv.id, "assistant", "alt", parent_id=q.id)
    assert [m.id for m in store.all_messages(conv.id)] == [q.id, a.id, alt.id]


def test_branch_choice_survives_reopening(db_path):
    with ConversationStore.open(db_path) as first:
        conv = first.create_conversation()
        q = first.add_message(conv.id, "user", "q")
        a = first.add_message(conv.id, "assistant", "a")
        first.add_message(conv.id, "assistant", "b", parent_id=q.id)
        first.set_active_leaf(conv.id, a.id)
    with ConversationStore.open(db_path) as second:
        assert [m.content for m in second.messages(conv.id)] == ["q", "a"]
