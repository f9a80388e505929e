"""The model manager inside the main window, as a new user meets it: the first-run screen from
an empty data folder, a download from the local Hub stand-in to a loaded model that answers,
faults (corrupt download, no Hub), the planner's refusal with its one-click alternatives, the
GPU-unused warning, the Models page by keyboard, and start-up and shutdown."""

from __future__ import annotations

import shutil
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QTableView,
    QWidget,
)

from app.engine import HardwareInfo, plan_memory, read_model_facts
from app.engine.planner import MiB
from app.models import (
    TaskState,
    adopt_found_models,
    hypothetical_hardware,
    import_gguf,
    load_catalogue,
)
from app.ui.common.hardware_probe import CHECKING_TEXT, HardwareProbe
from app.ui.window.status_bar import loading_text
from tests.fixtures.fake_hub import FakeHub, isolate_from_hub, silent_endpoint
from tests.models.helpers import write_tiny_catalogue

REPO = "org/tiny-GGUF"
FILE = "tiny-f32.gguf"
WAIT_MS = 30_000


@pytest.fixture(autouse=True)
def hub_environment(monkeypatch, tmp_path):
    """No test may reach the real Hub: the endpoint refuses connections until a test says
    otherwise, timeouts are short, no token or proxy is seen."""
    isolate_from_hub(monkeypatch, tmp_path)


@pytest.fixture
def fake_hub(monkeypatch, tiny_answer_gguf):
    """The Hub stand-in on 127.0.0.1 serving the tiny model that answers "Paris"."""
    with FakeHub() as hub:
        hub.add_repo(REPO, {FILE: tiny_answer_gguf.read_bytes()})
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        yield hub


@pytest.fixture
def catalogue(tmp_path, tiny_answer_gguf):
    path = write_tiny_catalogue(
        tmp_path / "catalogue.json", REPO, FILE, tiny_answer_gguf.read_bytes()
    )
    return load_catalogue(path)


@pytest.fixture
def make_model_window(make_window, catalogue):
    """MainWindows on the test's (empty) home with the tiny catalogue and a described machine."""

    def make(hardware: HardwareInfo | HardwareProbe | None = None):
        return make_window(hardware=hardware or hypothetical_hardware(16), catalogue=catalogue)

    return make


def model_files(window) -> list:
    return [p for p in window.paths.models_dir.rglob("*") if p.is_file()]


def open_start(window, qtbot) -> None:
    """``open_start_page`` and wait until it has decided (it checks the models folder first)."""
    with qtbot.waitSignal(window.startPageOpened, timeout=WAIT_MS):
        window.open_start_page()


def wait_loaded(window, qtbot) -> None:
    qtbot.waitUntil(lambda: window.engine.model is not None, timeout=WAIT_MS)


def install_linked(window, gguf) -> str:
    return import_gguf(window.registry, gguf, mode="link", name="tiny").name


# -- the new user's way -----------------------------------------------------------------------


def test_new_user_downloads_loads_and_gets_an_answer(make_model_window, fake_hub, qtbot):
    window = make_model_window()
    assert window.registry.is_empty()
    open_start(window, qtbot)
    page = window.first_run
    assert window.pages.currentWidget().content is page
    assert "Recommended for this computer: Tiny QwQ F32" in page.recommendationLabel.text()

    qtbot.mouseClick(page.downloadButton, Qt.MouseButton.LeftButton)
    wait_loaded(window, qtbot)

    (model,) = window.registry.list()
    assert model.source == "download" and model.sha256
    assert model_files(window) == [window.paths.models_dir / REPO / FILE]
    assert window.engine.model.path == model.path
    assert window.pages.currentWidget() is window.chat_page
    assert window.status.model_label.text().startswith("tiny-qwq")
    assert window.status.device_label.text() == "CPU · 4K context · f16 KV"
    assert window.status.device_label.property("level") == "ok"
    assert not window.status.loading_bar.isVisible()

    qtbot.keyClicks(window.composer.input, "What is the capital of France?")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=WAIT_MS)
    reply = window.store.messages(window.controller.conv_id)[-1]
    assert (reply.content, reply.status) == ("Paris", "complete")

    window.show_models()
    assert window.models_page.table_model.data(window.models_page.table_model.index(0, 0)) == (
        f"● {model.name} (loaded)"
    )


