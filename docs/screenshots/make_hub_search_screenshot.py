"""Render the "Search the Hub" dialog with QWidget.grab() into hub-search.png.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/make_hub_search_screenshot.py

Nothing is sent anywhere: the dialog is given a search answer and a file listing directly
(the same methods its background searches call), on a throw-away home, for a described 32 GB
laptop without a GPU and the shipped catalogue. The repository names are real GGUF
repositories; their download and like counts are sample figures, the file sizes those of the
catalogue.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from app.models import (  # noqa: E402
    DownloadManager,
    ModelRegistry,
    hypothetical_hardware,
    load_catalogue,
)
from app.paths import app_paths  # noqa: E402
from app.ui.common.theme import apply_theme  # noqa: E402
from app.ui.models.download_queue import DownloadQueue  # noqa: E402
from app.ui.models.hub_files import RepoListing, describe_file  # noqa: E402
from app.ui.models.hub_search import HubSearchDialog  # noqa: E402
from quantize.hub import RemoteFile, RepoSummary  # noqa: E402
from tests.fixtures.fake_hub import closed_endpoint  # noqa: E402

HITS = [  # sample popularity figures
    RepoSummary("Qwen/QwQ-32B-GGUF", 48_200, 690),
    RepoSummary("bartowski/Qwen_QwQ-32B-GGUF", 31_500, 240),
    RepoSummary("unsloth/QwQ-32B-GGUF", 22_900, 180),
    RepoSummary("lmstudio-community/QwQ-32B-GGUF", 12_400, 60),
    RepoSummary("mradermacher/QwQ-32B-i1-GGUF", 3_100, 12),
]


def _spin(app: QApplication, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def main() -> int:
    app = QApplication([sys.argv[0]])
    apply_theme(app, "light", 11)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["QWQ_DESKTOP_HOME"] = str(Path(tmp) / "home")
        os.environ.pop("HF_ENDPOINT", None)  # the note names huggingface.co ...
        catalogue = load_catalogue()
        hardware = hypothetical_hardware(32)
        registry = ModelRegistry(app_paths().ensure())
        bridge = DownloadQueue(registry, DownloadManager(registry, catalogue=catalogue))
        dialog = HubSearchDialog(registry, bridge, catalogue=catalogue, hardware=hardware)
        os.environ["HF_ENDPOINT"] = closed_endpoint()  # ... but nothing can reach it
        dialog.show()
        dialog.queryEdit.setText("qwq")
        dialog.show_results("qwq", HITS)
        selection = dialog.resultsTable.selectionModel()
        selection.blockSignals(True)  # choosing the row would ask the Hub for its files
        dialog.resultsTable.selectRow(0)
        selection.blockSignals(False)
        repo = HITS[0].repo_id
        files = [
            describe_file(repo, RemoteFile(e.filename, e.approx_size_bytes), catalogue, hardware)
            for e in catalogue.entries
            if e.repo_id == repo
        ]
        dialog.show_listing(RepoListing(repo, "0" * 40, tuple(files)))
        dialog.select_file(files[0].path)
        _spin(app, 0.5)
        path = OUT / "hub-search.png"
        dialog.grab().save(str(path))
        dialog.shutdown()
        bridge.shutdown()
        dialog.close()
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
