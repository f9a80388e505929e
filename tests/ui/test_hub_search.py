"""Searching the Hub for GGUF models from the GUI, against the local Hub stand-in: a search
finds a repository, its GGUF files come with the planner's verdict, Download installs one
verified; nothing is sent before Search; offline ends in a message; a newer search (or
listing) supersedes the previous one, whose late answer is dropped."""

from __future__ import annotations

import hashlib
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QLineEdit,
    QToolButton,
    QWidget,
)

from app.models import DownloadManager, ModelRegistry, hypothetical_hardware, load_catalogue
from app.paths import app_paths
from app.sizes import format_bytes
from app.ui.common.hardware_probe import CHECKING_TEXT, HardwareProbe
from app.ui.models.download_queue import DownloadQueue
from app.ui.models.hub_files import (
    describe_file,
    file_verdict,
    match_family,
    parse_quant,
    split_part,
)
from app.ui.models.hub_search import HubSearchDialog
from quantize.hub import RemoteFile
from tests.fixtures.fake_hub import FakeHub, isolate_from_hub
from tests.models.helpers import write_tiny_catalogue

REPO = "org/tiny-qwq-GGUF"
FILE = "tiny-f32.gguf"
SPLIT = "tiny-big-00001-of-00002.gguf"
PROJECTOR = "mmproj-tiny-f16.gguf"
WAIT_MS = 30_000


@pytest.fixture(autouse=True)
def hub_environment(monkeypatch, tmp_path):
    """No test may reach the real Hub: the endpoint refuses connections until a test says
    otherwise; short timeouts; no token or proxy."""
    isolate_from_hub(monkeypatch, tmp_path)


@pytest.fixture
def tiny_bytes(tiny_answer_gguf):
    return tiny_answer_gguf.read_bytes()


@pytest.fixture
def fake_hub(monkeypatch, tiny_bytes):
    """The Hub stand-in: a GGUF repository (a chat model, a split part, a vision projector,
    a README), another GGUF repository and a repository without GGUF files."""
    with FakeHub() as hub:
        hub.add_repo(
            REPO,
            {FILE: tiny_bytes, SPLIT: b"part" * 100, PROJECTOR: b"proj" * 100, "README.md": b"#"},
        )
        hub.add_repo("org/llama-GGUF", {"llama-Q4_K_M.gguf": b"llama" * 100})
        hub.add_repo("org/tiny-qwq-safetensors", {"model.safetensors": b"weights" * 100})
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        yield hub


@pytest.fixture
def catalogue(tmp_path, tiny_bytes):
    return load_catalogue(write_tiny_catalogue(tmp_path / "catalogue.json", REPO, FILE, tiny_bytes))


@pytest.fixture
def dialog(qtbot, catalogue):
    registry = ModelRegistry(app_paths().ensure())
    bridge = DownloadQueue(registry, DownloadManager(registry, catalogue=catalogue))
    widget = HubSearchDialog(
        registry, bridge, catalogue=catalogue, hardware=hypothetical_hardware(16)
    )
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()
    bridge.shutdown()


def search_requests(hub: FakeHub) -> list[dict[str, list[str]]]:
    return [
        parse_qs(urlsplit(r.url).query)
        for r in hub.requests
        if urlsplit(r.url).path == "/api/models"
    ]


def cells(model, row: int) -> list[str]:
    return [model.data(model.index(row, c)) for c in range(model.columnCount())]


def search(dialog, qtbot, text: str) -> None:
    """Type ``text`` into the search field and press Enter."""
    dialog.queryEdit.clear()
    qtbot.keyClicks(dialog.queryEdit, text)
    qtbot.keyClick(dialog.queryEdit, Qt.Key.Key_Return)


# -- the dialog ---------------------------------------------------------------------------------


