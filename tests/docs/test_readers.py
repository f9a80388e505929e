"""Readers: text with pages and headings from real files, typed per-file errors."""

from __future__ import annotations

import pytest

from app.docs.chunker import approx_tokens, chunk_sections
from app.docs.document import Section
from app.docs.errors import (
    CorruptDocumentError,
    EncryptedDocumentError,
    NoTextError,
    UnsupportedFileError,
)
from app.docs.pdf import render_pdf_page
from app.docs.readers import read_document
from tests.docs.conftest import FACTS
from tests.docs.makers import write_pdf


def flat(text: str) -> str:
    return " ".join(text.split())


def test_pdf_pages_are_one_based_and_headings_come_from_the_outline(corpus):
    doc = read_document(corpus / "manual.pdf")
    assert doc.kind == "pdf" and doc.pages == 6
    by_page = {s.page: s for s in doc.sections}
    assert FACTS["pump"][2] in flat(by_page[3].text)
    assert by_page[3].heading == "Maintenance" and by_page[1].heading == "Overview"
    assert FACTS["fuse"][2] in flat(by_page[5].text)


def test_pdf_problems_are_typed_per_file(tmp_path):
    with pytest.raises(EncryptedDocumentError) as info:
        read_document(write_pdf(tmp_path / "secret.pdf", ["classified"], encrypted=True))
    assert info.value.path.name == "secret.pdf" and info.value.hint
    with pytest.raises(NoTextError, match="no text layer"):
        read_document(write_pdf(tmp_path / "scan.pdf", [None, None]))
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    with pytest.raises(CorruptDocumentError):
        read_document(tmp_path / "broken.pdf")


def test_image_pages_are_skipped_but_text_pages_kept(tmp_path):
    doc = read_document(write_pdf(tmp_path / "mixed.pdf", [None, "Text on page two."]))
    assert [(s.page, s.text) for s in doc.sections] == [(2, "Text on page two.")]


def test_render_page_for_the_source_panel(corpus):
    page = render_pdf_page(corpus / "manual.pdf", 3, scale=0.5)
    assert (page.width, page.height) == (306, 396)
    assert len(page.data) == page.stride * page.height and page.data[3] == 255


def test_docx_headings_and_tables(corpus):
    doc = read_document(corpus / "policy.docx")
    assert doc.kind == "docx" and doc.pages is None
    headings = [s.heading for s in doc.sections]
    assert headings == ["Warranty", "Warranty > Returns"]
    assert FACTS["warranty"][2] in doc.sections[0].text
    assert "Filter | 12 EUR" in doc.sections[1].text


def test_markdown_headings_ignore_code_fences(corpus):
    doc = read_document(corpus / "care.md")
    assert [s.heading for s in doc.sections] == ["Care", "Care > Optics"]
    assert "# not a heading" in doc.sections[1].text


def test_html_visible_text_only(corpus):
    doc = read_document(corpus / "specs.html")
    assert doc.title == "Specs"
    assert doc.sections[0].heading == "Flight limits"
    assert "var x" not in doc.text and FACTS["altitude"][2] in doc.text


def test_text_code_and_unsupported(tmp_path):
    (tmp_path / "notes.txt").write_text("first page\fsecond page", encoding="utf-8")
    assert [s.page for s in read_document(tmp_path / "notes.txt").sections] == [1, 2]
    (tmp_path / "tool.py").write_text(
        "import os\n\ndef alpha():\n    pass\n\nclass Beta:\n    x = 1\n"
    )
    headings = [s.heading for s in read_document(tmp_path / "tool.py").sections]
    assert headings == [None, "def alpha()", "class Beta"]
    (tmp_path / "latin.txt").write_bytes("caf\xe9".encode("cp1252"))
    assert read_document(tmp_path / "latin.txt").text == "café"
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(UnsupportedFileError):
        read_document(tmp_path / "photo.jpg")
    (tmp_path / "blob.txt").write_bytes(b"abc\x00def")
    with pytest.raises(UnsupportedFileError, match="binary"):
        read_document(tmp_path / "blob.txt")


def test_chunks_are_bounded_overlap_and_keep_page_and_heading():
    sentences = [
        f"Sentence number {i} talks about topic {i % 7} in some detail." for i in range(80)
    ]
    section = Section(" ".join(sentences), page=4, heading="Topics")
    chunks = chunk_sections([section, Section("Short.", 5, None)], size=60, overlap=15)
    assert all(c.tokens <= 60 for c in chunks)
    assert all(c.page == 4 and c.heading == "Topics" for c in chunks[:-1])
    assert (chunks[-1].page, chunks[-1].text) == (5, "Short.")
    for first, second in zip(chunks, chunks[1:-1], strict=False):
        assert first.text.split(". ")[-1] in second.text  # consecutive chunks overlap
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert approx_tokens("Hello, world!") == 6  # two 5-letter words (2 each), two marks
