"""DOCX with python-docx (MIT): paragraphs and tables in document order, headings by style.

A DOCX has no fixed pages (they depend on the viewer's layout), so its sections carry no page;
each carries the path of headings above it ("Safety > Batteries").
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from .document import Document, Section
from .errors import CorruptDocumentError, NoTextError


def _heading_level(style_name: str) -> int | None:
    name = (style_name or "").strip().lower()
    if name == "title":
        return 0
    if name.startswith("heading"):
        tail = name[len("heading") :].strip()
        return int(tail) if tail.isdigit() else 1
    return None


def read_docx(path: Path) -> Document:
    """Text of a .docx; raises CorruptDocumentError (damaged, or an encrypted Office file,
    which is not a zip) or NoTextError."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise CorruptDocumentError(
            path,
            f"{path.name} is damaged, password-protected or not a Word document",
            "open it in a word processor and save an unprotected .docx copy",
        ) from exc
    sections: list[Section] = []
    trail: list[tuple[int, str]] = []
    lines: list[str] = []

    def flush() -> None:
        body = "\n".join(lines).strip()
        if body:
            sections.append(Section(body, None, " > ".join(t for _, t in trail) or None))
        lines.clear()

    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = block.text.strip()
            level = _heading_level(block.style.name if block.style is not None else "")
            if level is not None and text:
                flush()
                while trail and trail[-1][0] >= level:
                    trail.pop()
                trail.append((level, text))
            if text:
                lines.append(text)
        elif isinstance(block, Table):
            for row in block.rows:
                cells = [c.text.strip() for c in row.cells]
                unique = [c for i, c in enumerate(cells) if c and c not in cells[:i]]
                if unique:
                    lines.append(" | ".join(unique))
    flush()
    if not sections:
        raise NoTextError(path, f"{path.name} holds no text")
    title = (document.core_properties.title or "").strip() or None
    return Document(path, "docx", tuple(sections), title=title)
