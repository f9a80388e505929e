"""Durability: SIGKILL while a reply streams, and damaged or edited settings."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.paths import app_paths
from app.settings import AppSettings, load_settings
from app.store import ConversationStore

ROOT = Path(__file__).resolve().parents[2]
STREAM_BEFORE_KILL_S = 3.0
LOSS_ALLOWED_S = 1.0
SLACK_S = 0.3  # the screen runs a frame behind the engine, and the kill is not instantaneous


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_kill_while_streaming_loses_at_most_a_second(tiny_long_loop_gguf, isolated_home):
    env = dict(os.environ, QWQ_DESKTOP_HOME=str(isolated_home), QT_QPA_PLATFORM="offscreen")
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.ui.kill_child", str(tiny_long_loop_gguf)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    samples: list[tuple[float, int]] = []
    try:
        deadline = time.time() + 60
        started = None
        for line in child.stdout:
            sample = json.loads(line)
            samples.append((sample["t"], sample["len"]))
            if sample["len"] > 0 and started is None:
                started = sample["t"]
            if started is not None and sample["t"] - started >= STREAM_BEFORE_KILL_S:
                break
            assert time.time() < deadline, "the child never started streaming"
        killed_at = time.time()
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    # Everything on screen more than a second before the kill must be on disk.
    cutoff = killed_at - LOSS_ALLOWED_S - SLACK_S
    must_have = max(length for t, length in samples if t <= cutoff)
    assert must_have > 100, "too little streamed to judge"

    db = app_paths().conversations_db
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    store = ConversationStore.open(db)
    try:
        (conv,) = store.list_conversations()
        user, reply = store.messages(conv.id)
        assert user.content == "Think about it for a long time"
        assert reply.status == "interrupted"
        print(f"on screen before the cutoff: {must_have}, saved: {len(reply.thinking)}")
        assert len(reply.thinking.strip()) >= must_have
        assert "hmm ok so" in reply.thinking
    finally:
        store.close()


def test_corrupt_settings_file_gives_defaults_and_a_visible_warning(make_window):
    settings_file = app_paths().ensure().settings_file
    settings_file.write_bytes(b'{"theme": "dark", "font_size": ')
    settings, warnings = load_settings(settings_file)
    assert settings == AppSettings()
    window = make_window(settings, warnings)
    assert window.notice_bar.isVisible()
    assert window.notice_bar.kind == "warning"
    assert "damaged" in window.notice_bar.text()


def test_bad_values_fall_back_field_by_field(make_window):
    settings_file = app_paths().ensure().settings_file
    settings_file.write_text(json.dumps({"theme": "purple", "font_size": 13, "threads": 1}))
    settings, warnings = load_settings(settings_file)
    assert (settings.theme, settings.font_size, settings.threads) == ("system", 13, 1)
    window = make_window(settings, warnings)
    assert "theme" in window.notice_bar.text()


def test_settings_dialog_saves_app_and_conversation_settings(answer_window, qtbot):
    from app.ui.window.settings_dialog import SettingsDialog

    window = answer_window
    window.send_message("What is the capital of France?")
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=20_000)
    preset = window.engine.model.default_sampling
    dialog = SettingsDialog(
        window.settings, window.controller.conversation_settings(), preset, window
    )
    qtbot.addWidget(dialog)
    temperature = dialog._conv_fields["temperature"]
    assert temperature.text() == f"Model default ({preset.temperature:g})"
    dialog.system_prompt.setPlainText("Answer in French.")
    temperature.setValue(0.8)
    dialog._conv_fields["thinking_budget"].setValue(512)
    dialog.theme.setCurrentIndex(2)  # dark
    dialog.font_size.setValue(13)
    window.preferences.apply_settings(dialog.app_settings(), dialog.conversation_settings())

    conv = window.controller.conversation_settings()
    assert (conv.system_prompt, conv.temperature, conv.thinking_budget) == (
        "Answer in French.",
        0.8,
        512,
    )
    params = window.controller.sampling()
    assert (params.temperature, params.thinking_budget, params.top_p) == (0.8, 512, preset.top_p)
    saved, warnings = load_settings(app_paths().settings_file)
    assert warnings == []
    assert (saved.theme, saved.font_size, saved.threads) == ("dark", 13, 1)
    assert window.colors.is_dark
    assert window.chat_view.last_widget().answer.source == "Paris"  # rebuilt in the new theme

    dialog2 = SettingsDialog(window.settings, conv, preset, window)
    qtbot.addWidget(dialog2)
    dialog2.reset_sampling()
    reset = dialog2.conversation_settings()
    assert reset.system_prompt == "Answer in French."
    assert reset.sampling_overrides() == {}


def test_changing_load_settings_offers_a_reload(answer_window, qtbot):
    window = answer_window
    data = window.settings.to_dict()
    data["context_size"] = 2048
    window.preferences.apply_settings(AppSettings.from_dict(data))
    assert window.notice_bar.action.text() == "Reload now"
    qtbot.mouseClick(window.notice_bar.action, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.engine.model is not None, timeout=20_000)
    assert window.engine.model.plan.n_ctx == 2048
    assert "2,048 tokens" in window.status.context_label.text()
