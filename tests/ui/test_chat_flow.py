"""Chat turns through the real window and a tiny real model: stream, stop, regenerate, branch."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Slot

from app.ui.chat.engine_session import Deltas

TURN_TIMEOUT_MS = 20_000


class DeltaRecorder(QObject):
    """Records the streamed text each turn job lets through to the GUI (lives in the GUI
    thread): it listens to every turn the window's engine session starts."""

    def __init__(self, engine) -> None:
        super().__init__()
        self.pieces: list[tuple[str, str]] = []
        start_turn = engine.start_turn

        def start(*args):
            job = start_turn(*args)
            job.yielded.connect(self.record)
            return job

        engine.start_turn = start

    @Slot(object)
    def record(self, item) -> None:
        if isinstance(item, Deltas):
            self.pieces.extend(item.pieces)


def finish_turn(window, qtbot) -> None:
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=TURN_TIMEOUT_MS)


def stored_branch(window):
    return window.store.messages(window.controller.conv_id)


def test_reply_streams_thinking_then_answer(answer_window, qtbot):
    window = answer_window
    recorder = DeltaRecorder(window.engine)
    qtbot.keyClicks(window.composer.input, "What is the capital of France?")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    assert window.composer.generating
    assert window.composer.button.text() == "Stop"
    finish_turn(window, qtbot)

    channels = [c for c, _ in recorder.pieces]
    assert channels[0] == "thinking" and channels[-1] == "answer"
    assert "".join(t for c, t in recorder.pieces if c == "answer") == "Paris"

    user, reply = stored_branch(window)
    assert (user.role, user.content) == ("user", "What is the capital of France?")
    assert (reply.content, reply.thinking, reply.status) == (
        "Paris",
        "Let me think about it",
        "complete",
    )

    widget = window.chat_view.last_widget()
    assert widget.answer.source == "Paris"
    assert "Paris" in widget.answer.views()[0].toPlainText()
    assert widget.thinking.isVisible()
    assert widget.thinking.text == "Let me think about it"
    assert not widget.thinking.toggle.isChecked()  # collapsed once the answer started
    assert widget.thinking.toggle.text().startswith("▸  Thought for")
    assert window.composer.button.text() == "Send"
    assert window.composer.input.toPlainText() == ""
    assert "tok/s" in window.status.speed_label.text()
    assert "/ 4,096 tokens" in window.status.context_label.text()


def test_thinking_is_never_sent_back(answer_window, qtbot):
    window = answer_window
    window.send_message("What is the capital of France?")
    finish_turn(window, qtbot)
    from app.ui.chat.chat_controller import prompt_messages

    prompt = prompt_messages(window.chat_view.messages(), "Be brief.")
    assert prompt[0] == {"role": "system", "content": "Be brief."}
    assert prompt[-1] == {"role": "assistant", "content": "Paris"}
    assert all("think" not in m["content"].lower() for m in prompt[1:])


def test_shift_enter_adds_a_line_instead_of_sending(answer_window, qtbot):
    window = answer_window
    qtbot.keyClicks(window.composer.input, "line one")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(window.composer.input, "line two")
    assert window.composer.input.toPlainText() == "line one\nline two"
    assert window.controller.conv_id is None


def test_stop_mid_reply_keeps_partial_text_and_drops_late_tokens(loop_window, qtbot):
    window = loop_window
    window.send_message("Think forever")
    widget = window.chat_view.last_widget()
    qtbot.waitUntil(lambda: len(widget.thinking.text) > 40, timeout=TURN_TIMEOUT_MS)
    qtbot.mouseClick(window.composer.button, Qt.MouseButton.LeftButton)

    assert not window.controller.generating
    assert window.composer.button.text() == "Send"
    shown = widget.thinking.text
    assert "hmm ok so" in shown
    reply_id = widget.message_id
    qtbot.waitUntil(
        lambda: window.store.get_message(reply_id).status == "cancelled", timeout=TURN_TIMEOUT_MS
    )
    qtbot.wait(150)
    assert widget.thinking.text == shown  # nothing arrived after Stop
    assert widget._notice.text() == "Stopped."
    stored = window.store.get_message(reply_id)
    assert stored.thinking.strip().startswith(shown.strip())


def test_escape_stops_and_a_new_message_cancels_the_running_one(loop_window, qtbot):
    window = loop_window
    window.send_message("first")
    first = window.chat_view.last_widget().message_id
    qtbot.waitUntil(lambda: len(window.chat_view.last_widget().thinking.text) > 10)
    window.send_message("second")  # a new request cancels the old one
    second = window.chat_view.last_widget().message_id
    assert second != first
    qtbot.waitUntil(lambda: window.store.get_message(first).status == "cancelled", timeout=5000)
    qtbot.waitUntil(lambda: len(window.chat_view.last_widget().thinking.text) > 10)
    assert window.stop_action.isEnabled()
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Escape)
    assert not window.controller.generating
    qtbot.waitUntil(lambda: window.store.get_message(second).status == "cancelled", timeout=5000)


