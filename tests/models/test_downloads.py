"""The download queue against the fake Hub: install, queue, pause/resume (also across a
restart), cancel, and failures that end in a readable state."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest

from app.models import (
    DownloadManager,
    LoadSettings,
    ModelRegistry,
    TaskState,
    UnsupportedModelError,
    load_catalogue,
)
from app.models.catalogue import default_catalogue_path
from app.paths import app_paths
from quantize.hub import HubAuthError, HubOfflineError, list_repo_files, partial_path
from tests.models.helpers import write_unknown_arch_gguf

REPO = "org/tiny-GGUF"
FILE = "tiny-q4.gguf"


@pytest.fixture
def registry():
    return ModelRegistry(app_paths().ensure())


@pytest.fixture
def tiny_bytes(tiny_answer_gguf):
    return tiny_answer_gguf.read_bytes()


@pytest.fixture
def served(fake_hub, tiny_bytes):
    fake_hub.add_repo(REPO, {FILE: tiny_bytes, "other.gguf": tiny_bytes + b"\0" * 32})
    return fake_hub


@pytest.fixture
def catalogue(tmp_path, tiny_bytes):
    """A catalogue whose one entry is the served tiny model, with its published sha256."""
    shipped = json.loads(default_catalogue_path().read_text())
    family = dict(shipped["families"]["qwq-32b"], name="Tiny")
    data = {
        "primary_family": "tiny",
        "families": {"tiny": family},
        "files": [
            {
                "id": "tiny-q4",
                "family": "tiny",
                "quant": "Q4_K_M",
                "repo_id": REPO,
                "filename": FILE,
                "approx_size_bytes": len(tiny_bytes),
                "sha256": hashlib.sha256(tiny_bytes).hexdigest(),
            }
        ],
    }
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(data))
    return load_catalogue(path)


class Recorder:
    """Collects task updates; can pause or cancel a task once enough bytes arrived."""

    def __init__(self) -> None:
        self.updates = []
        self.manager: DownloadManager | None = None
        self.stop_at: int | None = None
        self.action = "pause"
        self._done = False

    def __call__(self, task) -> None:
        self.updates.append(task)
        if (
            self.stop_at is not None
            and not self._done
            and task.state == TaskState.RUNNING
            and task.done_bytes >= self.stop_at
        ):
            self._done = True
            # from the worker thread, as a GUI click would arrive from another thread
            threading.Thread(target=getattr(self.manager, self.action), args=(task.id,)).start()


@pytest.fixture
def make_manager(registry, catalogue):
    managers = []

    def make(recorder: Recorder | None = None) -> DownloadManager:
        manager = DownloadManager(registry, catalogue=catalogue, listener=recorder)
        if recorder is not None:
            recorder.manager = manager
        managers.append(manager)
        return manager

    yield make
    for manager in managers:
        manager.shutdown()


def test_a_catalogue_download_is_verified_installed_and_reported(
    served, make_manager, registry, catalogue, tiny_bytes
):
    recorder = Recorder()
    manager = make_manager(recorder)
    settings = LoadSettings(n_ctx=2048)
    task = manager.enqueue_entry(catalogue.get("tiny-q4"), settings)
    done = manager.wait(task.id, timeout=30)
    assert done.state == TaskState.DONE and done.model_name == "tiny-q4"
    model = registry.get("tiny-q4")
    assert model.path == str(registry.paths.models_dir / REPO / FILE)
    assert model.sha256 == hashlib.sha256(tiny_bytes).hexdigest()
    assert model.commit_sha == list_repo_files(REPO).commit_sha
    assert (model.settings, model.source, model.catalogue_id) == (settings, "download", "tiny-q4")
    states = [u.state for u in recorder.updates]
    assert states[0] == TaskState.QUEUED and TaskState.RUNNING in states
    assert states[-1] == TaskState.DONE
    assert not list(registry.paths.downloads_dir.rglob("*.part"))


def test_several_downloads_run_one_after_the_other(served, make_manager, registry):
    served.throttle(4_000_000)
    manager = make_manager()
    first = manager.enqueue(REPO, FILE)
    assert manager.enqueue(REPO, FILE).id == first.id  # no duplicates
    second = manager.enqueue(REPO, "other.gguf")
    assert manager.wait(second.id, timeout=30).state == TaskState.DONE
    assert manager.task(first.id).state == TaskState.DONE
    assert sorted(m.name for m in registry.list()) == ["other", "tiny-q4"]
    gets = [r for r in served.requests if r.server == "cdn" and r.method == "GET"]
    assert [r.file for r in gets] == [FILE, "other.gguf"]


def test_pause_and_resume_continue_from_the_bytes_on_disk(served, make_manager, tiny_bytes):
    served.throttle(1_000_000)
    recorder = Recorder()
    recorder.stop_at = 300_000
    manager = make_manager(recorder)
    task = manager.enqueue(REPO, FILE)
    paused = manager.wait(task.id, timeout=30)
    assert paused.state == TaskState.PAUSED and paused.speed is None
    part = partial_path(app_paths().downloads_dir / REPO, list_repo_files(REPO).file(FILE))
    kept = part.stat().st_size
    assert kept >= 300_000

    served.throttle(None)
    manager.resume(task.id)
    assert manager.wait(task.id, timeout=30).state == TaskState.DONE
    last = served.body_requests(FILE)[-1]
    assert (last.range_start, last.body_bytes) == (kept, len(tiny_bytes) - kept)
    assert any(u.speed for u in recorder.updates if u.state == TaskState.RUNNING)


def test_a_paused_download_survives_a_restart_of_the_app(served, make_manager, tiny_bytes):
    served.throttle(1_000_000)
    recorder = Recorder()
    recorder.stop_at = 200_000
    first = make_manager(recorder)
    task = first.enqueue(REPO, FILE)
    assert first.wait(task.id, timeout=30).state == TaskState.PAUSED
    first.shutdown()

    served.throttle(None)
    second = make_manager()
    restored = second.task(task.id)
    assert restored.state == TaskState.PAUSED and restored.done_bytes >= 200_000
    second.resume(task.id)
    assert second.wait(task.id, timeout=30).state == TaskState.DONE
    assert served.body_requests(FILE)[-1].range_start >= 200_000


def test_a_running_download_interrupted_by_shutdown_is_resumable(served, make_manager):
    served.throttle(500_000)
    recorder = Recorder()
    manager = make_manager(recorder)
    task = manager.enqueue(REPO, FILE)
    from tests.fixtures.fake_hub import wait_until

    assert wait_until(lambda: manager.task(task.id).done_bytes > 100_000)
    manager.shutdown()
    assert manager.task(task.id).state == TaskState.PAUSED
    assert make_manager().task(task.id).state == TaskState.PAUSED


def test_cancel_deletes_the_partial_file(served, make_manager, registry):
    served.throttle(1_000_000)
    recorder = Recorder()
    recorder.stop_at, recorder.action = 200_000, "cancel"
    manager = make_manager(recorder)
    task = manager.enqueue(REPO, FILE)
    assert manager.wait(task.id, timeout=30).state == TaskState.CANCELLED
    assert not list(registry.paths.downloads_dir.rglob("*.part"))
    assert registry.is_empty()


def test_a_queued_download_can_be_paused_and_cancelled_before_it_starts(served, make_manager):
    served.throttle(1_000_000)
    manager = make_manager()
    running = manager.enqueue(REPO, FILE)
    waiting = manager.enqueue(REPO, "other.gguf")
    manager.pause(waiting.id)
    assert manager.task(waiting.id).state == TaskState.PAUSED
    manager.cancel(waiting.id)
    assert manager.task(waiting.id).state == TaskState.CANCELLED
    manager.cancel(running.id)
    assert manager.wait(running.id, timeout=30).state == TaskState.CANCELLED


def test_offline_ends_as_a_failed_task_with_the_reason(make_manager, monkeypatch):
    from tests.fixtures.fake_hub import closed_endpoint

    monkeypatch.setenv("HF_ENDPOINT", closed_endpoint())
    manager = make_manager()
    failed = manager.wait(manager.enqueue(REPO, FILE).id, timeout=30)
    assert failed.state == TaskState.FAILED and isinstance(failed.error, HubOfflineError)
    assert "Cannot reach" in failed.error.message and failed.error.hint


def test_a_gated_repo_fails_with_what_to_do(fake_hub, make_manager, tiny_bytes):
    fake_hub.add_repo("meta/gated", {FILE: tiny_bytes}, gated=True, tokens=("hf_ok",))
    manager = make_manager()
    failed = manager.wait(manager.enqueue("meta/gated", FILE).id, timeout=30)
    assert isinstance(failed.error, HubAuthError) and "HF_TOKEN" in str(failed.error)


def test_a_model_llama_cpp_cannot_run_is_not_installed(fake_hub, make_manager, registry, tmp_path):
    odd = write_unknown_arch_gguf(tmp_path / "odd.gguf").read_bytes()
    fake_hub.add_repo("org/odd", {"odd.gguf": odd})
    manager = make_manager()
    failed = manager.wait(manager.enqueue("org/odd", "odd.gguf").id, timeout=30)
    assert isinstance(failed.error, UnsupportedModelError) and "notanarch" in str(failed.error)
    assert registry.is_empty() and not list(registry.paths.models_dir.rglob("*.gguf"))


def test_a_corrupted_transfer_is_repaired_by_the_second_download(
    served, make_manager, registry, tiny_bytes
):
    served.corrupt_byte(FILE, 1000)
    manager = make_manager()
    assert manager.wait(manager.enqueue(REPO, FILE).id, timeout=30).state == TaskState.DONE
    assert (registry.paths.models_dir / REPO / FILE).read_bytes() == tiny_bytes
    assert served.served_bytes(FILE) == 2 * len(tiny_bytes)


def test_a_failed_task_keeps_its_typed_error_across_a_restart(make_manager, monkeypatch):
    from tests.fixtures.fake_hub import closed_endpoint

    monkeypatch.setenv("HF_ENDPOINT", closed_endpoint())
    manager = make_manager()
    failed = manager.wait(manager.enqueue(REPO, FILE).id, timeout=30)
    manager.shutdown()
    restored = make_manager().task(failed.id)
    assert restored.state == TaskState.FAILED and restored.error.expected
    assert (restored.error.message, restored.error.hint) == (
        failed.error.message,
        failed.error.hint,
    )
