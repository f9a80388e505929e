"""What a reader gives: a document as sections of text, each with its page and heading."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Section:
    """A run of text sharing one page (1-based; None where pages do not apply) and heading."""

    text: str
    page: int | None = None
    heading: str | None = None


@dataclass(frozen=True)
class Document:
    """A file's text. ``kind`` is "pdf", "docx", "markdown", "html", "text" or "code";
    ``pages`` is the page count of paged formats (PDF), else None."""

    path: Path
    kind: str
    sections: tuple[Section, ...]
    pages: int | None = None
    title: str | None = None

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.sections)
