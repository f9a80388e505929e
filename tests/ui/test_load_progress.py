"""Model-load progress in the window: a real percentage from llama.cpp, Cancel (button or Esc)
that leaves no model and no error, and closing the window mid-load without waiting for it.

The real Gemma 270M GGUF loads in about a second with real progress reports; each test acts
on the first report, so it acts mid-load."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from app.settings import AppSettings
from app.ui.chat.engine_session import ProgressThrottle
from app.ui.window.status_bar import loading_text, percent
from tests.ui.conftest import LOAD_TIMEOUT_MS, load

SETTINGS = AppSettings(threads=1, theme="light", context_size=512)
# A larger context makes llama.cpp spend longer after its last progress report (allocating the
# KV cache), so a Cancel or close reacting to the first report is never late on a busy machine.
SLOW_TAIL = AppSettings(threads=1, theme="light", context_size=16384)


def on_first_progress(window, act) -> list[tuple[float, str, int, int]]:
    """Record every progress report the window shows (fraction, model label, bar value and
    maximum, read after the status bar updated) and run ``act`` on the first one."""
    shown: list[tuple[float, str, int, int]] = []
    status = window.status

    def record(fraction: float) -> None:
        bar = status.loading_bar
        shown.append((fraction, status.model_label.text(), bar.value(), bar.maximum()))
        if len(shown) == 1:
            act()

    window.engine.modelLoadProgress.connect(record)
    return shown


def test_throttle_passes_the_first_and_last_report_and_one_per_interval():
    now = [0]
    throttle = ProgressThrottle(interval_s=50, clock=lambda: now[0])  # in ms: exact
    passed = []
    for step in range(1, 101):  # 100 reports in 100 ms
        now[0] = step
        fraction = step / 100
        if throttle.due(fraction):
            passed.append(fraction)
    assert passed == [0.01, 0.51, 1.0]
    assert not throttle.due(1.0)  # a repeated report is not news


def test_a_load_shows_its_percentage_up_to_100(make_window, gemma_gguf, qtbot):
    window = make_window(SETTINGS)
    shown = on_first_progress(window, lambda: None)
    window.load_model(str(gemma_gguf))
    status = window.status
    assert status.cancel_load_button.isVisible() and status.cancel_load_button.isEnabled()
    assert window.cancel_load_action.isEnabled()
    qtbot.waitUntil(lambda: window.engine.model is not None, timeout=LOAD_TIMEOUT_MS)

    name = Path(gemma_gguf).name
    fractions = [f for f, *_ in shown]
    assert fractions and fractions == sorted(fractions) and fractions[-1] == 1.0
    for fraction, label, value, maximum in shown:  # a determinate bar, in step with the label
        assert (label, value, maximum) == (
            f"Loading {name}… {percent(fraction)} %",
            percent(fraction),
            100,
        )
    assert shown[-1][1:3] == (f"Loading {name}… 100 %", 100)
    assert not status.loading_bar.isVisible() and not status.cancel_load_button.isVisible()
    assert not window.cancel_load_action.isEnabled()
    assert loading_text("qwq", 3, 0.996) == "Loading qwq… 99 %"  # 100 % means done


@pytest.mark.parametrize("how", ["cancel button", "escape key"])
def test_cancelling_mid_load_leaves_no_model_and_no_error(
    make_window, gemma_gguf, tiny_answer_gguf, qtbot, how
):
    window = make_window(SLOW_TAIL)
    load(window, tiny_answer_gguf, qtbot)  # replaced by the next load, which is cancelled
    status = window.status

    def cancel() -> None:
        if how == "cancel button":
            qtbot.mouseClick(status.cancel_load_button, Qt.MouseButton.LeftButton)
        else:
            qtbot.keyClick(window, Qt.Key.Key_Escape)
        assert status.cancelling and not status.cancel_load_button.isEnabled()
        assert status.model_label.text().startswith("Cancelling the load of ")

    shown = on_first_progress(window, cancel)
    window.load_model(str(gemma_gguf))
    qtbot.waitUntil(lambda: not window.engine.loading, timeout=LOAD_TIMEOUT_MS)

    assert len(shown) == 1  # nothing of the cancelled load reached the view after Cancel
    assert window.engine.model is None
    assert window.engine._engine is None  # the engine thread is idle: safe to read
    assert status.model_label.text() == "No model loaded"
    assert not status.loading_bar.isVisible() and not status.cancel_load_button.isVisible()
    bar = window.notice_bar
    assert (bar.kind, bar.text()) == ("info", "Load cancelled; no model loaded.")
    assert [b.text() for b in bar.buttons()] == ["Models…"]
    assert QApplication.activeModalWidget() is None
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]
    assert "No model loaded" in window.composer.hint.text()
    assert not window.cancel_load_action.isEnabled() and not window.stop_action.isEnabled()

    load(window, tiny_answer_gguf, qtbot)  # the engine thread still loads after a cancel
    assert window.engine.model.path == str(tiny_answer_gguf)


def test_closing_the_window_mid_load_stops_the_load(make_window, gemma_gguf, qtbot):
    window = make_window(SLOW_TAIL)
    shown = on_first_progress(window, window.close)
    window.load_model(str(gemma_gguf))
    job = window.engine.load_job
    qtbot.waitUntil(lambda: bool(shown), timeout=LOAD_TIMEOUT_MS)

    assert not window.isVisible() and not window.engine.lane.thread.isRunning()
    assert job.outcome == "aborted"  # the load stopped instead of finishing first


def test_late_reports_of_a_replaced_or_cancelled_load_are_dropped(window, tiny_answer_gguf, qtbot):
    shown = on_first_progress(window, lambda: None)
    client = window.engine
    window.load_model(str(tiny_answer_gguf))
    replaced = client.load_job
    window.load_model(str(tiny_answer_gguf))
    # Reports the engine thread had queued before the replacing load and before Cancel:
    replaced.emit(0.5)
    window.cancel_load()
    client.load_job.emit(0.6)  # emitted here, in the GUI thread: delivered (or dropped) now
    assert shown == [] and window.status.model_label.text().startswith("Cancelling")

    qtbot.waitUntil(lambda: not client.loading, timeout=LOAD_TIMEOUT_MS)
    assert shown == [] and client.model is None
    assert window.notice_bar.text() == "Load cancelled; no model loaded."


def test_a_cancelled_load_stops_at_llama_cpps_next_report(window, gemma_gguf, qtbot):
    client = window.engine
    reported: list[float] = []  # in the engine thread, as llama.cpp reports

    def cancel_at_first_report(fraction: float) -> None:
        reported.append(fraction)
        job.cancel.set()  # a threading.Event: what Cancel sets, here without a delay

    window.load_model(str(gemma_gguf))
    job = client.load_job
    job._item.connect(cancel_at_first_report, Qt.ConnectionType.DirectConnection)
    qtbot.waitUntil(lambda: not client.loading, timeout=LOAD_TIMEOUT_MS)
    assert len(reported) == 1 and reported[0] < 1.0 and job.outcome == "aborted"
    assert window.notice_bar.text() == "Load cancelled; no model loaded."
