"""The installed-models page with pytest-qt (offscreen)."""

from __future__ import annotations

import shutil
import threading

import pytest
from PySide6.QtWidgets import QMessageBox

from app.models import LoadSettings, ModelRegistry, hypothetical_hardware, import_gguf
from app.paths import app_paths
from app.ui.common.hardware_probe import CHECKING_TEXT, HardwareProbe
from app.ui.models import installed_page
from app.ui.models.installed_page import InstalledModelsPage
from tests.fixtures.qt_strict import QT_STRICT, no_leaked_threads  # noqa: F401 - fixture

pytestmark = [*QT_STRICT, pytest.mark.usefixtures("no_leaked_threads")]
WAIT_MS = 30_000


@pytest.fixture
def registry(tiny_answer_gguf, tmp_path):
    registry = ModelRegistry(app_paths().ensure())
    linked = tmp_path / "linked.gguf"
    shutil.copyfile(tiny_answer_gguf, linked)
    import_gguf(registry, tiny_answer_gguf, mode="copy", name="copied")
    import_gguf(registry, linked, name="linked")
    return registry


@pytest.fixture
def page(qtbot, registry):
    widget = InstalledModelsPage(registry, hardware=hypothetical_hardware(16))
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()


def rows(page):
    model = page.table_model
    return [
        [model.data(model.index(r, c)) for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def test_the_table_lists_name_size_quant_context_location(page, registry):
    copied = registry.get("copied")
    assert rows(page)[0] == ["copied", "1.7 MB", "F32", "4,096", copied.path]
    assert [r[0] for r in rows(page)] == ["copied", "linked"]
    assert "models" in page.diskLabel.text() and "free" in page.diskLabel.text()


def test_the_loaded_model_is_marked(page):
    page.set_loaded("linked")
    assert rows(page)[1][0] == "● linked (loaded)"
    page.select("linked")
    assert "loaded now" in page.infoLabel.text()


def test_the_plan_follows_the_edited_settings(page, qtbot):
    qtbot.waitUntil(lambda: "context" in page.planLabel.text(), timeout=WAIT_MS)
    assert page.planLabel.text().startswith("4K context, f16 KV cache, CPU")
    page.kvCombo.setCurrentText("q8_0")
    page.ctxSpin.setValue(2048)
    qtbot.waitUntil(lambda: page.planLabel.text().startswith("2K context, q8_0"), timeout=WAIT_MS)


def test_the_page_shows_at_once_and_plans_when_the_hardware_probe_returns(qtbot, registry):
    release = threading.Event()

    def slow_probe():
        release.wait(10)
        return hypothetical_hardware(16)

    probe = HardwareProbe(slow_probe)
    widget = InstalledModelsPage(registry, hardware=probe)
    qtbot.addWidget(widget)
    try:
        widget.show()
        assert [r[0] for r in rows(widget)] == ["copied", "linked"]
        qtbot.waitUntil(lambda: widget.planLabel.text() == CHECKING_TEXT, timeout=WAIT_MS)
        assert widget.hardware is None
    finally:
        release.set()
    qtbot.waitUntil(lambda: widget.planLabel.text().startswith("4K context"), timeout=WAIT_MS)
    assert widget.threadsSpin.maximum() == 16  # the probed machine's logical cores
    widget.shutdown()
    probe.shutdown()


def test_a_plan_that_does_not_fit_says_so(qtbot, registry):
    widget = InstalledModelsPage(registry, hardware=hypothetical_hardware(16))
    widget.hardware.ram_available = 2**20  # a machine with no memory left
    qtbot.addWidget(widget)
    try:
        widget._schedule_plan()
        qtbot.waitUntil(lambda: widget.planLabel.text().startswith("Does not fit"), timeout=WAIT_MS)
        assert "needs" in widget.planLabel.text()
    finally:
        widget.shutdown()


def test_saved_settings_persist_and_load_emits_them(page, qtbot, registry):
    page.select("copied")
    page.ctxSpin.setValue(2048)
    page.gpuSpin.setValue(0)
    page.threadsSpin.setValue(1)
    page.save_settings()
    expected = LoadSettings(n_ctx=2048, n_gpu_layers=0, kv_cache_type="f16", n_threads=1)
    assert ModelRegistry(registry.paths).get("copied").settings == expected
    page.kvCombo.setCurrentText("q8_0")
    with qtbot.waitSignal(page.loadRequested) as load:
        page.loadButton.click()
    name, settings = load.args
    assert name == "copied" and settings.kv_cache_type == "q8_0"
    assert registry.get("copied").settings.kv_cache_type == "q8_0"


def test_delete_asks_first_and_deletes_only_files_the_app_owns(page, monkeypatch, registry):
    questions = []

    def answer(choice):
        def question(parent, title, text, *args):
            questions.append(text)
            return choice

        return question

    copied = registry.get("copied")
    page.select("copied")
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Cancel))
    page.delete_selected()
    assert registry.get("copied") and "This deletes" in questions[-1]

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    page.delete_selected()
    assert [r[0] for r in rows(page)] == ["linked"]
    assert not __import__("pathlib").Path(copied.path).exists()

    linked = registry.get("linked")
    page.select("linked")
    page.delete_selected()
    assert "stays where it is" in questions[-1]
    assert registry.is_empty() and __import__("pathlib").Path(linked.path).exists()
    assert page.infoLabel.text() == "No model installed."


def test_the_loaded_model_cannot_be_deleted(page, monkeypatch):
    page.set_loaded("copied")
    page.select("copied")
    monkeypatch.setattr(QMessageBox, "question", lambda *a: pytest.fail("must not ask"))
    page.delete_selected()
    assert "load another model first" in page.messageLabel.text()


def test_reveal_shows_the_file(page, monkeypatch, registry):
    shown = []
    monkeypatch.setattr(installed_page, "reveal_in_file_manager", shown.append)
    page.select("linked")
    page.revealButton.click()
    assert shown == [registry.get("linked").path]


def test_verify_checks_the_sha256_off_the_gui_thread(page, qtbot, registry):
    page.select("copied")
    job = page.verify_selected()
    with qtbot.waitSignal(job.finished, timeout=WAIT_MS):
        pass
    assert page.messageLabel.text() == "Verified: the file is intact (sha256 matches)."
    with open(registry.get("copied").path, "r+b") as fh:
        fh.seek(-4, 2)
        fh.write(b"\0\0\0\1")
    page.select("copied")
    job = page.verify_selected()
    with qtbot.waitSignal(job.errored, timeout=WAIT_MS):
        pass
    assert "is damaged" in page.notice_bar.text() and page.notice_bar.kind == "error"


def test_a_missing_file_is_shown_and_cannot_be_loaded(page, registry):
    __import__("pathlib").Path(registry.get("linked").path).unlink()
    page.refresh()
    page.select("linked")
    assert rows(page)[1][4].endswith("(missing)")
    assert not page.loadButton.isEnabled()
