"""Secrets are read from and written to the OS keyring off the GUI thread: a locked keyring's
unlock prompt (here, a keyring whose calls wait for the test to answer) never freezes the
window. The Settings dialog and the Connect dialog open at once and fill their key field when
it is read; the API server and the saved endpoint start once their keys are read; a key typed
is used at once while the keyring is still asked to keep it."""

# ruff: noqa: F811 - the fixtures below are imported from other conftests, then requested

from __future__ import annotations

import threading

import httpx2
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.remote import EndpointChoice, choice_path, save_choice
from app.secrets import SERVICE, remote_key_name
from app.settings import AppSettings
from app.ui.window.api_server import KEY_NAME
from app.ui.window.settings_dialog import SettingsDialog
from tests.engine.conftest import answer_engine  # noqa: F401 - a tiny engine
from tests.fixtures.memory_keyring import memory_keyring  # noqa: F401 - in-memory keyring
from tests.server.conftest import serve  # noqa: F401 - our server on a free port

START_TIMEOUT_MS = 20_000
UNANSWERED_S = 60  # a broken test lets go of the keyring's thread after this


class Prompt:
    """Makes ``keyring``'s ``method`` wait, as an unlock prompt does, until ``answer()``."""

    def __init__(self, keyring, monkeypatch, method: str = "get_password") -> None:
        self.asked = threading.Event()
        self.answered = threading.Event()
        call = getattr(keyring, method)

        def waiting(*args):
            self.asked.set()
            self.answered.wait(UNANSWERED_S)
            return call(*args)

        monkeypatch.setattr(keyring, method, waiting)

    def answer(self) -> None:
        self.answered.set()


@pytest.fixture
def prompt(memory_keyring, monkeypatch):
    prompt = Prompt(memory_keyring, monkeypatch)
    yield prompt
    prompt.answer()  # before the windows shut down: their keyring lane lets go


@pytest.fixture
def write_prompt(memory_keyring, monkeypatch):
    prompt = Prompt(memory_keyring, monkeypatch, "set_password")
    yield prompt
    prompt.answer()


def spin(qtbot) -> None:
    """The window's event loop runs: a zero-delay timer fires."""
    fired = []
    QTimer.singleShot(0, lambda: fired.append(True))
    qtbot.waitUntil(lambda: fired == [True])


def test_the_settings_dialog_opens_while_the_keyring_asks_and_fills_the_key_in(
    window, qtbot, memory_keyring, prompt
):
    memory_keyring.secrets[(SERVICE, KEY_NAME)] = "sesame"
    seen = {}

    def in_the_dialog():
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, SettingsDialog)
        qtbot.waitUntil(prompt.asked.is_set)
        seen["while asking"] = (dialog.api_key_edit.text(), dialog.api_key())
        seen["placeholder"] = dialog.api_key_edit.placeholderText()
        prompt.answer()
        qtbot.waitUntil(lambda: dialog.api_key_edit.text() == "sesame")
        seen["read"] = dialog.api_key()
        dialog.reject()

    QTimer.singleShot(0, in_the_dialog)
    window.preferences.open_settings()  # returns when the dialog closes
    assert seen["while asking"] == ("", None)  # not read yet, and not "no key"
    assert "Reading the system keyring" in seen["placeholder"]
    assert seen["read"] == "sesame"
    assert window.api_server.key.value == "sesame"  # read once for the session


def test_saving_before_the_key_is_read_keeps_the_saved_key(window, qtbot, memory_keyring, prompt):
    memory_keyring.secrets[(SERVICE, KEY_NAME)] = "sesame"

    def save_at_once():
        dialog = QApplication.activeModalWidget()
        qtbot.waitUntil(prompt.asked.is_set)
        dialog.accept()

    QTimer.singleShot(0, save_at_once)
    window.preferences.open_settings()
    assert memory_keyring.secrets[(SERVICE, KEY_NAME)] == "sesame"  # not removed
    prompt.answer()
    qtbot.waitUntil(lambda: window.api_server.key.known)
    assert window.api_server.key.value == "sesame"


