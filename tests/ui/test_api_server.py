"""The local API server inside the window: switched on in Settings, serving the model loaded in
the app through the engine's one queue (never at the same time as a chat turn), the request log
and the status bar's indicator, 503 without a model, a port in use, switched off."""

from __future__ import annotations

import socket
import threading

import httpx2
import openai
import pytest

from app.settings import AppSettings
from app.ui.window.api_server import WAITING
from app.ui.window.settings_dialog import SettingsDialog
from tests.fixtures.memory_keyring import memory_keyring  # noqa: F401 - a fixture
from tests.ui.conftest import load

ASK = [{"role": "user", "content": "Where?"}]
START_TIMEOUT_MS = 20_000
TURN_TIMEOUT_MS = 30_000


def api_settings(window, **changes) -> AppSettings:
    data = window.settings.to_dict()
    data.update({"api_server": True, "api_port": 0, **changes})  # port 0: any free port
    return AppSettings.from_dict(data)


def switch(window, qtbot, settings: AppSettings) -> None:
    """Apply ``settings`` and wait until the server is as they say."""
    window.preferences.apply_settings(settings)
    qtbot.waitUntil(
        lambda: window.api_server.running == settings.api_server and not window.api_server._job,
        timeout=START_TIMEOUT_MS,
    )


def client_for(window) -> openai.OpenAI:
    key = window.api_server.key.value or "unused"
    return openai.OpenAI(base_url=window.api_server.url, api_key=key, max_retries=0)


class TurnCounter:
    """Wraps the loaded engine's stream_chat: how many turns ran on it at once, at most."""

    def __init__(self, engine) -> None:
        self.now = 0
        self.most = 0
        self.turns = 0
        self._lock = threading.Lock()
        inner = engine.stream_chat

        def counted(*args, **kwargs):
            with self._lock:
                self.now += 1
                self.turns += 1
                self.most = max(self.most, self.now)
            try:
                yield from inner(*args, **kwargs)
            finally:
                with self._lock:
                    self.now -= 1

        engine.stream_chat = counted


def test_switched_on_in_settings_the_openai_client_streams_and_the_log_shows_it(
    loop_window, qtbot, monkeypatch
):
    window = loop_window
    assert not window.status.api_button.isVisible()  # off by default

    def fill_and_save(dialog: SettingsDialog) -> int:
        assert dialog.tabs.tabText(dialog.tabs.count() - 1) == "Local API"
        assert not dialog.api_enabled.isChecked() and dialog.api_host.text() == "127.0.0.1"
        dialog.api_enabled.setChecked(True)
        dialog.api_port.setValue(0)
        dialog.accept()
        return dialog.result()

    monkeypatch.setattr(SettingsDialog, "exec", fill_and_save)
    window.preferences.open_settings()
    qtbot.waitUntil(lambda: window.api_server.running, timeout=START_TIMEOUT_MS)
    assert window.settings.api_server
    url = window.api_server.url
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    indicator = window.status.api_button
    assert indicator.isVisible() and indicator.text().startswith("API on · 127.0.0.1:")

    client = client_for(window)
    try:
        stream = client.chat.completions.create(
            model="tiny-qwq-long-loop", messages=ASK, stream=True, max_tokens=20_000
        )
        pieces = []
        for chunk in stream:  # the model thinks forever: read a little, look at the log
            pieces.append(chunk.choices[0].delta.model_extra.get("reasoning_content") or "")
            if "hmm" in "".join(pieces):
                break
        log = window.api_server.log
        qtbot.waitUntil(lambda: log.active == 1)
        assert indicator.text().endswith("· 1 request")
        (running,) = log.records
        assert (running.method, running.path, running.finished) == (
            "POST",
            "/v1/chat/completions",
            False,
        )
        assert running.model == "tiny-qwq-long-loop" and running.stream  # known while it runs
        window.api_server.show_log()
        dialog = window.api_server.dialog
        assert dialog.isVisible() and url in dialog.address.text()
        assert dialog.table.model().index(0, 4).data() == "…"
        stream.close()  # the client leaves: the reply stops
        qtbot.waitUntil(lambda: log.active == 0, timeout=TURN_TIMEOUT_MS)
    finally:
        client.close()
    (done,) = log.records
    assert done.status == 200 and done.model == "tiny-qwq-long-loop" and done.stream
    assert done.client.startswith("127.0.0.1:") and done.duration_s > 0
    assert not indicator.text().endswith("request")
    row = [dialog.table.model().index(0, c).data() for c in range(8)]
    assert row[1:5] == [done.client, "POST", "/v1/chat/completions (stream)", "200"]
    assert row[7] == "tiny-qwq-long-loop"