def test_search_lists_gguf_files_and_download_installs_one_verified(
    dialog, qtbot, fake_hub, tiny_bytes
):
    qtbot.wait(50)
    assert fake_hub.requests == []  # opening the dialog sends nothing

    with qtbot.waitSignal(dialog.searchFinished, timeout=WAIT_MS) as found:
        search(dialog, qtbot, "tiny-qwq")
    assert found.args == ["tiny-qwq"]
    assert [h.repo_id for h in dialog.results_model.hits] == [REPO]  # no GGUF, no hit
    [query] = search_requests(fake_hub)
    assert query["search"] == ["tiny-qwq"] and query["filter"] == ["gguf"]
    assert "1 GGUF repository" in dialog.statusLabel.text()

    with qtbot.waitSignal(dialog.filesListed, timeout=WAIT_MS):
        qtbot.keyClick(dialog.resultsTable, Qt.Key.Key_Down)  # choose the repository
    qtbot.keyClick(dialog.resultsTable, Qt.Key.Key_Return)  # on to its files, no new search
    assert len(search_requests(fake_hub)) == 1 and dialog.filesTable.hasFocus()
    model = dialog.files_model
    assert [f.path for f in model.files] == [FILE, SPLIT, PROJECTOR]  # README left out
    assert cells(model, 0) == [FILE, "F32", format_bytes(len(tiny_bytes)), "Fits · 4K context", ""]
    assert cells(model, 1)[3] == "Part 1 of 2" and cells(model, 2)[3] == "Vision add-on"

    dialog.filesTable.setCurrentIndex(model.index(1, 0))
    assert not dialog.downloadButton.isEnabled()  # split parts cannot be loaded alone
    assert "gguf-split" in dialog.verdictLabel.text()
    dialog.filesTable.setCurrentIndex(model.index(0, 0))
    assert dialog.verdictLabel.text().startswith("4K context, f16 KV cache, CPU: needs")
    assert dialog.downloadButton.isEnabled() and dialog.downloadButton.text() == "Download"

    with qtbot.waitSignal(dialog.modelInstalled, timeout=WAIT_MS) as installed:
        qtbot.keyClick(dialog.downloadButton, Qt.Key.Key_Space)
    [name] = installed.args
    stored = dialog.registry.get(name)
    target = dialog.registry.paths.models_dir / REPO / FILE
    assert stored.source == "download" and stored.path == str(target.resolve())
    assert stored.sha256 == hashlib.sha256(tiny_bytes).hexdigest()
    assert target.read_bytes() == tiny_bytes
    assert stored.settings.n_ctx == 4096  # the planner's settings for a catalogue file
    pinned = f"/{REPO}/resolve/{fake_hub.repos[REPO].branches['main']}/{FILE}"
    assert any(r.url == pinned for r in fake_hub.requests)  # the listed commit, not "main"
    assert cells(model, 0)[4] == "Installed"
    assert not dialog.downloadButton.isEnabled() and dialog.loadButton.isVisible()
    assert dialog.downloadLabel.text() == f"Installed as {name}."
    with qtbot.waitSignal(dialog.loadRequested) as load:
        dialog.loadButton.click()
    assert load.args == [name]


def test_a_repository_chosen_before_the_hardware_probe_returns_is_listed_after(
    qtbot, catalogue, fake_hub
):
    release = threading.Event()

    def slow_probe():
        release.wait(10)
        return hypothetical_hardware(16)

    registry = ModelRegistry(app_paths().ensure())
    bridge = DownloadQueue(registry, DownloadManager(registry, catalogue=catalogue))
    dialog = HubSearchDialog(
        registry, bridge, catalogue=catalogue, hardware=HardwareProbe(slow_probe)
    )
    qtbot.addWidget(dialog)
    try:
        dialog.show()
        with qtbot.waitSignal(dialog.searchFinished, timeout=WAIT_MS):
            search(dialog, qtbot, "tiny-qwq")  # searching needs no verdicts
        dialog.resultsTable.setCurrentIndex(dialog.results_model.index(0, 0))
        assert dialog.statusLabel.text() == CHECKING_TEXT and dialog.files_model.listing is None
        with qtbot.waitSignal(dialog.filesListed, timeout=WAIT_MS):
            release.set()
        assert cells(dialog.files_model, 0)[3] == "Fits · 4K context"
    finally:
        release.set()
        dialog.shutdown()
        dialog.probe.shutdown()
        bridge.shutdown()


