"""The first-run screen with pytest-qt (offscreen): from an empty data folder to a model that
loads, through each of the three ways, and the faults ending in a clear message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.engine import ChatEngine
from app.models import ModelRegistry, TaskState, hypothetical_hardware, load_catalogue
from app.models.build_runner import quantize_command
from app.paths import app_paths
from app.ui.models.download_queue import DownloadQueue, describe_task
from app.ui.models.first_run import FirstRunPage
from tests.fixtures.fake_hub import closed_endpoint
from tests.fixtures.qt_strict import QT_STRICT, no_leaked_threads  # noqa: F401 - fixture
from tests.models.helpers import write_tiny_catalogue, write_unknown_arch_gguf

pytestmark = [*QT_STRICT, pytest.mark.usefixtures("no_leaked_threads")]

LAUNCHER = Path(__file__).resolve().parents[2] / "packaging" / "launcher.py"
REPO = "org/tiny-GGUF"
FILE = "tiny-f32.gguf"
WAIT_MS = 30_000


@pytest.fixture
def tiny_bytes(tiny_answer_gguf):
    return tiny_answer_gguf.read_bytes()


@pytest.fixture
def catalogue(tmp_path, tiny_bytes):
    return load_catalogue(write_tiny_catalogue(tmp_path / "catalogue.json", REPO, FILE, tiny_bytes))


@pytest.fixture
def page(qtbot, catalogue):
    registry = ModelRegistry(app_paths().ensure())
    bridge = DownloadQueue(registry)
    bridge.manager.catalogue = catalogue
    widget = FirstRunPage(registry, bridge, catalogue=catalogue, hardware=hypothetical_hardware(16))
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()
    bridge.shutdown()


def test_the_recommendation_and_its_reason_are_shown(page):
    assert "Recommended for this computer: Tiny QwQ F32" in page.recommendationLabel.text()
    assert page.reasonLabel.text().startswith("16 GB RAM: Tiny QwQ F32 with 4K context fits")
    assert page.downloadButton.isEnabled() and not page.progressBar.isVisible()


def test_download_from_an_empty_data_folder_to_a_loaded_model(page, qtbot, fake_hub, tiny_bytes):
    fake_hub.add_repo(REPO, {FILE: tiny_bytes})
    assert page.registry.is_empty()
    with qtbot.waitSignal(page.modelReady, timeout=WAIT_MS) as ready:
        qtbot.mouseClick(page.downloadButton, pytest.importorskip("PySide6.QtCore").Qt.LeftButton)
    [name] = ready.args
    model = page.registry.get(name)
    assert page.statusLabel.text() == "Downloaded and verified"
    assert page.progressBar.value() == 1000
    engine = ChatEngine.load(model.path, model.settings.to_load_options(for_gui=False))
    try:
        assert engine.facts.architecture == "qwen2" and engine.plan.n_ctx == 4096
    finally:
        engine.close()


def test_pause_and_resume_from_the_page(page, qtbot, fake_hub, tiny_bytes):
    fake_hub.add_repo(REPO, {FILE: tiny_bytes})
    fake_hub.throttle(600_000)
    page.start_download()
    qtbot.waitUntil(lambda: page.task.done_bytes > 100_000, timeout=WAIT_MS)
    page.pauseButton.click()
    qtbot.waitUntil(lambda: page.task.state == TaskState.PAUSED, timeout=WAIT_MS)
    assert page.pauseButton.text() == "Resume" and page.statusLabel.text().startswith("Paused")
    fake_hub.throttle(None)
    with qtbot.waitSignal(page.modelReady, timeout=WAIT_MS):
        page.pauseButton.click()
    assert fake_hub.body_requests(FILE)[-1].range_start > 100_000


def test_a_download_paused_in_an_earlier_session_is_offered_again(
    qtbot, fake_hub, tiny_bytes, catalogue, page
):
    fake_hub.add_repo(REPO, {FILE: tiny_bytes})
    fake_hub.throttle(600_000)
    page.start_download()
    qtbot.waitUntil(lambda: page.task.done_bytes > 100_000, timeout=WAIT_MS)
    page.bridge.shutdown()  # the app closes mid-download

    bridge = DownloadQueue(page.registry)
    bridge.manager.catalogue = catalogue
    again = FirstRunPage(
        page.registry, bridge, catalogue=catalogue, hardware=hypothetical_hardware(16)
    )
    qtbot.addWidget(again)
    try:
        assert again.task is not None and again.task.state == TaskState.PAUSED
        assert again.pauseButton.text() == "Resume" and not again.downloadButton.isEnabled()
        fake_hub.throttle(None)
        with qtbot.waitSignal(again.modelReady, timeout=WAIT_MS):
            again.pauseButton.click()
    finally:
        again.shutdown()
        bridge.shutdown()


def test_offline_download_says_so_and_leaves_no_file(page, qtbot, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", closed_endpoint())
    page.start_download()
    qtbot.waitUntil(lambda: page.notice_bar.text() != "", timeout=WAIT_MS)
    assert "Cannot reach the Hugging Face Hub" in page.notice_bar.text()
    assert page.pauseButton.text() == "Resume"  # it can be tried again
    assert not list(page.registry.paths.models_dir.rglob("*.gguf"))


def test_importing_a_gguf_file(page, qtbot, tiny_answer_gguf):
    with qtbot.waitSignal(page.modelReady, timeout=WAIT_MS) as ready:
        page.import_file(tiny_answer_gguf, copy=True)
    model = page.registry.get(ready.args[0])
    assert model.source == "copy" and model.sha256
    assert "Added" in page.statusLabel.text()


def test_importing_an_unsupported_model_shows_why(page, qtbot, tmp_path):
    odd = write_unknown_arch_gguf(tmp_path / "odd.gguf")
    job = page.import_file(odd)
    with qtbot.waitSignal(job.errored, timeout=WAIT_MS):
        pass
    assert "'notanarch'" in page.notice_bar.text()
    assert page.registry.is_empty() and page.importButton.isEnabled()


def test_building_it_myself_runs_the_quantisation_tool(page, qtbot, fake_hub, tmp_path):
    from quantize.validation.texts import EVALUATION_TEXT
    from tests.fixtures.hf_repo import HFRepoSpec, write_hf_repo

    spec = HFRepoSpec(hidden=256, n_ff=512, n_head=4, n_kv_head=2, learned_text=EVALUATION_TEXT)
    repo = write_hf_repo(tmp_path / "QwQ-tiny", spec)
    fake_hub.add_repo("Qwen/QwQ-tiny", {p.name: p.read_bytes() for p in repo.path.iterdir()})
    with qtbot.waitSignal(page.modelReady, timeout=120_000) as ready:
        page.start_build("Qwen/QwQ-tiny", work_dir=tmp_path / "work", extra_args=("--threads", "2"))
    model = page.registry.get(ready.args[0])
    assert model.quant == "Q4_K_M" and model.source == "copy"
    assert model.path.startswith(str(page.registry.paths.models_dir / "built"))
    log = page.buildLog.toPlainText()
    assert "Result: PASSED" in log and "Adding it to your models" in log
    assert not (tmp_path / "work" / "qwq-tiny-q4_k_m.gguf").exists()  # moved, not copied


def test_a_failing_build_shows_the_tools_typed_error(page, qtbot, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", closed_endpoint())
    job = page.start_build("Qwen/QwQ-missing")
    with qtbot.waitSignal(job.ended, timeout=60_000):
        pass
    # the tool's HubOfflineError, message and hint, across the process boundary as data
    assert "Cannot reach the Hugging Face Hub" in page.notice_bar.text()
    assert "Check the internet connection" in page.notice_bar.text()
    assert page.notice_bar.kind == "error" and page.buildButton.isEnabled()


def packaged_app_stand_in(folder: Path) -> str:
    """An executable that behaves as the packaged `qwq-desktop` binary: the bundle's entry
    point (packaging/launcher.py) run by this Python."""
    app = folder / "qwq-desktop"
    app.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{LAUNCHER}" "$@"\n', encoding="utf-8")
    app.chmod(0o755)
    return str(app)


def test_the_build_command_is_the_app_s_quantize_subcommand(monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)  # what PyInstaller sets
    packaged = "/opt/QwQ Desktop/qwq-desktop"
    assert quantize_command(["all", "Qwen/QwQ-32B"], executable=packaged) == [
        packaged,
        "quantize",
        "all",
        "Qwen/QwQ-32B",
    ]
    monkeypatch.delattr(sys, "frozen")
    assert quantize_command(["all", "Qwen/QwQ-32B"]) == [
        sys.executable,
        *("-m", "app.cli", "quantize", "all", "Qwen/QwQ-32B"),
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in for the binary is a sh script")
@pytest.mark.parametrize("frozen", [False, True], ids=["from-source", "packaged"])
def test_the_build_command_reaches_the_pipeline_for_real(frozen, tmp_path):
    executable = packaged_app_stand_in(tmp_path) if frozen else sys.executable
    argv = quantize_command(["all", "--help"], executable=executable, frozen=frozen)
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: qwq-quantize all")
    assert "--type" in result.stdout and "--dir" in result.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in for the binary is a sh script")
def test_the_packaged_app_builds_through_its_own_executable(page, qtbot, monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", closed_endpoint())
    page.executable = packaged_app_stand_in(tmp_path)
    job = page.start_build("Qwen/QwQ-missing")
    argv = page.build_panel.runner.argv
    assert argv[0] == page.executable
    assert argv[1:4] == ["quantize", "all", "Qwen/QwQ-missing"]
    with qtbot.waitSignal(job.ended, timeout=60_000):
        pass
    assert "Cannot reach" in page.notice_bar.text()  # the pipeline ran and said why not


def test_describe_task_in_words():
    from app.models import DownloadTask

    task = DownloadTask(
        "t",
        REPO,
        FILE,
        state=TaskState.RUNNING,
        phase="downloading",
        done_bytes=8_980_000_000,
        total_bytes=19_850_000_000,
        speed=52.3e6,
        eta=208,
    )
    assert describe_task(task) == "45% · 8.98 GB of 19.85 GB · 52.3 MB/s · 3 min 28 s left"


def serve_slow_repo(fake_hub, tmp_path) -> None:
    """A tiny repository whose shards take seconds to download, so a stop lands mid-fetch."""
    import dataclasses

    from quantize.validation.texts import EVALUATION_TEXT
    from tests.fixtures.hf_repo import HFRepoSpec, write_hf_repo

    spec = HFRepoSpec(hidden=256, n_ff=1024, n_head=4, n_kv_head=2, n_layer=4)
    spec = dataclasses.replace(spec, learned_text=EVALUATION_TEXT)
    repo = write_hf_repo(tmp_path / "QwQ-tiny", spec)
    fake_hub.add_repo("Qwen/QwQ-tiny", {p.name: p.read_bytes() for p in repo.path.iterdir()})
    fake_hub.throttle(2_000_000)


def fetching(page) -> bool:
    return page.buildProgress.format().startswith("fetch") and page.buildProgress.value() > 0


def test_stop_building_lets_the_tool_stop_cleanly(page, qtbot, fake_hub, tmp_path):
    from app.ui.models.build_panel import STOPPED_TEXT

    serve_slow_repo(fake_hub, tmp_path)
    work = tmp_path / "work"
    job = page.start_build("Qwen/QwQ-tiny", work_dir=work, extra_args=("--threads", "2"))
    qtbot.waitUntil(lambda: fetching(page), timeout=60_000)
    with qtbot.waitSignal(job.ended, timeout=60_000):
        qtbot.mouseClick(page.stopBuildButton, Qt.MouseButton.LeftButton)
    runner = page.build_panel.runner
    assert runner.exit_code == 130 and not runner.killed  # it stopped by itself, not killed
    assert STOPPED_TEXT in page.buildLog.toPlainText()
    assert not page.notice_bar.isVisible() and page.buildButton.isEnabled()
    assert not list(work.rglob("*.partial")) and not (work / ".qwq-quantize.cancel").exists()


def test_closing_mid_build_stops_the_tool_and_every_thread(page, qtbot, fake_hub, tmp_path):
    serve_slow_repo(fake_hub, tmp_path)
    work = tmp_path / "work"
    page.start_build("Qwen/QwQ-tiny", work_dir=work, extra_args=("--threads", "2"))
    qtbot.waitUntil(lambda: fetching(page), timeout=60_000)
    page.shutdown()  # what closing the window does; the fixture checks no thread is left
    runner = page.build_panel.runner
    assert not runner.running and runner.exit_code == 130 and not runner.killed
    assert not list(work.rglob("*.partial"))
