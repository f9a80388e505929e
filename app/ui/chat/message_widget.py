"""One chat message as a widget: thinking section, Markdown answer, status line and actions.

Streaming touches only this widget. Thinking is appended as plain text; the answer is split into
finished Markdown blocks, each rendered once into its own view, plus a short live tail that is
re-rendered per flush. When the reply ends everything is merged into one view (so selection
spans the whole answer).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from PySide6.QtCore import QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QFontMetrics, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.store import Message
from app.ui.common.theme import Colors

from .markdown_render import COPY_SCHEME, MarkdownRenderer, document_css, settled_length
from .text_views import RichTextView

THINKING_MAX_HEIGHT = 280
LIVE_LINE_LIMIT = 400
BUBBLE_MAX_FRACTION = 0.8


@dataclass(frozen=True)
class ViewContext:
    """What every message widget needs to draw itself."""

    colors: Colors
    renderer: MarkdownRenderer
    assistant_name: str = "Assistant"

    @property
    def css(self) -> str:
        return document_css(self.colors)


def format_stats(stats: dict | None) -> str:
    """One muted line about a finished reply: tokens, speed, and why it stopped early."""
    if not stats:
        return ""
    parts = []
    tokens = stats.get("completion_tokens")
    if tokens:
        parts.append(f"{tokens:,} tokens")
    speed = stats.get("tokens_per_s")
    if speed:
        parts.append(f"{speed:.1f} tok/s")
    if stats.get("stop_reason") == "length":
        parts.append("stopped at the max-tokens limit")
    if stats.get("stop_reason") == "context_full":
        parts.append("stopped: the context window is full")
    if stats.get("thinking_budget_hit"):
        parts.append("thinking budget reached")
    return " · ".join(parts)


def status_notice(status: str, stats: dict | None) -> tuple[str, str]:
    """(text, kind) for a message's status line; kind is "muted", "warning" or "error"."""
    if status == "cancelled":
        return "Stopped.", "muted"
    if status == "interrupted":
        return "Interrupted: the app closed before this reply was finished.", "warning"
    if status == "error":
        detail = (stats or {}).get("error") or "Generating this reply failed."
        return detail, "error"
    return "", "muted"


def _action_button(text: str, accessible: str, parent: QWidget) -> QToolButton:
    button = QToolButton(parent)
    button.setObjectName("ActionButton")
    button.setText(text)
    button.setToolTip(accessible)
    button.setAccessibleName(accessible)
    return button


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

    def __init__(self, ctx: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self._source = ""
        self._settled = 0
        self._settled_code_blocks = 0
        self._chunks: list[RichTextView] = []
        self._tail: RichTextView | None = None
        self._tail_source = ""
        self._main = self._new_view()
        self._layout.addWidget(self._main)

    @property
    def source(self) -> str:
        return self._source

    def views(self) -> list[RichTextView]:
        return [self._main, *self._chunks] + ([self._tail] if self._tail else [])

    def _new_view(self) -> RichTextView:
        view = RichTextView(self)
        view.setAccessibleName("Answer")
        view.document().setDefaultStyleSheet(self._ctx.css)
        view.anchorClicked.connect(self._on_anchor)
        return view

    def set_markdown(self, text: str) -> None:
        """Show ``text`` fully rendered in a single view (drops streaming chunks)."""
        self._source = text
        self._settled = len(text)
        for view in self._chunks + ([self._tail] if self._tail else []):
            self._layout.removeWidget(view)
            view.deleteLater()
        self._chunks.clear()
        self._tail = None
        self._tail_source = ""
        self._main.setHtml(self._ctx.renderer.render(text).html if text else "")
        self._main.setVisible(bool(text))

    def begin_stream(self) -> None:
        self.set_markdown("")
        self._settled = 0
        self._settled_code_blocks = 0

    def append(self, text: str) -> None:
        """Add streamed text: renders newly finished blocks once, then the live tail."""
        self._source += text
        renderer = self._ctx.renderer
        end = self._settled + settled_length(self._source[self._settled :])
        if end > self._settled:
            rendered = renderer.render(self._source[self._settled : end], self._settled_code_blocks)
            self._settled_code_blocks += rendered.code_blocks
            self._settled = end
            chunk = self._new_view()
            chunk.setHtml(rendered.html)
            self._chunks.append(chunk)
            self._layout.insertWidget(len(self._chunks), chunk)
        tail = self._source[self._settled :]
        if tail != self._tail_source:
            self._tail_source = tail
            if self._tail is None:
                self._tail = self._new_view()
                self._layout.addWidget(self._tail)
            html = renderer.render(tail, self._settled_code_blocks).html if tail.strip() else ""
            self._tail.setHtml(html)
            self._tail.setVisible(bool(html))

    def finish_stream(self) -> None:
        """Merge the streamed chunks into one fully rendered view."""
        self.set_markdown(self._source)

    @Slot(QUrl)
    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() == COPY_SCHEME:
            blocks = self._ctx.renderer.code_blocks(self._source)
            index = int(url.path() or 0)
            if 0 <= index < len(blocks):
                QGuiApplication.clipboard().setText(blocks[index].rstrip("\n"))
                self.copied.emit()
        elif url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)


