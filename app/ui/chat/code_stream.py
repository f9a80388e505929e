"""A code block that grows while a reply streams, at the same cost per update at line 5 and 500.

A code block rendered as one rich-text table is laid out again as a whole whenever a line is
added (Qt re-lays out every cell of a table), so ``CodeStreamView`` draws the block as widgets
that look like the rendered table: the header (language, Copy link) as the table's first row,
then the code in plain documents, one block per line, a new document every ``SEGMENT_LINES``
lines. Committed lines (``StreamLexer``) are appended once with the character formats Qt gives
the rendered block's HTML; only the live lines at the end are replaced on each update. When the
reply ends, the message is rendered again in one piece (exact, and selectable as a whole).
"""

from __future__ import annotations

from functools import lru_cache

from pygments.token import Text
from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import (
    QImage,
    QPainter,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import QFrame, QHBoxLayout, QVBoxLayout, QWidget

from app.ui.common.theme import Colors

from .code_highlight import StreamLexer, Token
from .markdown_render import (
    code_block_html,
    code_header_row,
    code_table_open,
    lexer_for,
    token_html,
)
from .text_views import RichTextView

SEGMENT_LINES = 64
# Qt draws a table cell's text half a border width (border-collapse, 1 px) to the right.
_CELL_TEXT_SHIFT = 0.5
_PROBE = "\u2063X"  # an invisible separator and a letter no code block header contains


@lru_cache(maxsize=512)
def _formats(ttype, colors: Colors, css: str) -> tuple[QTextBlockFormat, QTextCharFormat]:
    """The block and character format Qt gives a token of ``ttype`` in a rendered code block."""
    doc = QTextDocument()
    doc.setDefaultStyleSheet(css)
    doc.setHtml(code_block_html(token_html(ttype, _PROBE, colors), "", 0, colors))
    cursor = doc.find(_PROBE)
    block = QTextBlockFormat(cursor.blockFormat())
    block.setLeftMargin(block.leftMargin() + _CELL_TEXT_SHIFT)
    return block, QTextCharFormat(cursor.charFormat())


def _painted_box(doc: QTextDocument, width: int = 600) -> tuple[int, int, int]:
    """Where Qt paints the table that ``doc`` holds: the margins left of it and right of it,
    and its last row (Qt draws a full-width table from x = 1, and ends the document with a
    line that can reach below the table)."""
    doc = doc.clone()
    doc.setTextWidth(width)
    size = doc.size().toSize()
    image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    doc.drawContents(painter)
    painter.end()
    painted = [y for y in range(size.height()) if image.pixelColor(width // 2, y).alpha()]
    bottom = painted[-1] if painted else size.height() - 1
    row = [x for x in range(size.width()) if image.pixelColor(x, max(0, bottom - 1)).alpha()]
    if not row:
        return 0, 0, bottom
    return row[0], size.width() - 1 - row[-1], bottom


class CodeStreamView(QWidget):
    """A streaming fenced code block: ``update(code)`` with all the code received so far."""

    anchorClicked = Signal(QUrl)

    def __init__(
        self, lang: str, index: int, colors: Colors, css: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._colors, self._css = colors, css
        self._lexer = StreamLexer(lexer_for(lang))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 12)  # the table's bottom margin
        layout.setSpacing(0)
        # The header row as a table of its own, clipped where Qt stops painting it (the document
        # goes on a few pixels below a table), and the code below it, inset as Qt insets tables.
        head = QWidget(self)
        self.header = self._new_view(head)
        html = code_table_open(colors, margin_bottom=0) + code_header_row(lang, index, colors)
        self.header.setHtml(html + "</table>")
        self.header.anchorClicked.connect(self.anchorClicked)
        QVBoxLayout(head).setContentsMargins(0, 0, 0, 0)
        head.layout().addWidget(self.header, 0, Qt.AlignmentFlag.AlignTop)
        left, right, bottom = _painted_box(self.header.document())
        head.setFixedHeight(bottom + 1)
        layout.addWidget(head)
        row = QHBoxLayout()
        row.setContentsMargins(left, 0, right, 0)
        layout.addLayout(row)
        self._body = QFrame(self)
        self._body.setObjectName("CodeStreamBody")
        self._body.setStyleSheet(
            f"QFrame#CodeStreamBody {{ background-color: {colors.code_bg}; "
            f"border: 1px solid {colors.code_border}; border-top: none; }}"
        )
        self._lines = QVBoxLayout(self._body)
        self._lines.setContentsMargins(12, 10, 12, 10)  # the code cell's padding
        self._lines.setSpacing(0)
        row.addWidget(self._body)
        self._segments: list[RichTextView] = []
        self._cursor: QTextCursor | None = None
        self._segment_lines = 0
        self._newline = False  # the committed code ends with a line break not drawn yet
        self._live_at: int | None = None  # where the live text starts in the last segment
        self._new_segment()

    def views(self) -> list[RichTextView]:
        return [self.header, *self._segments]

    def code(self) -> str:
        """The code shown (lines joined by newlines)."""
        return "\n".join(view.toPlainText() for view in self._segments)

    def update_code(self, code: str) -> None:
        """Show ``code`` (everything received so far): appends the newly committed lines and
        replaces the live ones."""
        committed, live = self._lexer.update(code)
        self._cursor.beginEditBlock()  # one layout per update, not one per token
        if self._live_at is not None:
            cursor = self._cursor
            cursor.setPosition(self._live_at)
            cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
        self._insert(committed, commit=True)
        state = self._newline, self._segment_lines
        self._live_at = self._cursor.position()
        self._insert(live, commit=False)
        self._newline, self._segment_lines = state
        self._cursor.endEditBlock()

    # -- internals ----------------------------------------------------------------------------

    def _new_view(self, parent: QWidget) -> RichTextView:
        view = RichTextView(parent)
        view.setAccessibleName("Code")
        view.document().setDefaultStyleSheet(self._css)
        return view

    def _new_segment(self) -> None:
        view = self._new_view(self._body)
        view.document().setUndoRedoEnabled(False)
        block, char = _formats(Text, self._colors, self._css)
        cursor = QTextCursor(view.document())
        cursor.setBlockFormat(block)
        cursor.setBlockCharFormat(char)
        if self._cursor is not None:  # during an update: close the previous segment's edit
            self._cursor.endEditBlock()
            cursor.beginEditBlock()
        self._segments.append(view)
        self._lines.addWidget(view)
        self._cursor = cursor
        self._segment_lines = 0

    def _insert(self, tokens: list[Token], commit: bool) -> None:
        """Append ``tokens``; a line break is drawn only once text follows it."""
        for ttype, value in tokens:
            char = _formats(ttype, self._colors, self._css)[1]
            for i, piece in enumerate(value.split("\n")):
                if i:
                    if self._newline:
                        self._break_line(commit)
                    self._newline = True
                if piece:
                    if self._newline:
                        self._break_line(commit)
                    self._cursor.insertText(piece, char)

    def _break_line(self, commit: bool) -> None:
        self._newline = False
        self._segment_lines += 1
        if commit and self._segment_lines >= SEGMENT_LINES:
            self._new_segment()
            return
        block, char = _formats(Text, self._colors, self._css)
        self._cursor.insertBlock(block, char)