def test_a_download_that_stays_corrupt_ends_with_a_message_and_no_file(
    make_model_window, fake_hub, qtbot
):
    fake_hub.corrupt_byte(FILE, 1000, times=2)  # the download and its one retry
    window = make_model_window()
    open_start(window, qtbot)
    page = window.first_run
    page.downloadButton.click()
    qtbot.waitUntil(lambda: page.notice_bar.text() != "", timeout=WAIT_MS)
    assert "corrupt" in page.notice_bar.text()
    assert page.task.state == TaskState.FAILED and page.pauseButton.text() == "Resume"
    assert window.registry.is_empty() and model_files(window) == []
    assert window.engine.model is None and window.pages.currentWidget().content is page


def test_no_hub_says_so_in_the_window_and_can_be_retried(make_model_window, qtbot, monkeypatch):
    window = make_model_window()  # HF_ENDPOINT refuses connections
    open_start(window, qtbot)
    page = window.first_run
    page.downloadButton.click()
    qtbot.waitUntil(lambda: page.notice_bar.text() != "", timeout=5_000)
    assert "Cannot reach the Hugging Face Hub" in page.notice_bar.text()
    assert "connection refused" in page.notice_bar.text()
    assert page.pauseButton.isVisible() and page.pauseButton.text() == "Resume"
    assert window.registry.is_empty() and model_files(window) == []


def test_a_hub_that_never_answers_times_out_and_the_window_still_closes(
    make_model_window, qtbot, monkeypatch
):
    monkeypatch.setenv("HF_HUB_ETAG_TIMEOUT", "1")
    with silent_endpoint() as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        window = make_model_window()
        open_start(window, qtbot)
        page = window.first_run
        page.downloadButton.click()
        qtbot.waitUntil(
            lambda: page.statusLabel.text() == "Connecting to the Hugging Face Hub…", timeout=5_000
        )
        qtbot.waitUntil(lambda: page.notice_bar.text() != "", timeout=10_000)
        assert "no answer in time" in page.notice_bar.text()
        page.pauseButton.click()  # try again, then close while it waits for the Hub
        qtbot.waitUntil(lambda: page.task.state == TaskState.RUNNING, timeout=5_000)
        window.close()
    assert window.model_pages.downloads.manager.tasks()[0].state != TaskState.RUNNING


# -- loading ----------------------------------------------------------------------------------


def hardware_between(gguf, low_ctx: int, high_ctx: int) -> HardwareInfo:
    """A machine whose memory holds the model at ``low_ctx`` but not at ``high_ctx``."""
    facts = read_model_facts(gguf)
    low, high = (
        plan_memory(facts, hypothetical_hardware(64), n_ctx=c) for c in (low_ctx, high_ctx)
    )
    hardware = hypothetical_hardware(8)
    hardware.ram_available = 768 * MiB + (low.total_bytes + high.total_bytes) // 2
    return hardware


def test_a_refused_load_offers_a_setting_that_fits_and_loads_with_it(
    make_model_window, tiny_answer_gguf, qtbot
):
    window = make_model_window(hardware_between(tiny_answer_gguf, 2048, 4096))
    name = install_linked(window, tiny_answer_gguf)
    window.show_models()
    page = window.models_page
    page.ctxSpin.setValue(4096)
    qtbot.mouseClick(page.loadButton, Qt.MouseButton.LeftButton)
    assert window.pages.currentWidget() is window.chat_page
    qtbot.waitUntil(lambda: not window.engine.loading, timeout=WAIT_MS)

    bar = window.notice_bar
    assert bar.isVisible() and bar.kind == "error"
    assert "needs" in bar.text() and "at 4K context" in bar.text()
    labels = [b.text() for b in bar.buttons()]
    assert labels[0] == "Load with 2K context" and labels[-1] == "Models…"
    assert window.engine.model is None
    assert window.status.model_label.text() == "No model loaded"

    qtbot.mouseClick(bar.buttons()[0], Qt.MouseButton.LeftButton)
    wait_loaded(window, qtbot)
    assert window.engine.model.plan.n_ctx == 2048
    assert "2K context" in window.status.device_label.text()
    assert window.registry.get(name).settings.n_ctx == 2048  # the next load fits too
    assert not bar.isVisible()


