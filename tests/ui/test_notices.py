"""No error is silent: every guarded slot of every surface, and each kind of background job,
ends a failure on a notice bar the user can see: an expected error with its hint (and its
actions as buttons), a bug with a "Details" section holding the traceback."""

from __future__ import annotations

import inspect

import pytest
from PySide6.QtCore import Qt

from app.errors import Action, AppError
from app.models import hypothetical_hardware, import_gguf
from app.store import StoreIOError
from app.ui.common.notices import Notice, NoticeBar, NoticeBridge
from tests.ui.conftest import load

WAIT_MS = 20_000
DISK_FULL = OSError(28, "No space left on device")


@pytest.fixture
def hw_window(make_window):
    return make_window(hardware=hypothetical_hardware(16))


def guarded_slots(obj) -> list[str]:
    return sorted(
        name
        for name, member in inspect.getmembers(type(obj))
        if callable(member) and getattr(member, "__guarded__", None)
    )


def force_failures(obj, bar, show_surface, monkeypatch) -> list[str]:
    """Make each guarded slot of ``obj`` fail inside (disk full) and check that the failure
    is on ``bar``, visible, as an error naming what was being done."""
    slots = guarded_slots(obj)
    assert slots, f"{type(obj).__name__} guards no slot"

    def disk_full(*args, **kwargs):
        raise DISK_FULL

    for name in slots:
        show_surface()
        bar.dismiss()
        function = getattr(type(obj), name)
        monkeypatch.setattr(function, "__wrapped__", disk_full)
        parameters = list(inspect.signature(function).parameters)[1:]  # without self
        getattr(obj, name)(*[None] * len(parameters))
        monkeypatch.undo()
        assert bar.isVisible() and bar.kind == "error", name
        assert function.__guarded__ in bar.text(), name
        assert "No space left on device" in bar.text(), name
    return slots


def test_every_guarded_slot_of_the_window_reports_on_its_notice_bar(hw_window, monkeypatch):
    window = hw_window
    show_chat = window.focus_composer
    for part in (
        window,
        window.controller,
        window.conversations,
        window.models,
        window.preferences,
    ):
        force_failures(part, window.notice_bar, show_chat, monkeypatch)
    assert "show_models" in guarded_slots(window) and "rename" in guarded_slots(
        window.conversations
    )


def test_every_guarded_slot_of_the_model_pages_reports_on_a_visible_bar(
    hw_window, qtbot, monkeypatch
):
    window = hw_window
    pages = window.model_pages
    force_failures(pages, window.notice_bar, window.focus_composer, monkeypatch)
    window.show_models()
    force_failures(
        window.models_page, window.models_page.notice_bar, window.show_models, monkeypatch
    )
    window.show_first_run()
    page = window.first_run
    for part in (page, page.download_controls):
        force_failures(part, page.notice_bar, window.show_first_run, monkeypatch)
    window.show_hub_search()
    dialog = pages.hub_search
    qtbot.waitExposed(dialog)
    for part in (dialog, dialog.download_controls):
        force_failures(part, dialog.notice_bar, dialog.show, monkeypatch)
    dialog.close()


def test_a_bug_in_a_slot_shows_its_details_not_a_traceback(hw_window, qtbot, monkeypatch):
    window = hw_window
    monkeypatch.setattr(type(window).show_models, "__wrapped__", lambda self: {}["models"])
    window.show_models()
    bar = window.notice_bar
    assert bar.isVisible() and bar.kind == "error"
    assert bar.text().startswith("Unexpected error while opening the Models page: KeyError")
    assert "Traceback" not in bar.text() and bar.details_button.isVisible()
    assert not bar.details.isVisible()
    qtbot.mouseClick(bar.details_button, Qt.MouseButton.LeftButton)
    assert bar.details.isVisible() and "Traceback" in bar.details.toPlainText()


# -- the slots the issue names, failing for real ------------------------------------------------


def test_store_failures_in_the_windows_slots_are_shown(hw_window, monkeypatch):
    window = hw_window
    conv = window.store.create_conversation("A chat")
    window.refresh_conversations()
    window.open_conversation(conv.id)

    def broken(*args, **kwargs):
        raise StoreIOError("Reading or writing the conversation database failed (disk I/O)")

    monkeypatch.setattr(window.store, "get_conversation", broken)
    window.conversations.toggle_pin_current()
    assert window.notice_bar.isVisible() and "disk I/O" in window.notice_bar.text()
    window.notice_bar.dismiss()
    window.conversations.choose_export_json()
    assert window.notice_bar.isVisible() and "disk I/O" in window.notice_bar.text()


