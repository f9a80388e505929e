"""Status bar (model, device, speed, context meter) and the dismissible notice bar."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStatusBar,
    QToolButton,
    QWidget,
)

# The meter warns from here on: the next long reply may push older messages out.
CONTEXT_WARN_FRACTION = 0.75


def context_level(used: int, n_ctx: int, reserve: int = 0) -> str:
    """ "ok", "warn" (nearly full) or "full" (older messages are being left out)."""
    if n_ctx <= 0:
        return "ok"
    if used + reserve >= n_ctx:
        return "full"
    if used >= CONTEXT_WARN_FRACTION * n_ctx:
        return "warn"
    return "ok"


class ChatStatusBar(QStatusBar):
    """Model · device · tokens/s · context meter."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self.model_label = QLabel("No model loaded", self)
        self.model_label.setAccessibleName("Loaded model")
        self.device_label = QLabel(self)
        self.device_label.setAccessibleName("Device")
        self.speed_label = QLabel(self)
        self.speed_label.setAccessibleName("Generation speed")
        self.addWidget(self.model_label)
        self.addWidget(self.device_label)
        self.addWidget(self.speed_label)
        self.context_label = QLabel(self)
        self.context_label.setAccessibleName("Context used")
        self.meter = QProgressBar(self)
        self.meter.setObjectName("ContextMeter")
        self.meter.setAccessibleName("Context window used")
        self.meter.setTextVisible(False)
        self.meter.setFixedWidth(120)
        self.meter.setRange(0, 100)
        meter_box = QWidget(self)
        box = QHBoxLayout(meter_box)
        box.setContentsMargins(0, 0, 12, 0)
        box.setSpacing(6)
        box.addStretch(1)
        box.addWidget(self.context_label)
        box.addWidget(self.meter)
        self.addPermanentWidget(meter_box)
        self.set_context(0, 0)

    def set_model(self, name: str | None, detail: str = "") -> None:
        self.model_label.setText(name or "No model loaded")
        self.model_label.setToolTip(detail)

    def set_device(self, text: str, tooltip: str = "") -> None:
        self.device_label.setText(text)
        self.device_label.setToolTip(tooltip)

    def set_speed(self, tokens_per_s: float | None) -> None:
        self.speed_label.setText(f"{tokens_per_s:.1f} tok/s" if tokens_per_s else "")

    def set_context(self, used: int, n_ctx: int, reserve: int = 0) -> str:
        """Show ``used`` of ``n_ctx`` tokens; returns the level ("ok", "warn", "full")."""
        level = context_level(used, n_ctx, reserve)
        self.meter.setVisible(n_ctx > 0)
        self.context_label.setVisible(n_ctx > 0)
        if n_ctx <= 0:
            return level
        self.meter.setValue(min(100, round(100 * used / n_ctx)))
        self.meter.setProperty("level", level)
        self.meter.style().unpolish(self.meter)
        self.meter.style().polish(self.meter)
        text = f"{used:,} / {n_ctx:,} tokens"
        tip = "Tokens of the context window the conversation uses."
        if level == "warn":
            text = "Context nearly full · " + text
            tip += " Soon the oldest messages will be left out of what the model sees."
        elif level == "full":
            text = "Context full · " + text
            tip += " The oldest messages are left out of what the model sees."
        self.context_label.setText(text)
        self.context_label.setToolTip(tip)
        self.meter.setToolTip(tip)
        self.meter.setAccessibleDescription(text)
        return level


class NoticeBar(QFrame):
    """A dismissible message above the chat (warnings, errors), with an optional action."""

    actionTriggered = Signal(str)  # the action key given to show()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NoticeBar")
        self.setProperty("kind", "info")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 6, 8)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setAccessibleName("Notice")
        layout.addWidget(self.label, 1)
        self.action = QPushButton(self)
        self.action.clicked.connect(self._on_action)
        layout.addWidget(self.action)
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("ActionButton")
        self.close_button.setText("✕")
        self.close_button.setAccessibleName("Dismiss notice")
        self.close_button.clicked.connect(self.dismiss)
        layout.addWidget(self.close_button)
        self._action_key = ""
        self.hide()

    @property
    def kind(self) -> str:
        return str(self.property("kind"))

    def text(self) -> str:
        return self.label.text()

    def show_notice(self, text: str, kind: str = "info", action: str = "", key: str = "") -> None:
        """Show ``text``; kind is "info", "warning" or "error"; ``action`` labels a button."""
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        for child in (self.label, self.action):
            child.style().unpolish(child)
            child.style().polish(child)
        self.label.setText(text)
        self.action.setText(action)
        self.action.setVisible(bool(action))
        self._action_key = key
        self.show()

    @Slot()
    def dismiss(self) -> None:
        self.hide()

    @Slot()
    def _on_action(self) -> None:
        self.hide()
        self.actionTriggered.emit(self._action_key)
