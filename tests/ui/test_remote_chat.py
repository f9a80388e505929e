"""Chatting through a remote endpoint in the real window: our own API server on 127.0.0.1
around a tiny real model, the window connected to it (thinking apart, stop, regenerate,
statistics), the endpoint saved apart from the settings and its key in the keyring, and the
notices for a wrong key and an unreachable address. Nothing is contacted before it is set."""

# ruff: noqa: F811 - the fixtures below are imported from other conftests, then requested

from __future__ import annotations

import json
import socket

from PySide6.QtWidgets import QToolButton

from app.remote import EndpointChoice, choice_path
from app.secrets import SERVICE, remote_key_name
from tests.engine.conftest import answer_engine, loop_engine  # noqa: F401 - tiny engines
from tests.fixtures.memory_keyring import memory_keyring  # noqa: F401 - in-memory keyring
from tests.server.conftest import serve  # noqa: F401 - our server on a free port

CONNECT = "Connect to a server…"
CONNECT_TIMEOUT_MS = 20_000
TURN_TIMEOUT_MS = 30_000


def connect(window, qtbot, url: str, key: str = "", model: str | None = None) -> None:
    """Choose the endpoint as the dialog's Connect does, and wait for the connection."""
    window.models.remote.apply(EndpointChoice(url, model), key)
    qtbot.waitUntil(lambda: not window.engine.loading, timeout=CONNECT_TIMEOUT_MS)


def finish_turn(window, qtbot) -> None:
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=TURN_TIMEOUT_MS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nothing_is_contacted_until_the_user_connects(serve, answer_engine, window, qtbot):
    served = serve(answer_engine)
    with qtbot.waitSignal(window.startPageOpened, timeout=CONNECT_TIMEOUT_MS):
        window.open_start_page()
    window.connect_action.trigger()
    dialog = window.models.remote.dialog
    assert dialog is not None and dialog.local.isChecked()  # this computer by default
    dialog.server.setChecked(True)
    qtbot.keyClicks(dialog.url, served.url)
    assert served.records == []  # typing an address sends nothing
    dialog.test_button.click()
    qtbot.waitUntil(lambda: dialog.test_job is None, timeout=CONNECT_TIMEOUT_MS)
    assert "1 model" in dialog.status.text()
    assert dialog.model.currentText() == "tiny-qwq-answer"
    assert {r.path for r in served.records} == {"/v1/models"}
    dialog.accept()
    qtbot.waitUntil(lambda: window.engine.model is not None, timeout=CONNECT_TIMEOUT_MS)
    assert window.models.remote.dialog is None
    assert window.engine.model.remote == served.server.url.split("//")[1].split("/")[0]


def test_chat_through_the_endpoint_keeps_thinking_apart(
    serve, answer_engine, window, qtbot, ui_paths, memory_keyring
):
    served = serve(answer_engine, api_key="sesame")
    connect(window, qtbot, served.url, key="sesame")
    info = window.engine.model
    host = info.remote
    assert info.name == "tiny-qwq-answer" and host.startswith("127.0.0.1:")
    assert window.status.model_label.text() == f"tiny-qwq-answer · {host}"
    assert window.status.device_label.text() == "Remote server · 2K context"
    assert host in window.chat_view.empty_state.subtitle.text()
    assert window.engine.gate.engine is None  # the app's own API serves local models only
    saved = json.loads(choice_path(ui_paths.config_dir).read_text())
    assert saved == {"url": served.url, "model": None, "active": True}
    assert "sesame" not in choice_path(ui_paths.config_dir).read_text()
    assert memory_keyring.secrets[(SERVICE, remote_key_name(served.url))] == "sesame"

    window.send_message("What is the capital of France?")
    assert window.composer.generating
    finish_turn(window, qtbot)
    widget = window.chat_view.last_widget()
    assert widget.thinking.text == "Let me think about it"
    assert widget.answer.source == "Paris"
    user, reply = window.store.messages(window.controller.conv_id)
    assert (reply.content, reply.thinking, reply.status) == (
        "Paris",
        "Let me think about it",
        "complete",
    )
    assert reply.stats["model"] == "tiny-qwq-answer" and reply.stats["completion_tokens"] > 0
    assert "tok/s" in window.status.speed_label.text()
    assert "/ 2,048 tokens" in window.status.context_label.text()

    window.regenerate_last()  # a second reply beside the first, through the endpoint again
    finish_turn(window, qtbot)
    reply2 = window.store.messages(window.controller.conv_id)[-1]
    assert reply2.id != reply.id and reply2.content == "Paris" and reply2.sibling_count == 2
    assert len(served.wait_finished(2)) == 2  # the record ends just after the last chunk


def test_stop_mid_stream_keeps_the_partial_reply(serve, loop_engine, window, qtbot):
    served = serve(loop_engine)
    connect(window, qtbot, served.url)
    window.send_message("Think about it")
    widget = window.chat_view.last_widget()
    qtbot.waitUntil(lambda: len(widget.thinking.text) > 20, timeout=TURN_TIMEOUT_MS)
    window.controller.stop()
    shown = widget.message.thinking
    assert shown and widget.message.status == "cancelled"
    qtbot.waitUntil(lambda: not window.engine.lane.busy, timeout=TURN_TIMEOUT_MS)
    reply = window.store.messages(window.controller.conv_id)[-1]
    assert (reply.thinking, reply.status) == (shown, "cancelled")
    served.wait_finished(1)  # the server saw the client go and stopped generating