@pytest.mark.parametrize("offline_mode", [False, True], ids=["hub-unreachable", "HF_HUB_OFFLINE"])
def test_offline_ends_in_a_message(dialog, qtbot, monkeypatch, offline_mode):
    if offline_mode:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    search(dialog, qtbot, "qwq")
    assert "Searching the Hub" in dialog.statusLabel.text()
    qtbot.waitUntil(lambda: dialog.statusLabel.objectName() == "ErrorLabel", timeout=5_000)
    text = dialog.statusLabel.text()
    if offline_mode:
        assert text.startswith("Offline mode is on (HF_HUB_OFFLINE)")
    else:
        assert text.startswith("Cannot reach the Hugging Face Hub at 127.0.0.1:")
        assert "connection refused" in text and "check the internet connection" in text.lower()
    assert dialog.results_model.hits == [] and dialog.searchButton.isEnabled()


def test_a_new_search_supersedes_the_previous_one(dialog, qtbot, fake_hub):
    shown: list[str] = []
    dialog.searchFinished.connect(shown.append)
    for text in ("tiny-qwq", "l", "ll", "llama"):  # faster than any answer
        dialog.queryEdit.setText(text)
        dialog.search()
    qtbot.waitUntil(lambda: bool(shown) and not dialog.searches.busy, timeout=WAIT_MS)
    qtbot.wait(100)
    assert shown == ["llama"]  # the answer for "tiny-qwq" came late and was dropped
    assert [h.repo_id for h in dialog.results_model.hits] == ["org/llama-GGUF"]
    # one request in flight at a time: a superseded search that had not started yet was never
    # sent, so at most the one in flight when "llama" was asked for went out before it
    sent = [q["search"] for q in search_requests(fake_hub)]
    assert sent[-1] == ["llama"] and len(sent) <= 2

    # a listing still in flight when a new search starts is dropped too
    listed: list[str] = []
    dialog.filesListed.connect(listed.append)
    dialog.resultsTable.setCurrentIndex(dialog.results_model.index(0, 0))
    with qtbot.waitSignal(dialog.searchFinished, timeout=WAIT_MS):
        search(dialog, qtbot, "tiny-qwq")
    qtbot.waitUntil(lambda: not dialog.listings.busy, timeout=WAIT_MS)
    qtbot.wait(100)
    assert listed == [] and dialog.files_model.listing is None
    assert [h.repo_id for h in dialog.results_model.hits] == [REPO]


def test_keyboard_order_and_accessible_names(dialog):
    chain = [dialog.queryEdit]
    while len(chain) < 6:
        chain.append(chain[-1].nextInFocusChain())
        while not chain[-1].focusPolicy() & Qt.FocusPolicy.TabFocus or chain[-1].isHidden():
            chain[-1] = chain[-1].nextInFocusChain()
    assert chain[:5] == [
        dialog.queryEdit,
        dialog.searchButton,
        dialog.resultsTable,
        dialog.filesTable,
        dialog.downloadButton,
    ]
    unnamed = [
        f"{type(w).__name__} {w.objectName()!r}"
        for w in dialog.findChildren(QWidget)
        if isinstance(w, (QAbstractButton, QLineEdit, QAbstractItemView))
        and w.focusPolicy() != Qt.FocusPolicy.NoFocus
        and not w.accessibleName()
        and not (isinstance(w, QAbstractButton) and w.text())  # its text names it
    ]
    assert unnamed == []


