"""The parts of an assistant message: ``ThinkingSection`` (a collapsible "Thinking…" box with
its clock) and ``AnswerSection`` (the Markdown answer, rendered incrementally while it streams);
and ``ViewContext``, what every message widget needs to draw itself.

Thinking is appended as plain text; the answer is split (``BlockSplitter``) into finished
Markdown blocks, each rendered once into its own view, plus a short live tail that is rendered
again per flush. A code block open at the start of the tail streams into a ``CodeStreamView``
instead, which appends each finished line once, so a flush costs the same at line 5 and 500.
When the reply ends everything is merged into one view (so selection spans the whole answer).

Citation markers that name one of the reply's sources (``set_citations``) are ``source:N``
links (``sourceRequested``); sources that arrive mid-stream re-render the finished blocks
holding markers once, not per flush.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QFrame, QToolButton, QVBoxLayout, QWidget

from app.ui.common.theme import Colors

from .code_stream import CodeStreamView
from .markdown_render import (
    CITATION_MARKER,
    CITE_SCHEME,
    COPY_SCHEME,
    BlockSplitter,
    Fence,
    MarkdownRenderer,
    Rendered,
    document_css,
)
from .text_views import RichTextView

THINKING_MAX_HEIGHT = 280
LIVE_LINE_LIMIT = 400


@dataclass(frozen=True)
class ViewContext:
    """What every message widget needs to draw itself."""

    colors: Colors
    renderer: MarkdownRenderer
    assistant_name: str = "Assistant"

    @property
    def css(self) -> str:
        return document_css(self.colors)


class ThinkingSection(QWidget):
    """A collapsible "Thinking…" box with its elapsed time."""

    def __init__(self, ctx: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.setSpacing(4)
        self.toggle = QToolButton(self)
        self.toggle.setObjectName("ThinkingToggle")
        self.toggle.setCheckable(True)
        self.toggle.setAccessibleName("Show or hide the model's thinking")
        self.toggle.toggled.connect(self._on_toggled)
        layout.addWidget(self.toggle)
        self.frame = QFrame(self)
        self.frame.setObjectName("ThinkingFrame")
        inner = QVBoxLayout(self.frame)
        inner.setContentsMargins(12, 8, 10, 8)
        self.view = RichTextView(self.frame, max_height=THINKING_MAX_HEIGHT)
        self.view.setAccessibleName("Thinking")
        self.view.document().setDefaultStyleSheet(f"body {{ color: {ctx.colors.muted}; }}")
        inner.addWidget(self.view)
        layout.addWidget(self.frame)
        self._label = "Thinking"
        self._text = ""
        self._line = 0
        self._started: float | None = None
        self._shown_seconds = -1
        self.toggle.setChecked(False)
        self._on_toggled(False)

    @property
    def text(self) -> str:
        """The thinking as received (display-only line breaks excluded)."""
        return self._text

    def set_text(self, text: str) -> None:
        self._text = text.strip("\n")
        self._line = 0
        self.view.setPlainText(self._text)

    def start(self) -> None:
        """Streaming begins: expanded, with a running clock."""
        self._started = time.monotonic()
        self.toggle.setChecked(True)
        self.tick()

    def append(self, text: str) -> None:
        """Append streamed thinking. A paragraph is shown in pieces of at most
        ``LIVE_LINE_LIMIT`` characters while streaming, so each append lays out one short
        block instead of a paragraph that keeps growing (restored by ``finish``)."""
        if not self._text:
            text = text.lstrip()
            if not text:
                return
        self._text += text
        shown = []
        for part in text.splitlines(keepends=True):
            if part.endswith("\n"):
                self._line = 0
            elif self._line + len(part) > LIVE_LINE_LIMIT and " " in part:
                cut = part.rindex(" ") + 1
                shown.append(part[:cut] + "\n")
                part = part[cut:]
                self._line = 0
            else:
                self._line += len(part)
            shown.append(part)
        self.view.append_plain("".join(shown))

    def tick(self) -> None:
        """Refresh the elapsed time (called on every flush while thinking)."""
        if self._started is None:
            return
        seconds = int(time.monotonic() - self._started)
        if seconds != self._shown_seconds:
            self._shown_seconds = seconds
            self._label = f"Thinking… {seconds} s"
            self._update_toggle()

    def finish(self, seconds: float | None, collapse: bool = True) -> None:
        """Thinking ended (the answer started, or the turn ended)."""
        if self._started is not None:
            self.view.setPlainText(self._text)  # the exact text, without display breaks
        if self._started is not None and seconds is None:
            seconds = time.monotonic() - self._started
        self._started = None
        self._label = f"Thought for {seconds:.1f} s" if seconds else "Thoughts"
        if collapse:
            self.toggle.setChecked(False)
        self._update_toggle()

    @property
    def running(self) -> bool:
        return self._started is not None

    @Slot(bool)
    def _on_toggled(self, expanded: bool) -> None:
        self.frame.setVisible(expanded)
        self._update_toggle()

    def _update_toggle(self) -> None:
        arrow = "▾" if self.toggle.isChecked() else "▸"
        self.toggle.setText(f"{arrow}  {self._label}")


class AnswerSection(QWidget):
    """The Markdown answer, rendered incrementally while it streams."""

    copied = Signal()
    sourceRequested = Signal(int)  # the number of a clicked citation marker

    def __init__(self, ctx: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._citations: dict[int, str] = {}  # source number -> its tooltip
        self._streaming = False
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self._source = ""
        self._splitter = BlockSplitter()
        self._settled = 0
        self._settled_code_blocks = 0
        self._chunks: list[RichTextView | CodeStreamView] = []
        self._chunk_sources: list[tuple[RichTextView, str, int]] = []  # view, text, first code
        self._code: CodeStreamView | None = None  # the open code block streaming line by line
        self._code_fence: Fence | None = None
        self._tail: RichTextView | None = None
        self._tail_source = ""
        self._main = self._new_view()
        self._layout.addWidget(self._main)

    @property
    def source(self) -> str:
        return self._source

    def views(self) -> list[RichTextView]:
        """Every text view of the answer, top to bottom."""
        views = [self._main]
        for part in [*self._chunks, self._code]:
            if isinstance(part, CodeStreamView):
                views.extend(part.views())
            elif part is not None:
                views.append(part)
        return views + ([self._tail] if self._tail else [])

    def _new_view(self) -> RichTextView:
        view = RichTextView(self)
        view.setAccessibleName("Answer")
        view.document().setDefaultStyleSheet(self._ctx.css)
        view.anchorClicked.connect(self._on_anchor)
        return view

    def set_citations(self, citations: dict[int, str], rerender: bool = True) -> None:
        """Link the markers citing these sources (number -> tooltip). With ``rerender`` the
        text shown is rendered again, only the parts holding markers, once."""
        if citations == self._citations:
            return
        self._citations = dict(citations)
        if not rerender:
            return
        if not self._streaming:
            if CITATION_MARKER.search(self._source):
                self._show(self._main, self._render(self._source))
            return
        for view, text, first in self._chunk_sources:
            if CITATION_MARKER.search(text):
                self._show(view, self._render(text, first))
        if self._tail is not None and CITATION_MARKER.search(self._tail_source):
            self._show(self._tail, self._render(self._tail_source, self._settled_code_blocks))

    def _render(self, text: str, first_code_index: int = 0) -> Rendered:
        return self._ctx.renderer.render(text, first_code_index, self._citations)

    def _show(self, view: RichTextView, rendered: Rendered) -> None:
        view.setHtml(rendered.html)
        tips = {f"{CITE_SCHEME}:{n}": self._citations[n] for n in rendered.cited}
        if tips:
            *rest, last = [str(n) for n in rendered.cited]
            numbers = f"s {', '.join(rest)} and {last}" if rest else f" {last}"
            default = f"Cites source{numbers}; Tab moves through the links."
        else:
            default = ""
        view.set_link_descriptions(default, tips)

    def set_markdown(self, text: str) -> None:
        """Show ``text`` fully rendered in a single view (drops streaming chunks)."""
        self._streaming = False
        self._source = text
        self._settled = len(text)
        for part in [*self._chunks, self._code, self._tail]:
            if part is not None:
                self._layout.removeWidget(part)
                part.hide()
                part.deleteLater()
        self._chunks.clear()
        self._chunk_sources.clear()
        self._code = self._code_fence = None
        self._tail = None
        self._tail_source = ""
        self._show(self._main, self._render(text) if text else Rendered("", 0))
        self._main.setVisible(bool(text))

    def begin_stream(self) -> None:
        self.set_markdown("")
        self._streaming = True
        self._splitter = BlockSplitter()
        self._settled = 0
        self._settled_code_blocks = 0

    def append(self, text: str) -> None:
        """Add streamed text: finished blocks are rendered once and appended, an open code
        block grows line by line, and only a short live tail is rendered again."""
        self._source += text
        split = self._splitter.feed(self._source)
        fence = self._code_fence
        if fence is not None and fence.end is not None:  # the streaming code block closed
            self._code.update_code(self._fence_code(fence, fence.body_end))
            self._chunks.append(self._code)
            self._code = self._code_fence = None
            self._settled = fence.end
            self._settled_code_blocks += 1
        if split.settled > self._settled:
            self._add_chunk(self._source[self._settled : split.settled])
        fence = split.fence
        if fence is not None and fence.start == self._settled:
            self._stream_code(fence)
        else:
            self._render_tail(self._source[self._settled :])

    def finish_stream(self) -> None:
        """Merge the streamed chunks into one fully rendered view."""
        self.set_markdown(self._source)

    def _add_chunk(self, text: str) -> None:
        self._settled += len(text)
        if not text.strip():
            return  # blank lines between blocks: nothing to draw
        rendered = self._render(text, self._settled_code_blocks)
        chunk = self._new_view()
        self._chunk_sources.append((chunk, text, self._settled_code_blocks))
        self._settled_code_blocks += rendered.code_blocks
        self._show(chunk, rendered)
        self._chunks.append(chunk)
        self._layout.insertWidget(len(self._chunks), chunk)

    def _stream_code(self, fence: Fence) -> None:
        if self._code is None:
            ctx = self._ctx
            self._code = CodeStreamView(
                fence.lang, self._settled_code_blocks, ctx.colors, ctx.css, self
            )
            self._code.anchorClicked.connect(self._on_anchor)
            self._code_fence = fence
            self._layout.insertWidget(len(self._chunks) + 1, self._code)
            self._render_tail("")
        self._code.update_code(self._fence_code(fence, len(self._source)))

    def _fence_code(self, fence: Fence, end: int) -> str:
        """The code of ``fence`` up to ``end``, without the fence's own indentation."""
        code = self._source[fence.body : end]
        if fence.indent:
            code = "\n".join(_dedent(line, fence.indent) for line in code.split("\n"))
        return code

    def _render_tail(self, tail: str) -> None:
        if tail == self._tail_source:
            return
        self._tail_source = tail
        if self._tail is None:
            if not tail:
                return
            self._tail = self._new_view()
            self._layout.addWidget(self._tail)
        rendered = self._render(tail, self._settled_code_blocks) if tail.strip() else None
        self._show(self._tail, rendered or Rendered("", 0))
        self._tail.setVisible(rendered is not None)

    @Slot(QUrl)
    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() == COPY_SCHEME:
            blocks = self._ctx.renderer.code_blocks(self._source)
            index = int(url.path() or 0)
            if 0 <= index < len(blocks):
                QGuiApplication.clipboard().setText(blocks[index].rstrip("\n"))
                self.copied.emit()
        elif url.scheme() == CITE_SCHEME:
            number = int(url.path()) if url.path().isdigit() else -1
            if number in self._citations:
                self.sourceRequested.emit(number)
        elif url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)


def _dedent(line: str, indent: int) -> str:
    """``line`` without up to ``indent`` leading spaces."""
    spaces = len(line) - len(line.lstrip(" "))
    return line[min(spaces, indent) :]