def test_a_chat_turn_and_an_api_request_never_run_at_once(loop_window, qtbot):
    window = loop_window
    switch(window, qtbot, api_settings(window))
    gate = window.engine.gate
    counter = TurnCounter(gate.engine)
    client = client_for(window)
    replies: list = []

    def ask() -> None:
        replies.append(
            client.chat.completions.create(
                model="tiny-qwq-long-loop", messages=ASK, max_tokens=5, extra_body={"seed": 1}
            )
        )

    try:
        # The app's turn first (it thinks forever): the API request waits for it.
        window.send_message("Where?")
        qtbot.waitUntil(lambda: gate.holder == "a chat in the app", timeout=TURN_TIMEOUT_MS)
        api = threading.Thread(target=ask, name="test-api-client")
        api.start()
        qtbot.waitUntil(lambda: len(gate._line) == 2, timeout=TURN_TIMEOUT_MS)
        assert replies == [] and window.controller.generating
        window.controller.stop()  # the app's turn ends: the request runs
        qtbot.waitUntil(lambda: not api.is_alive(), timeout=TURN_TIMEOUT_MS)
        api.join()
        assert replies[0].choices[0].message.content == "Paris"

        # An API reply first: a chat turn sent meanwhile waits for it, then streams.
        stream = client.chat.completions.create(
            model="tiny-qwq-long-loop", messages=ASK, stream=True, max_tokens=20_000
        )
        next(iter(stream))
        assert gate.holder == "an API request"
        window.send_message("And now?")
        qtbot.waitUntil(lambda: len(gate._line) == 2, timeout=TURN_TIMEOUT_MS)
        reply = window.chat_view.last_widget()
        assert reply.thinking.text == "" and reply.answer.source == ""
        assert window.notice_bar.isVisible() and window.notice_bar.text() == WAITING
        stream.close()
        qtbot.waitUntil(lambda: "hmm" in reply.thinking.text, timeout=TURN_TIMEOUT_MS)
        assert gate.holder == "a chat in the app"
        qtbot.waitUntil(lambda: not window.notice_bar.isVisible())  # the API reply ended
        window.controller.stop()
    finally:
        client.close()
    assert counter.turns >= 3 and counter.most == 1


def test_without_a_model_the_api_says_to_load_one_and_serves_the_model_loaded_next(
    window, qtbot, tiny_answer_gguf, tiny_long_loop_gguf
):
    switch(window, qtbot, api_settings(window))
    client = client_for(window)
    try:
        with pytest.raises(openai.APIStatusError) as info:
            client.chat.completions.create(model="any", messages=ASK)
        assert info.value.status_code == 503
        assert "No model is loaded in QwQ Desktop: load one" in info.value.message
        assert client.models.list().data == []
        load(window, tiny_answer_gguf, qtbot)
        reply = client.chat.completions.create(model="tiny-qwq-answer", messages=ASK)
        assert reply.choices[0].message.content == "Paris"
        load(window, tiny_long_loop_gguf, qtbot)  # switched in the app: served next
        assert [m.id for m in client.models.list().data] == ["tiny-qwq-long-loop"]
    finally:
        client.close()
    statuses = [r.status for r in window.api_server.log.records]
    assert statuses[:2] == [503, 200]


def test_a_port_in_use_is_a_notice_and_the_server_stays_off(window, qtbot):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = taken.getsockname()[1]
        window.preferences.apply_settings(api_settings(window, api_port=port))
        bar = window.notice_bar
        qtbot.waitUntil(lambda: bar.isVisible() and "already in use" in bar.text(), timeout=10_000)
    finally:
        taken.close()
    assert f"Port {port}" in bar.text() and "Traceback" not in bar.text()
    assert not window.api_server.running and not window.status.api_button.isVisible()


def test_switched_off_the_address_refuses_connections(window, qtbot):
    switch(window, qtbot, api_settings(window))
    url = window.api_server.url
    assert httpx2.get(url + "/models", timeout=10).status_code == 200
    switch(window, qtbot, api_settings(window, api_server=False))
    assert not window.status.api_button.isVisible()
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(url + "/models", timeout=10)


