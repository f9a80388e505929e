"""Read a file into a ``Document``: PDF, DOCX, Markdown, HTML, plain text and source code.

``read_document(path)`` picks the reader by extension and raises a ``DocumentError`` subclass
(unsupported type, encrypted, damaged, no text) that names the file, so a folder's indexing
reports it and goes on. Text files are decoded as UTF-8 (a BOM is honoured), else as cp1252.
"""

from __future__ import annotations

import re
from pathlib import Path

from .document import Document, Section
from .errors import CorruptDocumentError, DocumentError, NoTextError, UnsupportedFileError

MARKDOWN = frozenset({".md", ".markdown", ".mdown", ".mkd", ".mdx"})
HTML = frozenset({".html", ".htm", ".xhtml"})
TEXT = frozenset({".txt", ".text", ".log", ".rst", ".org", ".tex", ".csv", ".tsv", ".adoc"})
_CODE_WORDS = (
    ".py .pyi .js .jsx .ts .tsx .java .kt .kts .scala .go .rs .c .h .cc .cpp .cxx .hpp .hh "
    ".cs .swift .m .mm .rb .php .pl .pm .lua .r .jl .sh .bash .zsh .ps1 .bat .sql .css "
    ".scss .less .vue .svelte .dart .ex .exs .erl .hs .ml .clj .el .vim .toml .yaml .yml "
    ".ini .cfg .json .xml .cmake .gradle .proto .graphql .tf .nix .zig"
)
CODE = frozenset(_CODE_WORDS.split())
NAMED_CODE = frozenset({"makefile", "dockerfile", "cmakelists.txt", "justfile", "rakefile"})
SUPPORTED = frozenset({".pdf", ".docx"}) | MARKDOWN | HTML | TEXT | CODE
MAX_TEXT_BYTES = 64 * 1024 * 1024  # a text or code file larger than this is refused
# A top-level definition in common languages starts a new section of a code file.
_CODE_DEF = re.compile(
    r"^(?:export\s+|pub\s+|public\s+|async\s+|static\s+)*"
    r"(?:def|class|function|fn|func|struct|impl|interface|enum|trait|module|type)\s+\w+"
)
_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def is_supported(path: Path) -> bool:
    """Whether a reader exists for ``path`` (by extension or well-known name)."""
    return path.suffix.lower() in SUPPORTED or path.name.lower() in NAMED_CODE


def read_document(path: str | Path) -> Document:
    """The text of ``path`` as sections with page and heading; raises ``DocumentError``s."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        from .pdf import read_pdf

        return read_pdf(path)
    if suffix == ".docx":
        from .office import read_docx

        return read_docx(path)
    if not is_supported(path):
        raise UnsupportedFileError(
            path,
            f"{path.name}: files of type {suffix or '(none)'} cannot be read",
            "add PDF, DOCX, Markdown, HTML, text or source code files",
        )
    text = read_text_file(path)
    if suffix in HTML:
        from .html_reader import read_html

        return _nonempty(read_html(path, text))
    if suffix in MARKDOWN:
        return _nonempty(Document(path, "markdown", tuple(markdown_sections(text))))
    if suffix in TEXT:
        pages = text.split("\f")  # form feeds are page breaks in plain text
        if len(pages) > 1:
            sections = tuple(Section(p, i + 1) for i, p in enumerate(pages) if p.strip())
            return _nonempty(Document(path, "text", sections, pages=len(pages)))
        return _nonempty(Document(path, "text", (Section(text),)))
    return _nonempty(Document(path, "code", tuple(code_sections(text))))


def _nonempty(doc: Document) -> Document:
    if not any(s.text.strip() for s in doc.sections):
        raise NoTextError(doc.path, f"{doc.path.name} holds no text")
    return doc


def read_text_file(path: Path) -> str:
    """Decode a text file (UTF-8 with or without BOM, else cp1252); refuse binary files."""
    try:
        size = path.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise UnsupportedFileError(
                path,
                f"{path.name} is too large for a text file ({size / 1e6:.0f} MB)",
                "split it into smaller files",
            )
        data = path.read_bytes()
    except DocumentError:
        raise
    except OSError as exc:
        raise CorruptDocumentError(path, f"{path.name} cannot be read ({exc.strerror})") from exc
    if b"\x00" in data[:8192]:
        raise UnsupportedFileError(
            path, f"{path.name} looks like a binary file", "add text, PDF or DOCX files"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def markdown_sections(text: str) -> list[Section]:
    """Split Markdown at its headings (ATX ``#`` and setext underlines, not inside code
    fences); each section's heading is the path of headings above it ("Install > Linux")."""
    sections: list[Section] = []
    trail: list[tuple[int, str]] = []
    lines: list[str] = []
    fence: str | None = None

    def flush() -> None:
        body = "\n".join(lines).strip()
        if body:
            sections.append(Section(body, None, " > ".join(t for _, t in trail) or None))
        lines.clear()

    def open_heading(level: int, title: str) -> None:
        flush()
        while trail and trail[-1][0] >= level:
            trail.pop()
        trail.append((level, title))
        lines.append(title)  # the heading's words belong to its section's text too

    for line in text.splitlines():
        marker = _FENCE.match(line)
        if marker:
            fence = None if fence and marker.group(1)[0] == fence else fence or marker.group(1)[0]
        match = None if fence else _ATX.match(line)
        if match:
            open_heading(len(match.group(1)), match.group(2).strip())
        elif (
            fence is None
            and lines
            and lines[-1].strip()
            and re.fullmatch(r" {0,3}(=+|-+)\s*", line)
            and not _ATX.match(lines[-1])
        ):
            title = lines.pop().strip()
            open_heading(1 if line.strip()[0] == "=" else 2, title)
        else:
            lines.append(line)
    flush()
    return sections


def code_sections(text: str) -> list[Section]:
    """Split source code at top-level definitions; a section's heading is its definition line."""
    sections: list[Section] = []
    heading: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        if _CODE_DEF.match(line) and lines and any(x.strip() for x in lines):
            sections.append(Section("\n".join(lines).strip("\n"), None, heading))
            lines = []
        if _CODE_DEF.match(line):
            heading = line.strip().rstrip(":{").strip()[:120]
        lines.append(line)
    if any(x.strip() for x in lines):
        sections.append(Section("\n".join(lines).strip("\n"), None, heading))
    return sections