def test_loading_shows_the_model_and_elapsed_time(make_model_window, tiny_answer_gguf, qtbot):
    window = make_model_window()
    install_linked(window, tiny_answer_gguf)
    window.load_installed("tiny")
    status = window.status
    assert status.loading and status.loading_bar.isVisible()
    assert status.model_label.text() == "Loading tiny… 0 s"
    assert not window.composer.button.isEnabled()
    wait_loaded(window, qtbot)
    assert not status.loading and not status.loading_bar.isVisible()

    status.start_loading("qwq-32b-q4_k_m")  # the clock ticks while a big model loads
    qtbot.waitUntil(
        lambda: status.model_label.text() == "Loading qwq-32b-q4_k_m… 1 s", timeout=3_000
    )
    status.stop_loading()
    assert loading_text("qwq", 75) == "Loading qwq… 1 min 15 s"


def test_a_gpu_that_stays_unused_is_warned_about(make_model_window, tiny_answer_gguf, qtbot):
    # This llama.cpp build has no CUDA: the plan puts layers on the "GPU", llama.cpp none.
    gpu_machine = hypothetical_hardware(16, gpu="cuda", vram_gb=8)
    window = make_model_window(gpu_machine)
    window.load_model(str(tiny_answer_gguf))
    wait_loaded(window, qtbot)
    assert window.engine.model.plan.n_gpu_layers > 0
    assert window.notice_bar.kind == "warning" and window.notice_bar.isVisible()
    assert "offloaded none" in window.notice_bar.text()
    device = window.status.device_label
    assert device.text().startswith("⚠ CPU · 4K context")
    assert device.property("level") == "warning"


# -- the Models page --------------------------------------------------------------------------


