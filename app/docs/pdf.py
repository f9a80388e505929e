"""PDF text per page and page rendering, with pypdfium2 (PDFium).

PDFium is not thread-safe: every use goes through ``PDFIUM_LOCK``, so the indexer's worker and
a GUI rendering a page for the source panel may both call in here. Headings come from the
PDF's outline (bookmarks) where it has one: each page takes the last entry at or before it.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium

from .document import Document, Section
from .errors import CorruptDocumentError, EncryptedDocumentError, NoTextError

PDFIUM_LOCK = threading.RLock()
_PASSWORD_ERROR = 4  # FPDF_ERR_PASSWORD
_JUNK = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class RenderedPage:
    """A page as RGBA pixels (``stride`` bytes per row), ready for ``QImage(..., RGBA8888)``."""

    width: int
    height: int
    stride: int
    data: bytes


def _open(path: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == _PASSWORD_ERROR or "password" in str(exc).lower():
            raise EncryptedDocumentError(
                path,
                f"{path.name} is password-protected",
                "save an unprotected copy (print to PDF) and add that instead",
            ) from exc
        raise CorruptDocumentError(
            path,
            f"{path.name} is damaged or not a PDF ({exc})",
            "open it in a PDF viewer; if it opens there, save a new copy and add that",
        ) from exc
    except OSError as exc:
        raise CorruptDocumentError(path, f"{path.name} cannot be read ({exc})") from exc


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _JUNK.sub("", text).strip()


def _outline(pdf: pdfium.PdfDocument) -> list[tuple[int, str]]:
    """(0-based page index, title) of the outline's entries, in page order."""
    entries = []
    try:
        for item in pdf.get_toc(max_depth=4):
            dest = item.get_dest()
            index = dest.get_index() if dest is not None else None
            title = " ".join((item.get_title() or "").split())
            if index is not None and title:
                entries.append((int(index), title))
    except pdfium.PdfiumError:
        return []
    return sorted(entries, key=lambda e: e[0])


def read_pdf(path: Path) -> Document:
    """Text of each page (1-based pages). Raises EncryptedDocumentError, CorruptDocumentError,
    or NoTextError for a PDF with no text layer at all (scanned images)."""
    with PDFIUM_LOCK:
        pdf = _open(path)
        try:
            outline = _outline(pdf)
            sections, heading, entry = [], None, 0
            n_pages = len(pdf)
            for index in range(n_pages):
                while entry < len(outline) and outline[entry][0] <= index:
                    heading = outline[entry][1]
                    entry += 1
                page = pdf[index]
                try:
                    textpage = page.get_textpage()
                    try:
                        text = _clean(textpage.get_text_range())
                    finally:
                        textpage.close()
                finally:
                    page.close()
                if text:
                    sections.append(Section(text, index + 1, heading))
        except pdfium.PdfiumError as exc:
            raise CorruptDocumentError(path, f"{path.name} is damaged ({exc})") from exc
        finally:
            pdf.close()
    if not sections:
        raise NoTextError(
            path,
            f"{path.name} has no text layer ({n_pages} page(s) of images only)",
            "run text recognition (OCR) on it, for example with ocrmypdf, and add the result",
        )
    return Document(path, "pdf", tuple(sections), pages=n_pages)


def render_pdf_page(path: str | Path, page: int, scale: float = 1.5) -> RenderedPage:
    """Render ``page`` (1-based) of a PDF for the source panel; thread-safe."""
    path = Path(path)
    with PDFIUM_LOCK:
        pdf = _open(path)
        try:
            if not 1 <= page <= len(pdf):
                raise CorruptDocumentError(path, f"{path.name} has no page {page}")
            handle = pdf[page - 1]
            try:
                bitmap = handle.render(scale=scale, rev_byteorder=True, fill_color=(255,) * 4)
                try:
                    pixels = bitmap.to_numpy()[:, :, :3]  # RGB, or RGBx for an opaque fill
                    alpha = np.full(pixels.shape[:2] + (1,), 255, np.uint8)
                    pixels = np.concatenate([pixels, alpha], axis=2)
                    height, width = pixels.shape[:2]
                    return RenderedPage(width, height, width * 4, pixels.tobytes())
                finally:
                    bitmap.close()
            finally:
                handle.close()
        finally:
            pdf.close()