def test_regenerate_keeps_the_old_reply_as_a_sibling(answer_window, qtbot):
    window = answer_window
    window.send_message("What is the capital of France?")
    finish_turn(window, qtbot)
    first_reply = window.chat_view.last_widget().message_id
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)  # Regenerate
    finish_turn(window, qtbot)

    reply = window.chat_view.last_widget()
    assert reply.message_id != first_reply
    assert reply.answer.source == "Paris"
    assert (reply.message.sibling_index, reply.message.sibling_count) == (1, 2)
    assert reply._sibling_label.text() == "2 / 2"
    assert len(window.chat_view.widgets()) == 2

    qtbot.mouseClick(reply._prev, Qt.MouseButton.LeftButton)
    shown = window.chat_view.last_widget()
    assert shown.message_id == first_reply
    assert shown._sibling_label.text() == "1 / 2"
    assert [m.id for m in stored_branch(window)][-1] == first_reply


def test_edit_and_resend_creates_a_branch_and_the_old_one_stays(answer_window, qtbot):
    window = answer_window
    window.send_message("What is the capital of Franse?")
    finish_turn(window, qtbot)
    user_widget = window.chat_view.widgets()[0]
    old_user = user_widget.message_id
    qtbot.mouseClick(user_widget._edit, Qt.MouseButton.LeftButton)
    editor = user_widget._editor
    assert editor is not None and editor.toPlainText() == "What is the capital of Franse?"
    editor.setPlainText("What is the capital of France?")
    user_widget._on_edit_send()
    finish_turn(window, qtbot)

    new_user, new_reply = window.chat_view.widgets()
    assert new_user.message.content == "What is the capital of France?"
    assert new_user._sibling_label.text() == "2 / 2"
    assert new_reply.answer.source == "Paris"

    qtbot.mouseClick(new_user._prev, Qt.MouseButton.LeftButton)
    old, old_reply = window.chat_view.widgets()
    assert old.message_id == old_user
    assert old.message.content == "What is the capital of Franse?"
    assert old_reply.answer.source == "Paris"
    assert len(window.store.all_messages(window.controller.conv_id)) == 4


def test_delete_message_removes_it_and_its_replies(answer_window, qtbot):
    window = answer_window
    window.send_message("What is the capital of France?")
    finish_turn(window, qtbot)
    reply = window.chat_view.last_widget()
    qtbot.mouseClick(reply._delete, Qt.MouseButton.LeftButton)
    assert [w.message.role for w in window.chat_view.widgets()] == ["user"]
    assert [m.role for m in stored_branch(window)] == ["user"]


def test_sending_without_a_model_explains_why(window, qtbot):
    assert not window.composer.button.isEnabled()
    assert "No model loaded" in window.composer.hint.text()
    assert window.send_message("hello") is False
    assert window.notice_bar.isVisible()
    assert "Load a model" in window.notice_bar.text()


def test_a_file_that_is_not_a_model_gives_a_readable_error(window, qtbot, tmp_path):
    bogus = tmp_path / "not-a-model.gguf"
    bogus.write_bytes(b"this is not a gguf file at all" * 10)
    window.load_model(str(bogus))
    qtbot.waitUntil(lambda: not window.engine.loading, timeout=10_000)
    assert window.notice_bar.kind == "error"
    text = window.notice_bar.text()
    assert "not-a-model.gguf" in text and "Unexpected" not in text
    assert window.engine.model is None
    assert window.status.model_label.text() == "No model loaded"


def test_context_meter_warns_before_messages_are_left_out(make_window, tiny_answer_gguf, qtbot):
    from app.settings import AppSettings
    from tests.ui.conftest import load

    window = make_window(AppSettings(threads=1, theme="light", context_size=256))
    load(window, tiny_answer_gguf, qtbot)
    store = window.store
    short = store.create_conversation("short")
    store.add_message(short.id, "user", "What is the capital of France?")
    long = store.create_conversation("long")
    for _ in range(6):
        store.add_message(long.id, "user", "The capital of France is Paris. " * 8)
    window.refresh_conversations()

    window.open_conversation(short.id)
    qtbot.waitUntil(lambda: "/ 256 tokens" in window.status.context_label.text(), timeout=5000)
    assert window.status.meter.property("level") == "ok"
    assert not window.notice_bar.isVisible()

    window.open_conversation(long.id)
    qtbot.waitUntil(lambda: window.status.meter.property("level") != "ok", timeout=5000)
    assert window.status.context_label.text().startswith("Context")
    assert window.notice_bar.kind == "warning"
    assert "left out" in window.notice_bar.text()