def test_models_page_by_keyboard_and_back(make_model_window, tiny_answer_gguf, qtbot):
    window = make_model_window()
    install_linked(window, tiny_answer_gguf)
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)  # shortcuts go to the active window
    qtbot.keyClick(
        window,
        Qt.Key.Key_M,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    page = window.models_page
    assert window.pages.currentWidget().content is page
    assert page.table.hasFocus() and page.selected().name == "tiny"

    order = []
    for _ in range(6):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        focused = QApplication.focusWidget()
        order.append(focused.accessibleName() or focused.text())
    assert order == [
        "Context size in tokens",
        "Layers on the GPU",
        "KV cache type",
        "Threads",
        "Speculative decoding",
        "Load",
    ]
    qtbot.keyClick(page.loadButton, Qt.Key.Key_Space)
    wait_loaded(window, qtbot)
    assert window.composer.input.hasFocus()

    qtbot.mouseClick(window.status.model_label, Qt.MouseButton.LeftButton)
    assert window.pages.currentWidget().content is page
    assert page.table_model.loaded == "tiny"
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.pages.currentWidget() is window.chat_page


def test_every_control_of_the_models_page_has_a_name(make_model_window, tiny_answer_gguf):
    window = make_model_window()
    install_linked(window, tiny_answer_gguf)
    window.show_models()
    kinds = (QAbstractButton, QAbstractSpinBox, QComboBox, QTableView)
    unnamed = [
        f"{type(w).__name__} {w.objectName()!r}"
        for w in window.pages.currentWidget().findChildren(QWidget)
        if isinstance(w, kinds)
        and w.isVisibleTo(window)
        and w.focusPolicy() != Qt.FocusPolicy.NoFocus
        and not w.accessibleName()
        and not (isinstance(w, QAbstractButton) and w.text().strip())
    ]
    assert unnamed == []


# -- start-up and shutdown --------------------------------------------------------------------


def test_a_model_found_in_the_models_folder_is_adopted_at_start_off_the_gui_thread(
    make_model_window, tiny_answer_gguf, qtbot, monkeypatch
):
    from app.ui.window import model_loading

    adopting_threads = []

    def adopt_and_note_the_thread(registry):
        adopting_threads.append(threading.current_thread() is threading.main_thread())
        return adopt_found_models(registry)

    monkeypatch.setattr(model_loading, "adopt_found_models", adopt_and_note_the_thread)
    window = make_model_window()
    target = window.paths.models_dir / REPO / FILE
    target.parent.mkdir(parents=True)
    shutil.copyfile(tiny_answer_gguf, target)
    open_start(window, qtbot)
    assert adopting_threads == [False]  # it reads each file: never on the GUI thread
    (model,) = window.registry.list()
    assert model.source == "found" and model.path == str(target)
    assert window.first_run is None and window.pages.currentWidget() is window.chat_page
    assert window.notice_bar.buttons()[0].text() == "Choose a model…"


def test_closing_mid_download_pauses_it_and_stops_every_thread(make_model_window, fake_hub, qtbot):
    fake_hub.throttle(400_000)
    window = make_model_window()
    open_start(window, qtbot)
    window.show_models()  # its planning job must be joined too
    window.show_first_run()
    page = window.first_run
    page.downloadButton.click()
    qtbot.waitUntil(lambda: page.task.done_bytes > 100_000, timeout=WAIT_MS)
    window.close()
    (task,) = window.model_pages.downloads.manager.tasks()
    assert task.state == TaskState.PAUSED and window.registry.is_empty()
    assert not window.isVisible()


def test_the_window_shows_before_a_slow_hardware_probe_returns(make_model_window, qtbot):
    """Probing may wait seconds for nvidia-smi: the pages say they are checking meanwhile."""
    release = threading.Event()
    returned = []

    def slow_probe() -> HardwareInfo:
        release.wait(10)
        returned.append(threading.current_thread() is threading.main_thread())
        return hypothetical_hardware(16)

    window = make_model_window(hardware=HardwareProbe(slow_probe))
    try:
        open_start(window, qtbot)
        page = window.first_run
        assert window.isVisible() and window.pages.currentWidget().content is page
        assert not returned  # the page is up while the probe still runs
        assert page.recommendationLabel.text() == CHECKING_TEXT
        assert not page.downloadButton.isEnabled() and page.importButton.isEnabled()
        window.show_models()
        assert window.models_page.isVisible() and not returned
        window.show_first_run()
        assert window.pages.currentWidget().content is page and not returned
    finally:
        release.set()
    qtbot.waitUntil(lambda: page.downloadButton.isEnabled(), timeout=WAIT_MS)
    assert returned == [False]
    assert "Recommended for this computer: Tiny QwQ F32" in page.recommendationLabel.text()
    assert page.downloadButton.text() == "Download Tiny QwQ F32"
    assert page.reasonLabel.text().startswith("16 GB RAM")


def test_a_failing_hardware_probe_says_so_and_leaves_import_and_build(make_model_window, qtbot):
    def broken_probe() -> HardwareInfo:
        raise OSError("/proc/meminfo: permission denied")

    window = make_model_window(hardware=HardwareProbe(broken_probe))
    open_start(window, qtbot)
    page = window.first_run
    qtbot.waitUntil(lambda: "Could not check" in page.recommendationLabel.text(), timeout=WAIT_MS)
    assert "permission denied" in page.reasonLabel.text()
    assert not page.downloadButton.isEnabled() and page.importButton.isEnabled()
    assert page.buildButton.isEnabled()
