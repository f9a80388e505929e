"""The Models page offers a catalogue model's draft model for download ("Faster replies: ...")
through the shared download queue (the fake Hub on 127.0.0.1), then lists it as a draft."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.models import DownloadManager, ModelRegistry, hypothetical_hardware, import_gguf
from app.models.catalogue import load_catalogue
from app.models.install import install_download
from app.paths import app_paths
from app.sizes import format_bytes
from app.ui.models.download_queue import DownloadQueue
from app.ui.models.installed_page import InstalledModelsPage
from tests.fixtures.fake_hub import FakeHub, isolate_from_hub
from tests.models.helpers import DRAFT_FILE, DRAFT_REPO, write_draft_catalogue

WAIT_MS = 30_000
REPO, FILE = "org/tiny-GGUF", "tiny-f32.gguf"


@pytest.fixture
def hub(monkeypatch, tmp_path, tiny_answer_gguf, tiny_loop_gguf):
    """The Hub stand-in serving the tiny model and its draft; the catalogue naming both."""
    isolate_from_hub(monkeypatch, tmp_path)
    target, draft = tiny_answer_gguf.read_bytes(), tiny_loop_gguf.read_bytes()
    with FakeHub() as fake:
        fake.add_repo(REPO, {FILE: target})
        fake.add_repo(DRAFT_REPO, {DRAFT_FILE: draft})
        monkeypatch.setenv("HF_ENDPOINT", fake.endpoint)
        path = write_draft_catalogue(tmp_path / "catalogue.json", REPO, FILE, target, draft)
        yield fake, load_catalogue(path)


@pytest.fixture
def page(qtbot, hub):
    _, catalogue = hub
    registry = ModelRegistry(app_paths().ensure())
    install_download(registry, REPO, FILE, catalogue=catalogue)
    queue = DownloadQueue(registry, DownloadManager(registry, catalogue=catalogue))
    widget = InstalledModelsPage(
        registry, hardware=hypothetical_hardware(16), downloads=queue, catalogue=catalogue
    )
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()
    queue.shutdown()


def test_the_draft_model_is_offered_downloaded_and_then_listed_as_a_draft(page, hub, qtbot):
    fake, catalogue = hub
    offer = page.draftOffer
    draft = catalogue.get("tiny-draft-f32")
    assert offer.isVisible()
    assert offer.label.text().startswith(
        f"Faster replies: download its draft model (Tiny Draft, "
        f"{format_bytes(draft.approx_size_bytes)})"
    )
    assert page.draftCombo.count() == 2  # no other model installed to draft with
    qtbot.mouseClick(offer.downloadButton, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not offer.isVisible(), timeout=WAIT_MS)
    installed = page.registry.get("tiny-draft-f32")
    assert installed.repo_id == DRAFT_REPO and installed.sha256
    assert fake.body_requests(DRAFT_FILE)
    page.select("tiny-f32")
    combo = page.draftCombo
    assert combo.itemText(2).startswith("Draft model: tiny-draft-f32")
    assert combo.itemData(2) == installed.path


def test_no_offer_for_a_model_the_catalogue_names_no_draft_for(page, tiny_loop_gguf):
    import_gguf(page.registry, tiny_loop_gguf, name="not-in-catalogue")
    page.refresh()
    page.select("not-in-catalogue")
    assert not page.draftOffer.isVisible()
    page.select("tiny-f32")
    assert page.draftOffer.isVisible()
    page.registry.remove("tiny-f32", delete_file=False)
    page.registry.remove("not-in-catalogue", delete_file=False)
    page.refresh()
    assert not page.draftOffer.isVisible()