def test_beyond_this_computer_a_key_is_required_and_kept_in_the_keyring(
    window,
    qtbot,
    memory_keyring,  # noqa: F811 - the fixture
):
    dialog = SettingsDialog(window.settings, None, parent=window)
    dialog.api_enabled.setChecked(True)
    dialog.api_host.setText("0.0.0.0")
    dialog.accept()
    assert dialog.result() != SettingsDialog.DialogCode.Accepted
    assert "An API key is required" in dialog.api_error.text()
    dialog.generate_key()
    key = dialog.api_key()
    assert len(key) >= 24
    dialog.api_host.setText("127.0.0.1")  # the test stays on this computer
    dialog.api_port.setValue(0)
    dialog.accept()
    assert dialog.result() == SettingsDialog.DialogCode.Accepted
    window.api_server.set_key(key)
    switch(window, qtbot, dialog.app_settings())
    dialog.deleteLater()
    qtbot.waitUntil(lambda: not window.keyring.busy)  # kept off the GUI thread
    assert memory_keyring.secrets[("QwQ Desktop", "local-api-server-key")] == key
    response = httpx2.get(window.api_server.url + "/models", timeout=10)
    assert response.status_code == 401
    response = httpx2.get(
        window.api_server.url + "/models", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    assert response.status_code == 200


def test_without_a_keyring_the_key_is_kept_for_this_session_and_the_user_is_told(
    window, qtbot, monkeypatch
):
    from app import secrets

    monkeypatch.setattr(secrets, "available", lambda: False)
    window.api_server.set_key("session-key")
    qtbot.waitUntil(lambda: "kept only until you quit" in window.notice_bar.text())
    switch(window, qtbot, api_settings(window))
    headers = {"Authorization": "Bearer session-key"}
    response = httpx2.get(window.api_server.url + "/models", headers=headers, timeout=10)
    assert response.status_code == 200


def test_the_apps_thinking_budget_applies_to_api_requests_without_a_restart(loop_window, qtbot):
    window = loop_window
    switch(window, qtbot, api_settings(window))
    url = window.api_server.url
    switch(window, qtbot, api_settings(window, thinking_budget=12))
    assert window.api_server.url == url
    client = client_for(window)
    try:
        reply = client.chat.completions.create(
            model="tiny-qwq-long-loop", messages=ASK, max_tokens=400
        )
    finally:
        client.close()
    assert reply.usage.completion_tokens_details.reasoning_tokens == 12
    assert reply.choices[0].message.content == "Paris"


def test_the_request_log_keeps_the_newest_requests_and_updates_them_in_place(qtbot):
    from dataclasses import replace

    from app.server import RequestRecord
    from app.ui.window.api_request_log import RequestLogModel

    log = RequestLogModel(limit=3)
    arrived = [RequestRecord(i, "GET", "/v1/models", "127.0.0.1:1", 0.0) for i in range(5)]
    for record in arrived:
        log.add(record)
    assert [r.id for r in log.records] == [2, 3, 4] and log.active == 3
    log.add(replace(arrived[3], finished=True, status=200, duration_s=0.5))
    assert [r.id for r in log.records] == [2, 3, 4] and log.active == 2
    assert log.index(1, 4).data() == "200" and log.index(1, 6).data() == "0.50 s"
    assert log.index(2, 4).data() == "…"


def test_the_view_menu_opens_the_request_log_while_the_server_is_on(window, qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QAction

    from app.ui.window.menus import API_LOG_SHORTCUT

    action = window.api_log_action
    view = window.menuBar().actions()[2].menu()
    assert view.title() == "&View" and action in view.actions()
    assert action.shortcut().toString() == API_LOG_SHORTCUT and not action.isEnabled()
    owners: dict[str, list[str]] = {}
    for each in window.findChildren(QAction):
        for key in each.shortcuts():
            owners.setdefault(key.toString(), []).append(each.text())
    clashes = {key: texts for key, texts in owners.items() if len(texts) > 1}
    assert clashes == {"Esc": ["&Cancel model load", "S&top generating"]}  # never both enabled

    switch(window, qtbot, api_settings(window))
    assert action.isEnabled()
    modifiers = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window, Qt.Key.Key_L, modifiers)
    dialog = window.api_server.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.table.accessibleName() == "API requests"
    dialog.close()
    switch(window, qtbot, api_settings(window, api_server=False))
    assert not action.isEnabled()
