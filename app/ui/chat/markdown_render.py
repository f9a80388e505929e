"""Markdown to the HTML subset Qt's rich text engine draws, with Pygments-highlighted code blocks.

Raw HTML in a message is shown as text, never interpreted, and images are shown as links: model
output cannot make the app load files. Each code block gets a header with its language and a
``copy-code:N`` link (N counts code blocks from the top of the message). Given the sources of a
grounded answer, its citation markers ("[1]", "[1, 2]", "[1][2]") become ``source:N`` links for
the numbers that have a source; code and existing links are left alone.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache

import pygments
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

from app.ui.common.theme import Colors

COPY_SCHEME = "copy-code"
CITE_SCHEME = "source"
# "[1]", "[1, 2]", "[1,2,3]": a citation marker (adjacent markers, "[1][2]", match one by one)
CITATION_MARKER = re.compile(r"\[(\d{1,3}(?:[ \t]*,[ \t]*\d{1,3})*)\]")
_NUMBER = re.compile(r"\d+")
MONO_FAMILY = "'DejaVu Sans Mono', 'Menlo', 'Consolas', monospace"
_FENCE_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_FENCE_CLOSE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t\r]*$")
_HEADING = re.compile(r"^#{1,6}(?:[ \t]|$)")


@dataclass(frozen=True)
class Rendered:
    """A rendered fragment and how many code blocks it contains."""

    html: str
    code_blocks: int
    cited: tuple[int, ...] = ()  # the source numbers linked, in order of first use


def document_css(c: Colors) -> str:
    """Default stylesheet for a message document (Qt supports a CSS subset)."""
    return (
        f"body {{ color: {c.text}; }}"
        "p { margin-top: 0px; margin-bottom: 10px; }"
        "h1 { font-size: x-large; margin-top: 8px; margin-bottom: 8px; }"
        "h2 { font-size: large; margin-top: 8px; margin-bottom: 6px; }"
        "h3, h4, h5, h6 { font-size: medium; margin-top: 6px; margin-bottom: 4px; }"
        "ul, ol { margin-top: 0px; margin-bottom: 10px; }"
        "li { margin-bottom: 3px; }"
        f"a {{ color: {c.link}; text-decoration: none; }}"
        f"blockquote {{ color: {c.muted}; margin-left: 14px; margin-top: 0px; }}"
        f"pre {{ font-family: {MONO_FAMILY}; margin: 0px; }}"
        f"code {{ font-family: {MONO_FAMILY}; background-color: {c.inline_code_bg}; }}"
    )


@lru_cache(maxsize=4)
def _formatter(style: str) -> HtmlFormatter:
    return HtmlFormatter(nowrap=True, noclasses=True, style=style)


@lru_cache(maxsize=64)
def _lexer(lang: str):
    try:
        return get_lexer_by_name(lang, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False, ensurenl=False)


def highlight_code(code: str, lang: str, c: Colors) -> str:
    """HTML spans for ``code`` highlighted as ``lang`` (plain text when unknown)."""
    if not lang:
        return html.escape(code)
    return _strip_background(highlight(code, _lexer(lang.lower()), _formatter(c.pygments_style)))


def lexer_for(lang: str):
    """The Pygments lexer ``highlight_code`` uses for ``lang`` (None: plain text)."""
    return _lexer(lang.lower()) if lang else None


def token_html(ttype, text: str, c: Colors) -> str:
    """``text`` as ``highlight_code`` writes a token of type ``ttype``."""
    return _strip_background(pygments.format([(ttype, text)], _formatter(c.pygments_style)))


def _strip_background(out: str) -> str:
    # Pygments may paint a background per token; the block's own background looks cleaner.
    return re.sub(r"background-color: ?#[0-9a-fA-F]{3,8};? ?", "", out)


class MarkdownRenderer:
    """Render Markdown for one colour theme. Not thread-safe; create one per thread."""

    def __init__(self, colors: Colors) -> None:
        self.colors = colors
        md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
        md.enable(["table", "strikethrough"])
        # markdown-it binds rules to its renderer, so they read the colours from ``env``.
        md.add_render_rule("fence", _fence)
        md.add_render_rule("code_block", _fence)
        md.add_render_rule("code_inline", _code_inline)
        md.add_render_rule("table_open", _table_open)
        md.add_render_rule("th_open", _cell_open)
        md.add_render_rule("td_open", _cell_open)
        md.add_render_rule("image", _image)
        md.add_render_rule("hr", _hr)
        # before text_join, so escaped brackets ("\\[1\\]") stay apart and are not markers
        md.core.ruler.before("text_join", "citations", _link_citations)
        self._md = md

    def render(
        self, text: str, first_code_index: int = 0, citations: dict[int, str] | None = None
    ) -> Rendered:
        """Render ``text``; code-block copy links are numbered from ``first_code_index``.

        ``citations`` maps source numbers to their tooltip ("Source 1: b.pdf, page 3"): markers
        citing them become ``source:N`` links; markers citing other numbers stay text.
        """
        env = {"code_index": first_code_index, "colors": self.colors, "citations": citations}
        env["cited"] = {}
        out = self._md.render(text, env)
        return Rendered(out, env["code_index"] - first_code_index, tuple(env["cited"]))

    def code_blocks(self, text: str) -> list[str]:
        """The contents of every code block in ``text``, in order (what the copy links copy)."""
        return [t.content for t in self._md.parse(text) if t.type in ("fence", "code_block")]


# -- citation markers ---------------------------------------------------------------------------


def _link_citations(state: StateCore) -> None:
    """Split the text tokens holding citation markers into text and ``source:N`` links (not
    inside a link, and never in code, which is not text)."""
    citations = state.env.get("citations")
    if not citations:
        return
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        in_link = 0
        for token in block.children:
            in_link += {"link_open": 1, "link_close": -1}.get(token.type, 0)
            if token.type == "text" and not in_link and "[" in token.content:
                children.extend(_split_markers(token.content, state.env))
            else:
                children.append(token)
        block.children = children


def _split_markers(text: str, env: dict) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    for match in CITATION_MARKER.finditer(text):
        linked = citation_html(match[0], env["citations"], env["colors"], env["cited"])
        if linked is None:
            continue
        if match.start() > pos:
            tokens.append(_token("text", text[pos : match.start()]))
        tokens.append(_token("html_inline", linked))
        pos = match.end()
    if pos < len(text):
        tokens.append(_token("text", text[pos:]))
    return tokens


def _token(kind: str, content: str) -> Token:
    return Token(kind, "", 0, content=content)


def citation_html(
    marker: str, citations: dict[int, str], c: Colors, cited: dict[int, None] | None = None
) -> str | None:
    """``marker`` ("[2]", "[1, 2]") in a small font, each number that has a source as its link
    (the brackets go with the first and last numbers); None when it cites no known source."""
    numbers = list(_NUMBER.finditer(marker))
    if any(m[0].startswith("0") for m in numbers):  # "[2,000]" is an amount, not citations
        return None
    known = [int(m[0]) in citations for m in numbers]
    if not any(known):
        return None
    # the commas of a marker citing only known sources take the links' colour
    colour = f" color: {c.link};" if all(known) else ""
    out, pos = [f'<span style="font-size: small;{colour}">'], 0
    for i, number in enumerate(numbers):
        start = 0 if i == 0 else number.start()
        end = len(marker) if i == len(numbers) - 1 else number.end()
        out.append(html.escape(marker[pos:start]))
        n = int(number[0])
        text = html.escape(marker[start:end])
        if n in citations:
            if cited is not None:
                cited[n] = None
            tip = html.escape(citations[n], quote=True).replace("\n", "&#10;")
            text = (
                f'<a href="{CITE_SCHEME}:{n}" title="{tip}" '
                f'style="color: {c.link}; text-decoration: none;">{text}</a>'
            )
        out.append(text)
        pos = end
    return "".join(out) + "</span>"


# -- render rules (markdown-it signature: renderer, tokens, idx, options, env) ------------------


def _fence(renderer, tokens, idx, options, env) -> str:
    token = tokens[idx]
    c = env["colors"]
    index = env["code_index"]
    env["code_index"] = index + 1
    lang = fence_language(token.info)
    body = highlight_code(token.content.rstrip("\n"), lang, c).rstrip("\n").replace("\n", "<br>")
    return code_block_html(body, lang, index, c)


def code_block_html(body: str, lang: str, index: int, c: Colors) -> str:
    """A code block: its header row, then ``body`` (highlighted HTML) in a ``pre``."""
    return (
        code_table_open(c)
        + code_header_row(lang, index, c)
        + f'<tr><td style="background-color: {c.code_bg}; padding: 10px 12px; '
        f'border-color: {c.code_border};">'
        f'<pre style="font-family: {MONO_FAMILY};">{body}</pre>'
        f"</td></tr></table>\n"
    )


def fence_language(info: str) -> str:
    """The language named by a fence's info string ("" when none)."""
    return info.strip().split(maxsplit=1)[0] if info.strip() else ""