def test_the_pages_open_the_dialog(window, qtbot, monkeypatch):
    window.show_first_run()
    qtbot.mouseClick(window.first_run.searchHubButton, Qt.MouseButton.LeftButton)
    hub = window.model_pages.hub_search
    assert hub is not None and hub.isVisible()
    hub.close()
    window.show_models()
    [button] = [
        b
        for b in window.model_pages.models_page.findChildren(QToolButton)
        if b.text() == "Search the Hub…"
    ]
    button.click()
    assert hub.isVisible() and window.model_pages.hub_search is hub
    hub.close()
    qtbot.keyClick(
        window,
        Qt.Key.Key_H,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert hub.isVisible()


# -- what the files are and whether they fit (no Qt) ------------------------------------------


@pytest.mark.parametrize(
    ("name", "quant"),
    [
        ("Qwen_QwQ-32B-Q4_K_M.gguf", "Q4_K_M"),
        ("qwq-32b-q8_0.gguf", "Q8_0"),
        ("model-IQ2_XXS.gguf", "IQ2_XXS"),
        ("QwQ-32B-UD-Q4_K_XL.gguf", "Q4_K_XL"),
        ("qwq-32b.fp16.gguf", "F16"),
        ("llama-bf16-00001-of-00002.gguf", "BF16"),
        ("no-quant-here.gguf", None),
    ],
)
def test_parse_quant(name, quant):
    assert parse_quant(name) == quant


def test_split_parts_and_families():
    catalogue = load_catalogue()
    assert split_part("x-00002-of-00017.gguf") == (2, 17) and split_part("x-q4_k_m.gguf") is None
    family = match_family(catalogue, "bartowski/Qwen_QwQ-32B-GGUF", "Qwen_QwQ-32B-Q4_K_M.gguf")
    assert family is not None and family.id == "qwq-32b"
    assert match_family(catalogue, "someone/Mistral-7B-GGUF", "mistral-7b.Q4_K_M.gguf") is None


def test_verdicts_come_from_the_planner():
    catalogue = load_catalogue()
    qwq = RemoteFile("Qwen_QwQ-32B-Q4_K_M.gguf", 19_850_000_000)
    repo = "bartowski/Qwen_QwQ-32B-GGUF"
    on_32 = file_verdict(repo, qwq, catalogue, hypothetical_hardware(32))
    assert on_32.fits and on_32.short == "Fits · 32K context"
    assert on_32.detail.startswith("Planned as QwQ-32B (by its name): 32K context")
    assert on_32.settings is None  # a guess by name: the header decides at load time
    on_16 = file_verdict(repo, qwq, catalogue, hypothetical_hardware(16))
    assert on_16.fits is False and on_16.short == "Does not fit" and "Q3_K_M" in on_16.detail
    official = file_verdict(
        "Qwen/QwQ-32B-GGUF",
        RemoteFile("qwq-32b-q4_k_m.gguf", 19_850_000_000),
        catalogue,
        hypothetical_hardware(32),
    )
    assert official.settings is not None and official.settings.n_ctx == 32768

    unknown = file_verdict("a/b", RemoteFile("b-Q4_K_M.gguf", 4_700_000_000), catalogue, hw16())
    assert unknown.fits and unknown.short == "Weights fit"
    too_big = file_verdict("a/b", RemoteFile("b-F16.gguf", 40_000_000_000), catalogue, hw16())
    assert too_big.fits is False and "exceed" in too_big.detail
    unsized = describe_file("a/b", RemoteFile("b-Q4_K_M.gguf", None), catalogue, hw16())
    assert unsized.verdict.fits is None and unsized.downloadable


def hw16():
    return hypothetical_hardware(16)


def test_a_hub_that_never_answers_ends_in_a_message(dialog, qtbot, monkeypatch):
    from tests.fixtures.fake_hub import silent_endpoint

    with silent_endpoint() as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        search(dialog, qtbot, "qwq")
        qtbot.keyClicks(dialog.queryEdit, "-32b")  # the window stays responsive meanwhile
        assert dialog.queryEdit.text() == "qwq-32b"
        qtbot.waitUntil(lambda: dialog.statusLabel.objectName() == "ErrorLabel", timeout=8_000)
    assert "no answer in time" in dialog.statusLabel.text()
