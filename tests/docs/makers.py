"""Real documents written by the tests: PDFs (hand-written PDF 1.4 with the standard Helvetica
font, optional outline, encrypted or image-only variants), DOCX (python-docx), Markdown, HTML.

The PDF writer is the smallest correct PDF: one content stream per page with ``Tj`` text
lines, a cross-reference table with exact offsets. PDFium reads it like any other PDF.
"""

from __future__ import annotations

import textwrap
from pathlib import Path


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def write_pdf(
    path: Path,
    pages: list[str | None],
    outline: list[tuple[str, int]] = (),
    encrypted: bool = False,
) -> Path:
    """A PDF whose page i (1-based) holds ``pages[i-1]`` wrapped to lines; None makes a page
    with a filled rectangle and no text (as a scan has). ``outline``: (title, 1-based page)."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below
    pages_id = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    page_ids = []
    for text in pages:
        if text is None:
            ops = b"0.5 g 72 300 468 400 re f"
        else:
            lines = [ln for para in text.split("\n") for ln in (textwrap.wrap(para, 90) or [""])]
            ops = (
                b"BT /F1 11 Tf 14 TL 72 740 Td "
                + b" ".join(b"(" + _escape(line) + b") Tj T*" for line in lines)
                + b" ET"
            )
        content = add(b"<< /Length %d >>\nstream\n" % len(ops) + ops + b"\nendstream")
        page_ids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] "
                b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
                % (pages_id, font, content)
            )
        )
    kids = b" ".join(b"%d 0 R" % i for i in page_ids)
    objects[pages_id - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_ids))
    outline_ref = b""
    if outline:
        root = add(b"")
        items = [add(b"") for _ in outline]
        for n, (title, page) in enumerate(outline):
            links = b""
            if n > 0:
                links += b" /Prev %d 0 R" % items[n - 1]
            if n + 1 < len(items):
                links += b" /Next %d 0 R" % items[n + 1]
            objects[items[n] - 1] = (
                b"<< /Title ("
                + _escape(title)
                + b") /Parent %d 0 R /Dest [%d 0 R /Fit]%s >>" % (root, page_ids[page - 1], links)
            )
        objects[root - 1] = b"<< /Type /Outlines /First %d 0 R /Last %d 0 R /Count %d >>" % (
            items[0],
            items[-1],
            len(items),
        )
        outline_ref = b" /Outlines %d 0 R" % root
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R%s >>" % (pages_id, outline_ref)
    trailer_extra = b""
    if encrypted:  # the standard handler with a user password that the empty one does not match
        enc = add(
            b"<< /Filter /Standard /V 1 /R 2 /O <"
            + b"ab" * 32
            + b"> /U <"
            + b"cd" * 32
            + b"> /P -44 >>"
        )
        trailer_extra = b" /Encrypt %d 0 R /ID [<%s> <%s>]" % (enc, b"01" * 16, b"01" * 16)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        catalog,
        trailer_extra,
        xref,
    )
    path.write_bytes(bytes(out))
    return path


def write_docx(path: Path, blocks: list[tuple[str, str]]) -> Path:
    """A DOCX from (kind, text) blocks: kind "h1".."h3", "p", or "table" (rows split by
    "\\n", cells by "|")."""
    import docx

    document = docx.Document()
    for kind, text in blocks:
        if kind.startswith("h"):
            document.add_heading(text, level=int(kind[1:]))
        elif kind == "table":
            rows = [r.split("|") for r in text.split("\n")]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
        else:
            document.add_paragraph(text)
    document.save(str(path))
    return path
