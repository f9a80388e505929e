"""The sidebar and the history: search, rename, pin, delete with undo, export/import, paging."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from app.ui.chat.chat_view import PAGE


def seed(store, title: str, pairs: list[tuple[str, str]], thinking: str = "") -> int:
    conv = store.create_conversation(title)
    for question, answer in pairs:
        store.add_message(conv.id, "user", question)
        store.add_message(conv.id, "assistant", answer, thinking=thinking)
    return conv.id


def titles(window) -> list[str]:
    return [c.title for c in window.sidebar.model.conversations()]


def test_search_finds_a_message_and_opens_its_conversation(window, qtbot):
    store = window.store
    seed(store, "Cooking", [("How long do I boil an egg?", "About nine minutes.")])
    target = seed(store, "Astronomy", [("Why is Mars red?", "Iron oxide dust covers it.")])
    window.refresh_conversations()
    window.sidebar.focus_search()
    assert window.sidebar.search.hasFocus()
    qtbot.keyClicks(window.sidebar.search, "oxide")
    qtbot.waitUntil(lambda: window.sidebar.hits_model.rowCount() == 1, timeout=5000)
    assert window.sidebar.stack.currentWidget() is window.sidebar.hits
    index = window.sidebar.hits_model.index(0)
    assert window.sidebar.hits_model.data(index) == "Astronomy"
    window.sidebar.hits.activated.emit(index)
    assert window.controller.conv_id == target
    assert window.chat_view.last_widget().answer.source == "Iron oxide dust covers it."

    window.sidebar.search.clear()
    assert window.sidebar.stack.currentWidget() is window.sidebar.list


def test_search_with_no_match_says_so(window, qtbot):
    seed(window.store, "Cooking", [("How long do I boil an egg?", "About nine minutes.")])
    qtbot.keyClicks(window.sidebar.search, "zebra")
    qtbot.waitUntil(
        lambda: window.sidebar.stack.currentWidget() is window.sidebar.no_hits, timeout=5000
    )


def test_rename_pin_and_delete_with_undo(window, qtbot):
    store = window.store
    first = seed(store, "First", [("q1", "a1")])
    second = seed(store, "Second", [("q2", "a2")])
    window.refresh_conversations()
    assert titles(window) == ["Second", "First"]

    window.sidebar.model.setData(window.sidebar.model.index(1), "Renamed first")
    assert store.get_conversation(first).title == "Renamed first"

    window.conversations.pin(first, True)
    assert titles(window) == ["Renamed first", "Second"]
    assert window.sidebar.model.data(
        window.sidebar.model.index(0), Qt.ItemDataRole.AccessibleTextRole
    ).endswith("pinned")

    window.open_conversation(second)
    qtbot.keyClick(
        window,
        Qt.Key.Key_Backspace,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert titles(window) == ["Renamed first"]
    assert window.controller.conv_id is None
    assert window.sidebar.undo_bar.isVisible()
    assert "Second" in window.sidebar.undo_bar.label.text()
    assert store.search("a2") == []  # hidden from search too

    qtbot.mouseClick(window.sidebar.undo_bar.button, Qt.MouseButton.LeftButton)
    assert titles(window) == ["Renamed first", "Second"]
    assert window.controller.conv_id == second
    assert not window.sidebar.undo_bar.isVisible()


def test_deleted_conversations_are_purged_at_shutdown(window):
    conv = seed(window.store, "Gone", [("q", "a")])
    window.refresh_conversations()
    window.conversations.delete(conv)
    window.shutdown()
    assert window.store.list_deleted() == []


def test_keyboard_delete_in_the_list(window, qtbot):
    conv = seed(window.store, "Doomed", [("q", "a")])
    window.refresh_conversations()
    window.sidebar.list.setFocus()
    window.sidebar.list.setCurrentIndex(window.sidebar.model.index(0))
    assert window.controller.conv_id == conv
    qtbot.keyClick(window.sidebar.list, Qt.Key.Key_Delete)
    assert titles(window) == []


def test_export_and_import_round_trip(window, qtbot, tmp_path):
    store = window.store
    conv = seed(
        store,
        "Round trip",
        [
            ("Show me code", "```python\nprint('hi')\n```"),
            ("And a table?", "| a | b |\n|---|---|\n| 1 | 2 |"),
        ],
        thinking="Let me think about it",
    )
    window.refresh_conversations()
    window.open_conversation(conv)
    window.include_thinking_action.setChecked(True)  # the whole conversation
    json_path = tmp_path / "chat.json"
    md_path = tmp_path / "chat.md"
    window.export_conversation(conv, str(json_path), "json")
    window.export_conversation(conv, str(md_path), "markdown")
    qtbot.waitUntil(lambda: json_path.exists() and md_path.exists(), timeout=5000)
    qtbot.waitUntil(lambda: not window.conversations.lane.busy, timeout=5000)
    assert "Exported to" in window.notice_bar.text()
    markdown = md_path.read_text(encoding="utf-8")
    assert "print('hi')" in markdown
    data = json.loads(json_path.read_text(encoding="utf-8"))

    window.import_conversation(str(json_path))
    qtbot.waitUntil(lambda: window.controller.conv_id not in (None, conv), timeout=5000)
    imported = store.messages(window.controller.conv_id)
    original = store.messages(conv)
    assert [(m.role, m.content, m.thinking) for m in imported] == [
        (m.role, m.content, m.thinking) for m in original
    ]
    assert len(titles(window)) == 2
    assert data["messages"] or data  # the export is a JSON document


@pytest.mark.parametrize("include", [False, True])
def test_exports_follow_the_include_thinking_option(window, qtbot, tmp_path, include):
    conv = seed(window.store, "Thoughts", [("Capital of France?", "Paris")], thinking="Hmm, Fr")
    window.include_thinking_action.setChecked(include)
    json_path, md_path = tmp_path / "chat.json", tmp_path / "chat.md"
    window.export_conversation(conv, str(json_path), "json")
    window.export_conversation(conv, str(md_path), "markdown")
    qtbot.waitUntil(lambda: not window.conversations.lane.busy, timeout=5000)
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert data["includes_thinking"] is include
    reply = data["messages"][-1]
    assert (reply["content"], reply["thinking"]) == ("Paris", "Hmm, Fr" if include else "")
    assert ("Hmm, Fr" in json_path.read_text(encoding="utf-8")) is include
    assert ("Hmm, Fr" in md_path.read_text(encoding="utf-8")) is include


def test_importing_a_bad_file_shows_a_readable_error(window, qtbot, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{ this is not json", encoding="utf-8")
    window.import_conversation(str(bad))
    qtbot.waitUntil(lambda: window.notice_bar.isVisible(), timeout=5000)
    assert window.notice_bar.kind == "error"
    assert "not valid JSON" in window.notice_bar.text()
    assert titles(window) == []


def test_long_conversations_open_with_a_page_of_widgets(window, qtbot):
    conv = seed(window.store, "Long", [(f"question {i}", f"answer {i}") for i in range(60)])
    window.refresh_conversations()
    window.open_conversation(conv)
    view = window.chat_view
    assert len(view.messages()) == 120
    assert len(view.widgets()) == PAGE
    assert view._earlier.isVisible() and "(80)" in view._earlier.text()
    assert view.widgets()[-1].answer.source == "answer 59"
    qtbot.mouseClick(view._earlier, Qt.MouseButton.LeftButton)
    assert len(view.widgets()) == 2 * PAGE
    assert view.widgets()[0].message.content == "question 20"

    view.scroll_to_message(view.messages()[0].id)
    assert len(view.widgets()) == 120
    assert not view._earlier.isVisible()


def test_reopened_interrupted_reply_is_marked(window, qtbot):
    store = window.store
    conv = store.create_conversation("Crashed")
    store.add_message(conv.id, "user", "hello")
    store.add_message(
        conv.id, "assistant", "partial ans", thinking="some thought", status="interrupted"
    )
    window.refresh_conversations()
    window.open_conversation(conv.id)
    widget = window.chat_view.last_widget()
    assert "Interrupted" in widget._notice.text()
    assert not widget.thinking.isHidden() and widget.thinking.text == "some thought"