def test_the_server_on_at_start_waits_for_its_key_without_freezing_the_window(
    make_window, qtbot, memory_keyring, prompt
):
    memory_keyring.secrets[(SERVICE, KEY_NAME)] = "sesame"
    window = make_window(AppSettings(threads=1, theme="light", api_server=True, api_port=0))
    qtbot.waitUntil(prompt.asked.is_set)
    spin(qtbot)
    assert not window.api_server.running and window.api_server.key_job is not None
    prompt.answer()
    qtbot.waitUntil(lambda: window.api_server.running, timeout=START_TIMEOUT_MS)
    url = window.api_server.url
    assert httpx2.get(url + "/models", timeout=10).status_code == 401
    headers = {"Authorization": "Bearer sesame"}
    assert httpx2.get(url + "/models", headers=headers, timeout=10).status_code == 200


def test_a_locked_keyring_at_start_is_said_and_the_server_stays_off(
    make_window, qtbot, memory_keyring
):
    memory_keyring.locked = True
    window = make_window(AppSettings(threads=1, theme="light", api_server=True, api_port=0))
    bar = window.notice_bar
    qtbot.waitUntil(lambda: bar.isVisible() and "keyring would not read" in bar.text())
    assert not window.api_server.running and not window.api_server.key.known


def test_the_saved_endpoint_connects_once_its_key_is_read(
    serve, answer_engine, make_window, qtbot, ui_paths, memory_keyring, prompt
):
    served = serve(answer_engine, api_key="sesame")
    save_choice(choice_path(ui_paths.config_dir), EndpointChoice(served.url))
    memory_keyring.secrets[(SERVICE, remote_key_name(served.url))] = "sesame"
    window = make_window()
    window.open_start_page()
    qtbot.waitUntil(prompt.asked.is_set)
    spin(qtbot)
    assert "Connecting to 127.0.0.1" in window.composer.hint.text()
    assert window.engine.model is None and served.records == []

    window.connect_action.trigger()  # the dialog opens meanwhile; its key comes when read
    dialog = window.models.remote.dialog
    assert dialog.isVisible() and dialog.server.isChecked()
    assert dialog.key.text() == "" and dialog.api_key() is None
    prompt.answer()
    qtbot.waitUntil(lambda: dialog.key.text() == "sesame")
    dialog.reject()
    qtbot.waitUntil(lambda: window.engine.model is not None, timeout=START_TIMEOUT_MS)
    assert window.engine.model.remote is not None  # connected with the key read


def test_loading_a_local_model_meanwhile_drops_the_connection_waiting_for_its_key(
    make_window, qtbot, ui_paths, memory_keyring, prompt, tiny_answer_gguf
):
    url = "http://127.0.0.1:9/v1"  # never contacted
    save_choice(choice_path(ui_paths.config_dir), EndpointChoice(url))
    window = make_window()
    window.open_start_page()
    qtbot.waitUntil(prompt.asked.is_set)
    window.load_model(str(tiny_answer_gguf))
    prompt.answer()
    qtbot.waitUntil(lambda: window.engine.model is not None, timeout=START_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not window.keyring.busy)  # the read ended, its result dropped
    spin(qtbot)
    assert window.engine.model.remote is None and not window.models.remote.active


def test_a_key_typed_is_used_at_once_while_the_keyring_is_asked_to_keep_it(
    serve, answer_engine, window, qtbot, memory_keyring, write_prompt
):
    served = serve(answer_engine, api_key="sesame")
    window.models.remote.apply(EndpointChoice(served.url), "sesame")
    qtbot.waitUntil(write_prompt.asked.is_set)
    qtbot.waitUntil(lambda: window.engine.model is not None, timeout=START_TIMEOUT_MS)
    assert window.engine.model.remote is not None  # connected with the key typed
    assert memory_keyring.secrets == {}  # the keyring is still asking
    window.api_server.set_key("local-key")  # the API server's key waits behind it
    switch_on = window.settings.to_dict() | {"api_server": True, "api_port": 0}
    window.preferences.apply_settings(AppSettings.from_dict(switch_on))
    qtbot.waitUntil(lambda: window.api_server.running, timeout=START_TIMEOUT_MS)
    headers = {"Authorization": "Bearer local-key"}
    assert httpx2.get(window.api_server.url + "/models", headers=headers, timeout=10).is_success

    write_prompt.answer()
    qtbot.waitUntil(lambda: not window.keyring.busy)
    assert memory_keyring.secrets == {
        (SERVICE, remote_key_name(served.url)): "sesame",
        (SERVICE, KEY_NAME): "local-key",
    }
    assert not window.notice_bar.isVisible() or window.notice_bar.kind != "warning"
