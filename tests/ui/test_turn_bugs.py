"""Bugs of the chat turn's background work, each reproduced through the real window and a tiny
real model: an old reply's failure must never touch the reply streaming now, a failure is told
once, and after Stop the store holds exactly what the view shows."""

from __future__ import annotations

import time

from app.store import StoreIOError, StreamingSaver

TURN_TIMEOUT_MS = 20_000


def count_error_notices(window) -> list:
    """Record every error notice the window's notice bar is asked to show."""
    shown: list = []
    real = window.notice_bar.show_notice

    def show(*args, **kwargs):
        notice = args[0] if args else kwargs.get("notice")
        kind = getattr(notice, "kind", None) or (args[1] if len(args) > 1 else "info")
        if kind == "error":
            shown.append(args)
        return real(*args, **kwargs)

    window.notice_bar.show_notice = show
    return shown


def streaming_widget(window, qtbot, min_chars: int = 20):
    widget = window.chat_view.last_widget()
    qtbot.waitUntil(lambda: len(widget.thinking.text) >= min_chars, timeout=TURN_TIMEOUT_MS)
    return widget


def test_a_failed_save_of_an_old_reply_leaves_the_new_reply_streaming(
    loop_window, qtbot, monkeypatch
):
    window = loop_window
    first: dict[str, int] = {}
    real_finish = StreamingSaver.finish

    def finish(self, *args, **kwargs):  # runs in the engine thread
        saved = real_finish(self, *args, **kwargs)
        if self.msg_id == first.get("id"):
            raise StoreIOError("Reading or writing the conversation database failed (disk full)")
        return saved

    monkeypatch.setattr(StreamingSaver, "finish", finish)
    assert window.send_message("first")
    first["id"] = window.controller.streaming_message_id
    streaming_widget(window, qtbot)
    assert window.send_message("second")  # stops the first reply; saving it fails
    second = window.controller.streaming_message_id
    qtbot.wait(800)  # the first reply's failure has reached the GUI thread by now

    assert window.controller.generating and window.controller.streaming_message_id == second
    widget = window.chat_view.last_widget()
    assert widget.streaming and widget.message.id == second
    streaming_widget(window, qtbot)  # and it goes on streaming
    window.controller.stop()


def test_a_failed_reply_whose_save_fails_too_is_reported_once(loop_window, qtbot, monkeypatch):
    window = loop_window
    errors = count_error_notices(window)

    def append(self, channel, text):  # generation breaks in the engine thread
        raise RuntimeError("the reasoning parser broke")

    real_finish = StreamingSaver.finish

    def finish(self, *args, **kwargs):  # and so does saving the failed reply
        real_finish(self, *args, **kwargs)
        raise StoreIOError("Reading or writing the conversation database failed (disk full)")

    monkeypatch.setattr(StreamingSaver, "append", append)
    monkeypatch.setattr(StreamingSaver, "finish", finish)
    assert window.send_message("go")
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=TURN_TIMEOUT_MS)
    qtbot.wait(300)  # a second report would have arrived by now

    assert len(errors) == 1
    assert "the reasoning parser broke" in window.notice_bar.text()


def test_after_stop_the_store_holds_what_the_view_shows(loop_window, qtbot):
    window = loop_window
    assert window.send_message("go")
    widget = streaming_widget(window, qtbot)
    time.sleep(0.3)  # a busy GUI thread: the engine streams on, its pieces wait in the queue
    window.controller.stop()
    shown = (widget.message.content, widget.message.thinking, "cancelled")

    def saved():
        message = window.store.get_message(widget.message.id)
        return (message.content, message.thinking, message.status)

    qtbot.waitUntil(lambda: saved()[2] == "cancelled", timeout=TURN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: saved() == shown, timeout=3_000)
    qtbot.wait(300)
    assert saved() == shown
