"""Export to Markdown and JSON, import JSON back, and refuse files that are not exports."""

from __future__ import annotations

import copy
import json

import pytest

from app.store import FORMAT_NAME, FORMAT_VERSION, ImportFormatError


@pytest.fixture
def branched(store):
    """A pinned conversation with settings, thinking, stats, two branches and an interruption."""
    conv = store.create_conversation("Cooking", settings={"system_prompt": "Be a chef.\nBe kind."})
    store.set_pinned(conv.id, True)
    q = store.add_message(conv.id, "user", "How do I boil an egg?")
    store.add_message(
        conv.id, "assistant", "Boil it 7 minutes.", thinking="Eggs take 6-8 min.", stats={"n": 5}
    )
    store.add_message(conv.id, "user", "And poached?")
    store.add_message(conv.id, "assistant", "Swirl the water", status="interrupted")
    store.add_message(conv.id, "assistant", "Ten minutes", parent_id=q.id, status="cancelled")
    return store.get_conversation(conv.id)  # the "Ten minutes" branch is on screen


def _without_volatile(data: dict) -> dict:
    data = copy.deepcopy(data)
    data.pop("exported_at")
    data["conversation"].pop("updated_at")
    return data


def test_json_round_trip_keeps_every_branch(store, branched):
    exported = store.export_json(branched.id)
    assert exported["format"] == FORMAT_NAME and exported["version"] == FORMAT_VERSION
    assert len(exported["messages"]) == 5
    new_id = store.import_json(json.loads(json.dumps(exported)))  # through real JSON text
    assert new_id != branched.id
    again = store.export_json(new_id)
    assert _without_volatile(again) == _without_volatile(exported)

    imported = store.get_conversation(new_id)
    assert (imported.title, imported.pinned, imported.settings) == (
        branched.title,
        True,
        branched.settings,
    )
    assert [(m.content, m.status) for m in store.messages(new_id)] == [
        (m.content, m.status) for m in store.messages(branched.id)
    ]
    assert [m.content for m in store.messages(new_id)] == ["How do I boil an egg?", "Ten minutes"]


def test_imported_messages_are_searchable(store, branched):
    new_id = store.import_json(store.export_json(branched.id))
    assert {h.conv_id for h in store.search("poached")} == {branched.id, new_id}


def test_json_without_thinking(store, branched):
    exported = store.export_json(branched.id, include_thinking=False)
    assert exported["includes_thinking"] is False
    assert all(m["thinking"] == "" for m in exported["messages"])


def test_streaming_status_is_imported_as_interrupted(store, branched):
    data = store.export_json(branched.id)
    data["messages"][-1]["status"] = "streaming"
    new_id = store.import_json(data)
    assert store.all_messages(new_id)[-1].status == "interrupted"


def test_markdown_shows_the_branch_on_screen(store, branched):
    store.set_active_leaf(branched.id, store.all_messages(branched.id)[1].id)
    text = store.export_markdown(branched.id)
    assert text.startswith("# Cooking\n")
    assert "> Be a chef.\n> Be kind." in text
    assert "## User\n\nHow do I boil an egg?" in text
    assert "## Assistant\n\nBoil it 7 minutes." in text
    assert "Ten minutes" not in text  # the other branch
    assert "*(This reply was interrupted before it finished.)*" in text
    assert "Eggs take" not in text and "<details>" not in text


def test_markdown_puts_thinking_in_a_collapsible_block(store, branched):
    store.set_active_leaf(branched.id, store.all_messages(branched.id)[1].id)
    text = store.export_markdown(branched.id, include_thinking=True)
    assert (
        "## Assistant\n\n<details>\n<summary>Thinking</summary>\n\nEggs take 6-8 min.\n\n"
        "</details>\n\nBoil it 7 minutes." in text
    )


def test_markdown_thinking_cannot_close_the_block_early(store):
    conv = store.create_conversation()
    store.add_message(conv.id, "assistant", "ok", thinking="tricky </details> text")
    text = store.export_markdown(conv.id, include_thinking=True)
    assert text.count("</details>") == 1


def _valid(store, branched) -> dict:
    return json.loads(json.dumps(store.export_json(branched.id)))


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda d: d.update(format="something-else"), "'format'"),
        (lambda d: d.pop("messages"), "no 'messages'"),
        (lambda d: d["messages"][0].update(role="wizard"), "unknown role"),
        (lambda d: d["messages"][0].update(status="lost"), "unknown status"),
        (lambda d: d["messages"][1].update(parent=99), "does not come before it"),
        (lambda d: d["messages"][1].update(id=1), "repeats the id"),
        (lambda d: d["messages"][0].update(content=5), "'content' has the wrong type"),
        (lambda d: d["messages"].append("text"), "not a JSON object"),
        (lambda d: d.update(active_leaf=42), "'active_leaf'"),
        (lambda d: d.update(version="1"), "'version'"),
        (lambda d: d["conversation"].update(pinned="yes"), "'pinned'"),
    ],
)
def test_broken_files_are_refused_and_nothing_is_added(store, branched, damage, match):
    data = _valid(store, branched)
    damage(data)
    before = store.list_conversations()
    with pytest.raises(ImportFormatError, match=match):
        store.import_json(data)
    assert store.list_conversations() == before


def test_newer_format_asks_to_update(store, branched):
    data = _valid(store, branched)
    data["version"] = FORMAT_VERSION + 1
    with pytest.raises(ImportFormatError, match="newer version"):
        store.import_json(data)


def test_not_a_dict_is_refused(store):
    with pytest.raises(ImportFormatError, match="not a JSON object"):
        store.import_json(["a", "list"])
