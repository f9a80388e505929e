"""One chat message as a widget: the user's bubble (with in-place editing), or the assistant's
thinking section and Markdown answer (``message_sections``), a status line, the stats, the
actions (copy, regenerate, edit, delete) and the switch between versions of a branch.

Streaming touches only this widget: ``begin_stream``, ``append_stream`` (a batch per frame),
``end_stream``. The answer's citation markers link to the sources the citations bar shows, and
a click on one does what the source's button does.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtGui import QFontMetrics, QGuiApplication, QKeySequence
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

from .citations import CitationsBar, citation_tips, stored_sources
from .message_sections import AnswerSection, ThinkingSection, ViewContext
from .text_views import RichTextView

BUBBLE_MAX_FRACTION = 0.8


def format_stats(stats: dict | None) -> str:
    """One muted line about a finished reply: tokens, speed, drafts accepted, and why it
    stopped early."""
    if not stats:
        return ""
    parts = []
    tokens = stats.get("completion_tokens")
    if tokens:
        parts.append(f"{tokens:,} tokens")
    speed = stats.get("tokens_per_s")
    if speed:
        parts.append(f"{speed:.1f} tok/s")
    drafted = stats.get("drafted_tokens")
    if drafted:  # speculative decoding (the CLI's wording)
        parts.append(f"{stats.get('accepted_tokens') or 0}/{drafted} drafted accepted")
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
        self.citations = CitationsBar(self, self._layout)  # numbered sources (documents)
        self.citations.sourcesShown.connect(self._on_sources_shown)
        self.answer.sourceRequested.connect(self.citations.open_source)

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
            self.answer.set_citations(citation_tips(stored_sources(message)), rerender=False)
            self.answer.set_markdown(message.content)
            self._set_notice(*status_notice(message.status, message.stats))
            self._stats.setText(format_stats(message.stats))
            self.citations.show_for(message)
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
        self.citations.show_for(None)
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
        stats = self.citations.keep_in(stats)
        self.message = _with(self.message, self.answer.source, self.thinking.text, status, stats)
        self._set_notice(*status_notice(status, stats))
        self._stats.setText(format_stats(stats))
        self.citations.show_for(self.message)
        self._set_actions_enabled(True)

    @Slot(object)
    def _on_sources_shown(self, sources: list) -> None:
        self.answer.set_citations(citation_tips(sources))

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
