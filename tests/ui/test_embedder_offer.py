"""The Documents dialog offers the catalogue's embedding model while none is installed: the
Download button queues it in the window's download queue (the fake Hub on 127.0.0.1 serving
MiniLM under BGE small's repository and file name), progress is shown, and once installed the
offer goes away and a new collection is made with it."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.docs.catalogue import default_embedder_entry
from app.docs.installed import installed_embedder
from app.models import DownloadManager, ModelRegistry
from app.models.catalogue import default_catalogue_path
from app.paths import app_paths
from app.ui.common.notices import NoticeBridge
from app.ui.docs.documents_dialog import DocumentsDialog
from app.ui.docs.manager import DocsManager
from app.ui.models.download_queue import DownloadQueue
from tests.docs.conftest import minilm_gguf  # noqa: F401 (a fixture)
from tests.fixtures.fake_hub import FakeHub, isolate_from_hub

WAIT_MS = 60_000
SHOTS = Path(os.environ.get("QWQ_SCREENSHOTS", "/tmp/qwq-docs-shots"))
EMBEDDER = default_embedder_entry()


@pytest.fixture
def hub(monkeypatch, tmp_path, minilm_gguf):  # noqa: F811
    """MiniLM served as BGE small; the catalogue entry carries its sha256 and size."""
    isolate_from_hub(monkeypatch, tmp_path)
    data = minilm_gguf.read_bytes()
    catalogue = json.loads(default_catalogue_path().read_text(encoding="utf-8"))
    for entry in catalogue["embedders"]:
        if entry["id"] == EMBEDDER.id:
            entry["sha256"] = hashlib.sha256(data).hexdigest()
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(catalogue), encoding="utf-8")
    monkeypatch.setattr("app.models.catalogue.default_catalogue_path", lambda: path)
    with FakeHub() as fake:
        fake.add_repo(EMBEDDER.repo_id, {EMBEDDER.filename: data})
        monkeypatch.setenv("HF_ENDPOINT", fake.endpoint)
        yield fake


@pytest.fixture
def dialog(qtbot, hub, isolated_home):
    paths = app_paths().ensure()
    registry = ModelRegistry(paths)
    notices = NoticeBridge()
    queue = DownloadQueue(registry, DownloadManager(registry), notices)
    manager = DocsManager(paths.docs_index_dir, notices, paths)
    widget = DocumentsDialog(manager, downloads=queue)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.close()
    manager.shutdown()
    queue.shutdown()


def shot(widget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(SHOTS / f"{name}.png"))


def test_the_embedder_is_offered_downloaded_and_used_by_new_collections(dialog, hub, qtbot):
    offer = dialog.embedder_offer
    assert offer.isVisible() and offer.download_button.isVisible()
    assert offer.label.text() == (
        "Keyword search only. Download BGE small (67 MB) for search by meaning"
    )
    dialog.create_collection("Before")
    qtbot.waitUntil(lambda: dialog.current() == "Before", timeout=WAIT_MS)
    shot(dialog, "embedder-offer")
    texts = []

    def seen(task):
        texts.append(offer.label.text())
        if texts[-1].startswith("BGE small: Downloading") and offer.progress.isVisible():
            shot(dialog, "embedder-downloading")

    offer.queue.taskChanged.connect(seen)
    qtbot.mouseClick(offer.download_button, Qt.MouseButton.LeftButton)
    assert not offer.download_button.isVisible() and offer.progress.isVisible()
    qtbot.waitUntil(lambda: offer.done, timeout=WAIT_MS)
    assert any(t.startswith("BGE small: Downloading") for t in texts), texts
    path = installed_embedder(dialog.manager.paths)
    assert path is not None and Path(path).name == EMBEDDER.filename
    assert hub.body_requests(EMBEDDER.filename)
    assert offer.isVisible() and not offer.download_button.isVisible()
    assert offer.label.text().startswith("BGE small is installed: new collections search by")
    shot(dialog, "embedder-installed")

    dialog.create_collection("After")
    qtbot.waitUntil(lambda: "After" in dialog.manager.names(), timeout=WAIT_MS)
    library = dialog.manager.library
    assert library.get("After").embedder_info.path == path
    assert library.get("Before").embedder_info is None
    offer.done = False  # the dialog opened again later: nothing more to offer
    offer.refresh()
    assert not offer.isVisible()


def test_no_offer_without_a_download_queue(qtbot, hub, isolated_home):
    paths = app_paths().ensure()
    manager = DocsManager(paths.docs_index_dir, NoticeBridge(), paths)
    widget = DocumentsDialog(manager)
    qtbot.addWidget(widget)
    widget.show()
    assert not widget.embedder_offer.isVisible()
    widget.close()
    manager.shutdown()
