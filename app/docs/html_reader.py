"""HTML with the standard library's parser: visible text, sections at h1-h6 headings.

Scripts, styles and other invisible elements are skipped; block elements end a line.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from .document import Document, Section

_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head"})
_BLOCK_WORDS = (
    "p div br li ul ol tr table section article header footer nav aside pre blockquote dd "
    "dt dl figcaption h1 h2 h3 h4 h5 h6 hr main form td th"
)
_BLOCK = frozenset(_BLOCK_WORDS.split())
_HEADINGS = {f"h{i}": i for i in range(1, 7)}


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[Section] = []
        self.title = ""
        self._trail: list[tuple[int, str]] = []
        self._parts: list[str] = []
        self._skip = 0
        self._in_title = False
        self._heading: tuple[int, list[str]] | None = None

    def _flush(self) -> None:
        lines = [" ".join(x.split()) for x in "".join(self._parts).split("\n")]
        body = "\n".join(x for x in lines if x)
        if body:
            heading = " > ".join(t for _, t in self._trail) or None
            self.sections.append(Section(body, None, heading))
        self._parts = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "title":
            self._in_title = True
        if tag in _SKIP:
            self._skip += 1
        elif tag in _HEADINGS and not self._skip:
            self._flush()
            self._heading = (_HEADINGS[tag], [])
        if tag in _BLOCK:
            self._parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _HEADINGS and self._heading is not None:
            level, words = self._heading
            title = " ".join("".join(words).split())
            self._heading = None
            if title:
                while self._trail and self._trail[-1][0] >= level:
                    self._trail.pop()
                self._trail.append((level, title))
                self._parts.append(title + "\n")
        if tag in _BLOCK:
            self._parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._skip:
            return
        if self._heading is not None:
            self._heading[1].append(data)
        else:
            self._parts.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def read_html(path: Path, text: str) -> Document:
    """The visible text of an HTML page as sections under its headings."""
    parser = _Extractor()
    parser.feed(text)
    parser.close()
    title = " ".join(parser.title.split()) or None
    return Document(path, "html", tuple(parser.sections), title=title)
