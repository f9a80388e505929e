"""The conversation: a scrollable, centred column of message widgets.

Only the newest ``PAGE`` messages get widgets when a conversation opens ("Show earlier messages"
adds more), so opening a long chat stays fast. Streaming appends to the last widget only, and
the view keeps the bottom in sight while the user has not scrolled away.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.store import Message

from .message_sections import ViewContext
from .message_widget import MessageWidget

PAGE = 40
COLUMN_MAX_WIDTH = 860
STICK_MARGIN = 24


class EmptyState(QWidget):
    """What an empty conversation shows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("EmptyState")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 120, 0, 0)
        layout.setSpacing(8)
        self.title = QLabel("How can I help?", self)
        self.title.setObjectName("EmptyTitle")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        self.title.setFont(font)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.subtitle = QLabel(self)
        self.subtitle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.subtitle.setWordWrap(True)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        self.set_model_name(None)

    def set_model_name(self, name: str | None) -> None:
        if name:
            text = f"{name} runs on this computer. Nothing you type leaves it."
        else:
            text = "Load a model to start. Nothing you type leaves this computer."
        self.subtitle.setText(text)

    def set_loading(self, name: str) -> None:
        self.subtitle.setText(f"Loading {name}… Nothing you type leaves this computer.")

    def set_remote(self, name: str | None, host: str) -> None:
        """A remote endpoint's model (None: still connecting): what you type goes there."""
        if name:
            text = f"{name} runs on {host}. What you type is sent there."
        else:
            text = f"Connecting to {host}… What you type will be sent there."
        self.subtitle.setText(text)


class ChatView(QScrollArea):
    """Message widgets in a centred column, with windowed loading of long histories."""

    actionRequested = Signal(str, int)
    siblingRequested = Signal(int, int)
    editSubmitted = Signal(int, str)

    def __init__(self, ctx: ViewContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.setObjectName("ChatScroll")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAccessibleName("Conversation")

        surface = QWidget(self)
        surface.setObjectName("ChatSurface")
        row = QHBoxLayout(surface)
        row.setContentsMargins(24, 12, 24, 12)
        row.addStretch(1)
        self._column = QWidget(surface)
        self._column.setObjectName("ChatColumn")
        self._column.setMaximumWidth(COLUMN_MAX_WIDTH)
        self._column.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        row.addWidget(self._column, 100)
        row.addStretch(1)
        self._layout = QVBoxLayout(self._column)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self._earlier = QPushButton(self._column)
        self._earlier.setAccessibleName("Show earlier messages")
        self._earlier.clicked.connect(self.show_earlier)
        self._layout.addWidget(self._earlier, 0, Qt.AlignmentFlag.AlignHCenter)
        self.empty_state = EmptyState(self._column)
        self._layout.addWidget(self.empty_state)
        self._layout.addStretch(1)
        self.setWidget(surface)

        self._messages: list[Message] = []
        self._widgets: list[MessageWidget] = []
        self._first_shown = 0
        self._stick = True
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._on_range_changed)
        bar.valueChanged.connect(self._on_scrolled)
        self._update_chrome()

    # -- content ------------------------------------------------------------------------------

    @property
    def context(self) -> ViewContext:
        return self._ctx

    def set_context(self, ctx: ViewContext) -> None:
        """New theme or model name: rebuild the shown widgets."""
        self._ctx = ctx
        self.set_messages(self._messages, keep_window=True)

    def widgets(self) -> list[MessageWidget]:
        return list(self._widgets)

    def messages(self) -> list[Message]:
        return list(self._messages)

    def last_widget(self) -> MessageWidget | None:
        return self._widgets[-1] if self._widgets else None

    def widget_for(self, message_id: int) -> MessageWidget | None:
        for widget in self._widgets:
            if widget.message_id == message_id:
                return widget
        return None

    def set_messages(self, messages: list[Message], keep_window: bool = False) -> None:
        """Show ``messages`` (the active branch); only the newest page gets widgets."""
        shown = len(self._messages) - self._first_shown if keep_window else PAGE
        self._clear_widgets()
        self._messages = list(messages)
        self._first_shown = max(0, len(self._messages) - max(shown, PAGE))
        for message in self._messages[self._first_shown :]:
            self._add_widget(message)
        self._stick = True
        self._update_chrome()

    def append_message(self, message: Message) -> MessageWidget:
        """Add a message at the bottom and return its widget."""
        self._messages.append(message)
        self._stick = True
        widget = self._add_widget(message)
        self._update_chrome()
        return widget

    def replace_message(self, message: Message, rerender: bool = True) -> None:
        """Update the record (and, with ``rerender``, the widget) of a message that changed."""
        for i, existing in enumerate(self._messages):
            if existing.id == message.id:
                self._messages[i] = message
        widget = self.widget_for(message.id)
        if widget is not None and rerender and not widget.streaming:
            widget.apply_message(message)

    @Slot()
    def show_earlier(self) -> None:
        """Give widgets to another page of older messages, keeping the view where it was."""
        if self._first_shown == 0:
            return
        bar = self.verticalScrollBar()
        from_bottom = bar.maximum() - bar.value()
        start = max(0, self._first_shown - PAGE)
        for offset, message in enumerate(self._messages[start : self._first_shown]):
            self._add_widget(message, position=offset)
        self._first_shown = start
        self._stick = False
        self._update_chrome()
        self.widget().adjustSize()
        bar.setValue(bar.maximum() - from_bottom)

    def scroll_to_bottom(self) -> None:
        self._stick = True
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def scroll_to_message(self, message_id: int) -> None:
        """Bring a message into view, loading older pages if needed."""
        ids = [m.id for m in self._messages]
        if message_id not in ids:
            return
        while ids.index(message_id) < self._first_shown:
            self.show_earlier()
        widget = self.widget_for(message_id)
        if widget is not None:
            self._stick = False
            self.widget().adjustSize()
            self.ensureWidgetVisible(widget, 0, 40)

    # -- internals ----------------------------------------------------------------------------

    def _add_widget(self, message: Message, position: int | None = None) -> MessageWidget:
        widget = MessageWidget(message, self._ctx, self._column)
        widget.actionRequested.connect(self.actionRequested)
        widget.siblingRequested.connect(self.siblingRequested)
        widget.editSubmitted.connect(self.editSubmitted)
        if position is None:
            self._widgets.append(widget)
            index = len(self._widgets)  # after the "earlier" button and hidden empty state
            self._layout.insertWidget(index + 1, widget)
        else:
            self._widgets.insert(position, widget)
            self._layout.insertWidget(position + 2, widget)
        return widget

    def _clear_widgets(self) -> None:
        for widget in self._widgets:
            self._layout.removeWidget(widget)
            widget.hide()
            widget.deleteLater()
        self._widgets.clear()

    def _update_chrome(self) -> None:
        hidden = self._first_shown
        self._earlier.setVisible(hidden > 0)
        self._earlier.setText(f"Show earlier messages ({hidden})")
        self.empty_state.setVisible(not self._messages)

    @Slot(int, int)
    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._stick:
            self.verticalScrollBar().setValue(maximum)

    @Slot(int)
    def _on_scrolled(self, value: int) -> None:
        self._stick = value >= self.verticalScrollBar().maximum() - STICK_MARGIN