def code_table_open(c: Colors, margin_bottom: int = 12) -> str:
    """The opening tag of a code block's table (header row, then the code)."""
    return (
        f'<table width="100%" cellspacing="0" cellpadding="0" border="1" '
        f'style="border-color: {c.code_border}; border-style: solid; '
        f'border-collapse: collapse; margin-top: 2px; margin-bottom: {margin_bottom}px;">'
    )


def code_header_row(lang: str, index: int, c: Colors) -> str:
    """A code block's header row: its language and the ``copy-code:index`` link."""
    label = html.escape(lang) if lang else "code"
    return (
        f'<tr><td style="background-color: {c.code_header_bg}; padding: 5px 10px; '
        f'border-color: {c.code_border};">'
        f'<table width="100%" cellspacing="0" cellpadding="0" border="0"><tr>'
        f'<td><span style="color: {c.muted}; font-size: small;">{label}</span></td>'
        f'<td align="right"><a href="{COPY_SCHEME}:{index}" '
        f'style="color: {c.muted}; font-size: small; text-decoration: none;">Copy</a>'
        f"</td></tr></table></td></tr>"
    )


def _code_inline(renderer, tokens, idx, options, env) -> str:
    content = html.escape(tokens[idx].content)
    return f"<code>{content}</code>"