def test_a_wrong_key_and_an_unreachable_server_are_explained(
    serve, answer_engine, window, qtbot, memory_keyring
):
    served = serve(answer_engine, api_key="sesame")
    connect(window, qtbot, served.url, key="wrong")
    assert window.engine.model is None
    notice = window.notice_bar
    assert notice.isVisible() and notice.kind == "error"
    assert "refused the API key" in notice.text() and "401" in notice.text()
    assert [b.text() for b in notice.buttons()] == [CONNECT]
    notice.buttons()[0].click()  # opens the dialog on the endpoint, with its key
    dialog = window.models.remote.dialog
    assert dialog.server.isChecked()
    qtbot.waitUntil(lambda: dialog.key.text() == "wrong")  # read off the GUI thread
    dialog.reject()
    assert window.status.model_label.text() == "No model loaded"
    assert not window.composer.button.isEnabled()

    connect(window, qtbot, f"http://127.0.0.1:{free_port()}/v1")
    assert window.engine.model is None
    assert "Cannot reach 127.0.0.1" in notice.text()
    assert "check the address and port" in notice.text().lower()


def test_the_endpoint_is_used_again_at_start_and_this_computer_lets_go(
    serve, answer_engine, make_window, qtbot, memory_keyring
):
    served = serve(answer_engine, api_key="sesame")
    first = make_window()
    connect(first, qtbot, served.url, key="sesame")
    assert first.engine.model is not None
    first.shutdown()

    again = make_window()
    again.open_start_page()  # connects to the saved endpoint, key from the keyring
    qtbot.waitUntil(lambda: again.engine.model is not None, timeout=CONNECT_TIMEOUT_MS)
    assert again.engine.model.remote is not None
    again.models.remote.apply(None)  # this computer: no local model yet, so none loaded
    assert again.engine.model is None
    assert again.status.model_label.text() == "No model loaded"
    assert not again.models.remote.active
    assert "this computer" in again.notice_bar.text()
    again.shutdown()

    asked = len(served.records)
    third = make_window()  # this computer was chosen last: the endpoint is left alone
    with qtbot.waitSignal(third.startPageOpened, timeout=CONNECT_TIMEOUT_MS):
        third.open_start_page()
    assert third.engine.model is None and not third.engine.loading
    assert len(served.records) == asked


def test_without_a_keyring_the_key_lasts_the_session_and_the_user_is_told(
    serve, answer_engine, window, qtbot, monkeypatch
):
    from app import secrets

    monkeypatch.setattr(secrets, "available", lambda: False)
    served = serve(answer_engine, api_key="sesame")
    connect(window, qtbot, served.url, key="sesame")
    assert window.engine.model is not None  # the key was used all the same
    notice = window.notice_bar
    assert notice.isVisible() and notice.kind == "warning" and "no keyring" in notice.text()
    window.models.remote.show_dialog()
    dialog = window.models.remote.dialog
    assert "no keyring" in dialog.key_note.text()
    qtbot.waitUntil(lambda: dialog.key.text() == "sesame")  # read off the GUI thread
    dialog.reject()
    assert window.models.remote.dialog is None


def test_every_guarded_slot_of_the_connection_reports_on_the_window(window, monkeypatch):
    from tests.ui.test_notices import force_failures

    remote = window.models.remote
    slots = force_failures(remote, window.notice_bar, window.focus_composer, monkeypatch)
    assert "show_dialog" in slots


def test_the_dialog_shows_server_fields_when_chosen_and_refuses_a_bad_address(window):
    window.connect_action.trigger()
    dialog = window.models.remote.dialog
    assert dialog.form_box.isHidden() and dialog.ok.text() == "Use this computer"
    dialog.server.setChecked(True)
    assert dialog.form_box.isVisible() and dialog.ok.text() == "Connect"
    assert not dialog.ok.isEnabled() and not dialog.test_button.isEnabled()  # no address yet
    dialog.url.setText("ftp://box/v1")
    dialog.ok.click()
    assert dialog.isVisible() and "not an http(s) address" in dialog.status.text()
    assert window.engine.model is None and not window.engine.loading
    dialog.reject()
    assert window.models.remote.dialog is None and window.models.remote.choice is None


def test_the_models_and_first_run_pages_offer_the_connection(window):
    for show, page in (
        (window.show_models, "models_page"),
        (window.show_first_run, "first_run_page"),
    ):
        show()
        embedded = getattr(window.model_pages, page)
        (button,) = [b for b in embedded.findChildren(QToolButton) if b.text() == CONNECT]
        button.click()
        dialog = window.models.remote.dialog
        assert dialog is not None and dialog.isVisible()
        dialog.reject()
    assert [a.text() for a in window.menuBar().actions()[0].menu().actions()][2] == (
        "Co&nnect to a server…"
    )


def test_connected_the_model_button_opens_the_connection_and_load_settings_say_they_are_local(
    serve, answer_engine, window, qtbot
):
    from PySide6.QtCore import Qt

    from app.settings import AppSettings
    from app.ui.window.preferences import LOCAL_ONLY

    served = serve(answer_engine)
    connect(window, qtbot, served.url)
    button = window.status.model_label
    assert "Connect to a server" in button.toolTip()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = window.models.remote.dialog
    assert dialog is not None and dialog.isVisible() and dialog.server.isChecked()
    assert window.models_page is None  # the Models page was not opened
    dialog.reject()

    data = window.settings.to_dict()
    data["context_size"] = 4096
    window.preferences.apply_settings(AppSettings.from_dict(data))
    notice = window.notice_bar
    assert notice.isVisible() and notice.text() == LOCAL_ONLY
    assert notice.buttons() == []  # no "Reload now": reconnecting would change nothing

    window.models.remote.apply(None)  # this computer: the button opens the Models page again
    assert "Models…" in button.toolTip()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.pages.currentWidget() is window.model_pages.models_page
    assert window.models.remote.dialog is None