class MessageWidget(QFrame):
    """A user or assistant message with its actions."""

    actionRequested = Signal(str, int)  # "copy" | "regenerate" | "edit" | "delete", message id
    siblingRequested = Signal(int, int)  # message id, step (-1 or +1)
    editSubmitted = Signal(int, str)  # message id, new text

    def __init__(self, message: Message, ctx: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = message
        self._ctx = ctx
        self._streaming = False
        self._editor: QPlainTextEdit | None = None
        self._editor_frame: QFrame | None = None
        self.setObjectName("Message")
        who = "You" if message.role == "user" else (message.stats or {}).get("model")
        who = who or ctx.assistant_name
        self.setAccessibleName(f"Message from {who}")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 8, 0, 8)
        self._layout.setSpacing(6)
        self.thinking: ThinkingSection | None = None
        self.answer: AnswerSection | None = None
        self.bubble_view: RichTextView | None = None
        if message.role == "user":
            self._build_user(message)
        else:
            self._build_assistant(message, who)
        self._build_actions(message)
        self.apply_message(message)

    # -- construction -------------------------------------------------------------------------

    def _build_user(self, message: Message) -> None:
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addStretch(1)
        self._bubble = QFrame(self)
        self._bubble.setObjectName("UserBubble")
        inner = QVBoxLayout(self._bubble)
        inner.setContentsMargins(14, 9, 14, 9)
        self.bubble_view = RichTextView(self._bubble)
        self.bubble_view.setAccessibleName("Your message")
        inner.addWidget(self.bubble_view)
        row.addWidget(self._bubble, 100)
        self._bubble_row = row
        self._layout.addLayout(row)

    def _build_assistant(self, message: Message, who: str) -> None:
        role = QLabel(who, self)
        role.setObjectName("RoleLabel")
        self._layout.addWidget(role)
        self.thinking = ThinkingSection(self._ctx, self)
        self._layout.addWidget(self.thinking)
        self.answer = AnswerSection(self._ctx, self)
        self.answer.copied.connect(self._on_code_copied)
        self._layout.addWidget(self.answer)
        self._notice = QLabel(self)
        self._notice.setWordWrap(True)
        self._notice.setObjectName("MutedLabel")
        self._layout.addWidget(self._notice)

    def _build_actions(self, message: Message) -> None:
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        self._prev = _action_button("‹", "Previous version", self)
        self._sibling_label = QLabel(self)
        self._sibling_label.setObjectName("MutedLabel")
        self._next = _action_button("›", "Next version", self)
        self._prev.clicked.connect(self._on_prev)
        self._next.clicked.connect(self._on_next)
        self._copy = _action_button("Copy", "Copy message", self)
        self._copy.clicked.connect(self._on_copy)
        self._delete = _action_button("Delete", "Delete message", self)
        self._delete.clicked.connect(self._on_delete)
        self._regenerate = self._edit = None
        if message.role == "user":
            self._edit = _action_button("Edit", "Edit message and resend", self)
            self._edit.clicked.connect(self._on_edit)
            row.addStretch(1)
            for w in (self._prev, self._sibling_label, self._next, self._edit, self._copy):
                row.addWidget(w)
            row.addWidget(self._delete)
        else:
            self._regenerate = _action_button("Regenerate", "Regenerate reply", self)
            self._regenerate.clicked.connect(self._on_regenerate)
            for w in (self._copy, self._regenerate, self._delete):
                row.addWidget(w)
            for w in (self._prev, self._sibling_label, self._next):
                row.addWidget(w)
            row.addStretch(1)
            self._stats = QLabel(self)
            self._stats.setObjectName("StatsLabel")
            row.addWidget(self._stats)
        self._actions_row = row
        self._layout.addLayout(row)

    # -- content ------------------------------------------------------------------------------

    @property
    def message_id(self) -> int:
        return self.message.id

    @property
    def streaming(self) -> bool:
        return self._streaming

    def apply_message(self, message: Message) -> None:
        """Show ``message`` as stored (not streaming)."""
        self.message = message
        if message.role == "user":
            self.bubble_view.setPlainText(message.content)
            self._fit_bubble()
        else:
            has_thinking = bool(message.thinking.strip())
            self.thinking.setVisible(has_thinking)
            if has_thinking:
                self.thinking.set_text(message.thinking)
                self.thinking.finish((message.stats or {}).get("thinking_s"), collapse=True)
            self.answer.set_markdown(message.content)
            self._set_notice(*status_notice(message.status, message.stats))
            self._stats.setText(format_stats(message.stats))
        self._update_siblings(message)

    def set_record(self, message: Message) -> None:
        """Take a newer record of the same message without re-rendering its text."""
        self.message = message
        self._update_siblings(message)

    def _update_siblings(self, message: Message) -> None:
        many = message.sibling_count > 1
        for w in (self._prev, self._sibling_label, self._next):
            w.setVisible(many)
        self._sibling_label.setText(f"{message.sibling_index + 1} / {message.sibling_count}")
        self._sibling_label.setAccessibleName(
            f"Version {message.sibling_index + 1} of {message.sibling_count}"
        )
        self._prev.setEnabled(message.sibling_index > 0)
        self._next.setEnabled(message.sibling_index < message.sibling_count - 1)

    def _set_notice(self, text: str, kind: str) -> None:
        if self.message.role == "user":
            return
        names = {"muted": "MutedLabel", "warning": "MutedLabel", "error": "ErrorLabel"}
        self._notice.setObjectName(names[kind])
        self._notice.setText(text)
        self._notice.setVisible(bool(text))
        self._notice.style().unpolish(self._notice)
        self._notice.style().polish(self._notice)

    def plain_text(self) -> str:
        """The message's answer or text (what "Copy" copies; thinking excluded)."""
        if self.message.role == "user":
            return self.message.content
        return self.answer.source

    # -- streaming ----------------------------------------------------------------------------

    def begin_stream(self) -> None:
        self._streaming = True
        self.thinking.setVisible(False)
        self.thinking.set_text("")
        self.answer.begin_stream()
        self._set_notice("", "muted")
        self._stats.setText("")
        self._set_actions_enabled(False)

    def append_stream(self, channel: str, text: str) -> None:
        """Add a batch of streamed text (called at most once per frame per channel)."""
        if channel == "thinking":
            if not self.thinking.isVisible():
                self.thinking.setVisible(True)
                self.thinking.start()
            self.thinking.append(text)
            return
        if self.thinking.running:
            self.thinking.finish(None, collapse=True)
        self.answer.append(text)

    def tick(self) -> None:
        if self.thinking is not None:
            self.thinking.tick()

    def end_stream(self, status: str, stats: dict | None) -> None:
        """The reply ended (finished, stopped or failed)."""
        self._streaming = False
        if self.thinking.running:
            self.thinking.finish((stats or {}).get("thinking_s"), collapse=bool(self.answer.source))
        self.answer.finish_stream()
        self.message = _with(self.message, self.answer.source, self.thinking.text, status, stats)
        self._set_notice(*status_notice(status, stats))
        self._stats.setText(format_stats(stats))
        self._set_actions_enabled(True)

    def _set_actions_enabled(self, enabled: bool) -> None:
        for w in (self._copy, self._delete, self._regenerate, self._prev, self._next):
            if w is not None:
                w.setEnabled(enabled)
        if enabled:
            self._update_siblings(self.message)

    # -- user bubble --------------------------------------------------------------------------

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.message.role == "user":
            self._fit_bubble()

    def _fit_bubble(self) -> None:
        metrics = QFontMetrics(self.bubble_view.font())
        lines = self.message.content.splitlines() or [""]
        ideal = max(metrics.horizontalAdvance(line) for line in lines[:200]) + 28 + 8
        limit = int(max(120, self.width()) * BUBBLE_MAX_FRACTION)
        self._bubble.setMaximumWidth(max(60, min(ideal, limit)))

    def start_edit(self) -> None:
        """Replace the bubble with an editor; Send makes a new branch, Cancel restores."""
        if self._editor is not None:
            self._editor.setFocus()
            return
        self._bubble.setVisible(False)
        frame = QFrame(self)
        frame.setObjectName("ComposerFrame")
        layout = QVBoxLayout(frame)
        layout.setContentsMargins(10, 8, 10, 8)
        editor = QPlainTextEdit(frame)
        editor.setObjectName("ComposerInput")
        editor.setAccessibleName("Edit message")
        editor.setPlainText(self.message.content)
        editor.setTabChangesFocus(True)
        editor.setMinimumHeight(70)
        layout.addWidget(editor)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        cancel = QPushButton("Cancel", frame)
        cancel.setAccessibleName("Cancel editing")
        cancel.setShortcut(QKeySequence("Escape"))
        cancel.clicked.connect(self.cancel_edit)
        send = QPushButton("Send", frame)
        send.setObjectName("PrimaryButton")
        send.setAccessibleName("Send edited message")
        send.setShortcut(QKeySequence("Ctrl+Return"))
        send.clicked.connect(self._on_edit_send)
        buttons.addWidget(cancel)
        buttons.addWidget(send)
        layout.addLayout(buttons)
        self._layout.insertWidget(0, frame)
        self._editor, self._editor_frame = editor, frame
        editor.setFocus()

    @Slot()
    def cancel_edit(self) -> None:
        if self._editor_frame is not None:
            self._layout.removeWidget(self._editor_frame)
            self._editor_frame.deleteLater()
        self._editor = self._editor_frame = None
        self._bubble.setVisible(True)

    @Slot()
    def _on_edit_send(self) -> None:
        text = self._editor.toPlainText().strip() if self._editor else ""
        if not text:
            return
        self.cancel_edit()
        self.editSubmitted.emit(self.message.id, text)

    # -- action slots -------------------------------------------------------------------------

    @Slot()
    def _on_copy(self) -> None:
        QGuiApplication.clipboard().setText(self.plain_text())
        self._flash(self._copy, "Copied")

    @Slot()
    def _on_code_copied(self) -> None:
        self._flash(self._copy, "Code copied")

    def _flash(self, button: QToolButton, text: str) -> None:
        button.setText(text)
        QTimer.singleShot(1500, self._restore_copy_label)

    @Slot()
    def _restore_copy_label(self) -> None:
        self._copy.setText("Copy")

    @Slot()
    def _on_delete(self) -> None:
        self.actionRequested.emit("delete", self.message.id)

    @Slot()
    def _on_regenerate(self) -> None:
        self.actionRequested.emit("regenerate", self.message.id)

    @Slot()
    def _on_edit(self) -> None:
        self.start_edit()

    @Slot()
    def _on_prev(self) -> None:
        self.siblingRequested.emit(self.message.id, -1)

    @Slot()
    def _on_next(self) -> None:
        self.siblingRequested.emit(self.message.id, +1)


def _with(message: Message, content: str, thinking: str, status: str, stats: dict | None):
    return replace(message, content=content, thinking=thinking, status=status, stats=stats)