def _table_open(renderer, tokens, idx, options, env) -> str:
    c = env["colors"]
    return (
        f'<table cellspacing="0" cellpadding="6" border="1" style="border-color: '
        f"{c.code_border}; border-style: solid; border-collapse: collapse; "
        f'margin-bottom: 12px;">\n'
    )


def _cell_open(renderer, tokens, idx, options, env) -> str:
    token = tokens[idx]
    c = env["colors"]
    style = token.attrGet("style") or ""
    align = ""
    if "text-align:" in style:
        align = f' align="{style.split("text-align:", 1)[1].strip().rstrip(";")}"'
    bg = f' style="background-color: {c.table_header_bg};"' if token.tag == "th" else ""
    return f"<{token.tag}{align}{bg}>"


def _image(renderer, tokens, idx, options, env) -> str:
    token = tokens[idx]
    src = html.escape(token.attrGet("src") or "", quote=True)
    alt = html.escape(token.content or "image")
    return f'<a href="{src}">[{alt}]</a>'


def _hr(renderer, tokens, idx, options, env) -> str:
    return f'<hr style="color: {env["colors"].border};">\n'


@dataclass
class Fence:
    """A fenced code block in streaming Markdown, as offsets into the text."""

    start: int  # the opening line
    body: int  # the first line of code
    marker: str  # "`" or "~"
    length: int  # of the opening marker
    indent: int  # of the opening line (removed from the code lines, as CommonMark does)
    lang: str
    body_end: int | None = None  # the closing line, once read
    end: int | None = None  # just after the closing line


class BlockSplitter:
    """Where streaming Markdown's finished blocks end, reading each complete line once.

    ``settled`` is the end of the finished blocks: a blank line outside a code fence, a fence's
    closing line, or an ATX heading ends a block, and a fence opening at the margin ends the block
    before it (CommonMark lets fences and headings interrupt a paragraph, list, quote or table,
    so rendering both sides apart gives the same HTML). ``fence`` is the open code fence, if any.
    """

    def __init__(self) -> None:
        self.settled = 0
        self.scanned = 0  # end of the last complete line read
        self.fence: Fence | None = None
        self.closed: Fence | None = None  # the fence closed most recently

    def feed(self, text: str) -> BlockSplitter:
        """Read the complete lines of ``text`` (the whole stream so far) not read yet."""
        pos = self.scanned
        while (newline := text.find("\n", pos)) >= 0:
            self._line(text[pos:newline], pos, newline + 1)
            pos = newline + 1
        self.scanned = pos
        return self

    def _line(self, line: str, pos: int, end: int) -> None:
        fence = self.fence
        if fence is not None:
            match = _FENCE_CLOSE.match(line)
            if match and match[1][0] == fence.marker and len(match[1]) >= fence.length:
                fence.body_end, fence.end = pos, end
                self.fence, self.closed, self.settled = None, fence, end
            return
        match = _FENCE_OPEN.match(line)
        if match and not (match[2][0] == "`" and "`" in match[3]):
            if not match[1]:
                self.settled = pos
            self.fence = Fence(
                pos, end, match[2][0], len(match[2]), len(match[1]), fence_language(match[3])
            )
        elif not line.strip(" \t\r") or _HEADING.match(line):
            self.settled = end


def settled_length(text: str) -> int:
    """Length of the prefix of streaming ``text`` made of finished Markdown blocks."""
    return BlockSplitter().feed(text).settled