def test_disk_failures_on_the_models_page_are_shown(hw_window, tiny_answer_gguf, monkeypatch):
    window = hw_window
    import_gguf(window.registry, tiny_answer_gguf, mode="link", name="tiny")
    window.show_models()
    page = window.models_page
    page.select("tiny")

    def disk_full(*args, **kwargs):
        raise DISK_FULL

    for action, method in (
        (page.save_settings, "update"),
        (page._load, "update"),
        (page.delete_selected, "remove"),
    ):
        page.ctxSpin.setValue(2048)  # settings that differ from the saved ones
        page.notice_bar.dismiss()
        monkeypatch.setattr(page.registry, method, disk_full)
        monkeypatch.setattr(
            "app.ui.models.installed_page.QMessageBox.question",
            lambda *a, **k: page_yes(),
        )
        action()
        monkeypatch.undo()
        assert page.notice_bar.isVisible() and page.notice_bar.kind == "error", action
        assert "No space left on device" in page.notice_bar.text()


def page_yes():
    from PySide6.QtWidgets import QMessageBox

    return QMessageBox.StandardButton.Yes


# -- each kind of job ---------------------------------------------------------------------------


def test_a_failed_turn_load_count_and_chat_search_each_reach_the_notice_bar(
    make_window, tiny_answer_gguf, qtbot, monkeypatch, tmp_path
):
    window = make_window()
    bar = window.notice_bar

    # a model load (the file is not a GGUF)
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model")
    window.load_model(str(bad))
    qtbot.waitUntil(lambda: not window.engine.loading, timeout=WAIT_MS)
    assert bar.isVisible() and bar.kind == "error" and "GGUF" in bar.text()
    assert [b.text() for b in bar.buttons()] == ["Models…", "Choose a file…"]

    load(window, tiny_answer_gguf, qtbot)
    engine = window.engine

    # a chat turn
    def broken_stream(*args, **kwargs):
        raise AppError("The model's chat template failed", "choose another model")

    chat_engine = engine._engine
    monkeypatch.setattr(chat_engine, "stream_chat", broken_stream)
    assert window.send_message("hello")
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=WAIT_MS)
    assert bar.kind == "error" and "chat template failed" in bar.text()
    assert "Choose another model." in bar.text()
    monkeypatch.undo()

    # counting the prompt's tokens (the context meter)
    def broken_count(messages):
        raise AppError("The model's chat template failed", "choose another model")

    monkeypatch.setattr(chat_engine, "count_prompt_tokens", broken_count)
    bar.dismiss()
    window.controller.measure_context()
    qtbot.waitUntil(bar.isVisible, timeout=WAIT_MS)
    assert bar.kind == "warning" and "chat template failed" in bar.text()
    monkeypatch.undo()

    # searching the chats
    def broken_search(query):
        raise StoreIOError("Searching the conversation database failed (disk I/O)")

    monkeypatch.setattr(window.store, "search", broken_search)
    bar.dismiss()
    window.conversations.search("hello")
    qtbot.waitUntil(bar.isVisible, timeout=WAIT_MS)
    assert bar.kind == "error" and "Searching the conversation database failed" in bar.text()


def test_the_planners_actions_become_buttons_and_other_actions_stay_words(qtbot):
    bridge = NoticeBridge(handles=("load",))
    bar = NoticeBar()
    qtbot.addWidget(bar)
    bridge.posted.connect(bar.show_notice)
    chosen: list[Action] = []
    bar.actionTriggered.connect(chosen.append)
    load_2k = Action("load", "Load with 2K context", {"n_ctx": 2048})
    error = AppError(
        "tiny needs 9 GB at 4K context, 6 GB free",
        "try 2K context",
        actions=[load_2k, Action("free-memory", "Close other applications")],
    )
    bridge.report(error, actions=[Action("open-models", "Models…")])
    bar.show()
    assert bridge.last == Notice(error.text(), "error", (load_2k, Action("open-models", "Models…")))
    assert [b.text() for b in bar.buttons()] == ["Load with 2K context", "Models…"]
    qtbot.mouseClick(bar.buttons()[0], Qt.MouseButton.LeftButton)
    assert chosen == [load_2k] and not bar.isVisible()
