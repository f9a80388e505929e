"""Status bar: model, load progress, device, speed, the API server's indicator, context meter."""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
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


def context_warning(used: int, n_ctx: int, level: str) -> str:
    """What the window says once when the context meter reaches ``level`` ("warn" or "full")."""
    if level == "warn":
        return (
            f"This conversation uses {used:,} of the model's {n_ctx:,}-token context. "
            "When it is full, the oldest messages will be left out of what the model "
            "sees; start a new chat to keep everything in view."
        )
    return (
        f"This conversation ({used:,} tokens) no longer fits the model's "
        f"{n_ctx:,}-token context with room for a reply: the oldest messages are "
        "left out of what the model sees. Start a new chat to keep everything in view."
    )


def elapsed_text(seconds: int) -> str:
    """ "12 s", "1 min 15 s"."""
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


def loading_text(name: str, seconds: int, fraction: float | None = None) -> str:
    """ "Loading qwq-32b-q4_k_m… 45 %" once llama.cpp reports progress, before that the time
    spent reading the header and planning: "Loading qwq-32b-q4_k_m… 12 s"."""
    if fraction is not None:
        return f"Loading {name}… {percent(fraction)} %"
    return f"Loading {name}… {elapsed_text(seconds)}"


def api_text(url: str, active: int = 0) -> str:
    """ "API on · 127.0.0.1:8080", with "· 2 requests" while some run."""
    address = url.split("://", 1)[-1].removesuffix("/v1")
    text = f"API on · {address}"
    if active:
        text += f" · {active} request{'s' if active > 1 else ''}"
    return text


def percent(fraction: float) -> int:
    """0..100; 100 only when the load is complete (0.996 shows 99)."""
    return int(min(1.0, max(0.0, fraction)) * 100)


class ChatStatusBar(QStatusBar):
    """Model (a button that opens the Models page, or the Connect dialog for a server's) ·
    load progress and its Cancel button · device · tokens/s · the API server (a button that
    opens its request log, shown while it runs) · context meter."""

    modelClicked = Signal()
    cancelLoadRequested = Signal()
    apiClicked = Signal()

    def __init__(self, parent: QWidget | None = None, models_hint: str = "Models…") -> None:
        """``models_hint`` ends the model button's tooltip (what clicking it opens)."""
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self._models_hint = models_hint
        self.model_label = QToolButton(self)
        self.model_label.setObjectName("StatusModel")
        self.model_label.setText("No model loaded")
        self.model_label.setAccessibleName("Loaded model")
        self.model_label.setAccessibleDescription("Opens the Models page")
        self.model_label.setToolTip(models_hint)
        self.model_label.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.model_label.clicked.connect(self.modelClicked)
        self.loading_bar = QProgressBar(self)
        self.loading_bar.setObjectName("LoadingBar")
        self.loading_bar.setAccessibleName("Loading the model")
        self.loading_bar.setTextVisible(False)  # the percentage is in the model label
        self.loading_bar.setFixedWidth(80)
        self.loading_bar.hide()
        self.cancel_load_button = QToolButton(self)
        self.cancel_load_button.setObjectName("ActionButton")  # the theme styles it
        self.cancel_load_button.setText("Cancel")
        self.cancel_load_button.setAccessibleName("Cancel loading the model")
        self.cancel_load_button.setToolTip("Cancel loading the model (Esc)")
        self.cancel_load_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.cancel_load_button.clicked.connect(self.cancelLoadRequested)
        self.cancel_load_button.hide()
        self._loading_name = ""
        self._loading_fraction: float | None = None
        self._cancelling = False
        self._loading_clock = QElapsedTimer()
        self._loading_timer = QTimer(self, interval=1000)
        self._loading_timer.timeout.connect(self._show_elapsed)
        self.device_label = QLabel(self)
        self.device_label.setObjectName("DeviceLabel")
        self.device_label.setAccessibleName("Device")
        self.device_label.setProperty("level", "ok")
        self.speed_label = QLabel(self)
        self.speed_label.setAccessibleName("Generation speed")
        self.addWidget(self.model_label)
        self.addWidget(self.loading_bar)
        self.addWidget(self.cancel_load_button)
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
        self.api_button = QToolButton(self)
        self.api_button.setObjectName("StatusModel")  # styled like the model button
        self.api_button.setAccessibleName("Local API server")
        self.api_button.setAccessibleDescription("Opens the API request log")
        self.api_button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.api_button.clicked.connect(self.apiClicked)
        self.api_button.hide()
        self.addPermanentWidget(self.api_button)
        self.addPermanentWidget(meter_box)
        self.set_context(0, 0)

    def set_model(self, name: str | None, detail: str = "", *, remote: bool = False) -> None:
        """Show the loaded model (ends the loading indicator); a ``remote`` one's button opens
        the Connect dialog, not the Models page."""
        self.stop_loading()
        self.model_label.setText(name or "No model loaded")
        tip = "Connect to a server…" if remote else self._models_hint
        self.model_label.setToolTip(f"{detail}\n\n{tip}" if detail else tip)
        self.model_label.setAccessibleDescription(
            "Opens the server connection" if remote else "Opens the Models page"
        )

    def start_loading(self, name: str) -> None:
        """Show the model's name, a busy bar with the seconds since loading began (until
        llama.cpp reports a percentage: ``set_load_progress``) and a Cancel button."""
        self._loading_name = name
        self._loading_fraction = None
        self._cancelling = False
        self._loading_clock.start()
        self._loading_timer.start()
        self.loading_bar.setRange(0, 0)  # busy until the first percentage
        self.loading_bar.show()
        self.cancel_load_button.setEnabled(True)
        self.cancel_load_button.setText("Cancel")
        self.cancel_load_button.show()
        self.set_device("")
        self._show_elapsed()

    def set_load_progress(self, fraction: float) -> None:
        """Show how much of the model llama.cpp has loaded (0..1) as a percentage."""
        if not self.loading or self._cancelling:
            return  # not loading, or cancelling: a late report changes nothing
        self._loading_fraction = fraction
        self.loading_bar.setRange(0, 100)
        self.loading_bar.setValue(percent(fraction))
        self._show_elapsed()

    def set_cancelling(self) -> None:
        """The user cancelled: say so until the engine thread confirms (``stop_loading``)."""
        if not self.loading:
            return
        self._cancelling = True
        self.cancel_load_button.setEnabled(False)
        self.cancel_load_button.setText("Cancelling…")
        self.model_label.setText(f"Cancelling the load of {self._loading_name}…")

    def stop_loading(self) -> None:
        self._loading_timer.stop()
        self.loading_bar.hide()
        self.cancel_load_button.hide()

    @property
    def loading(self) -> bool:
        return self._loading_timer.isActive()

    @property
    def cancelling(self) -> bool:
        return self.loading and self._cancelling

    @property
    def load_percent(self) -> int | None:
        """The percentage shown, None before llama.cpp reported one."""
        return None if self._loading_fraction is None else self.loading_bar.value()

    @Slot()
    def _show_elapsed(self) -> None:
        if self._cancelling:
            return  # "Cancelling…" stays
        seconds = int(self._loading_clock.elapsed() // 1000)
        self.model_label.setText(loading_text(self._loading_name, seconds, self._loading_fraction))
        self.model_label.setToolTip(
            f"llama.cpp is reading the model into memory ({elapsed_text(seconds)} so far)"
        )
        self.loading_bar.setAccessibleDescription(self.model_label.text())

    def set_device(self, text: str, tooltip: str = "", warning: bool = False) -> None:
        """What llama.cpp really runs on; ``warning`` marks it (e.g. a GPU left unused)."""
        self.device_label.setText(f"⚠ {text}" if warning and text else text)
        self.device_label.setToolTip(tooltip)
        self.device_label.setProperty("level", "warning" if warning else "ok")
        self.device_label.style().unpolish(self.device_label)
        self.device_label.style().polish(self.device_label)

    def set_api_server(self, url: str | None, active: int = 0) -> None:
        """Show that the API server runs at ``url`` (hidden when None), ``active`` requests."""
        self.api_button.setVisible(url is not None)
        if url is None:
            return
        self.api_button.setText(api_text(url, active))
        self.api_button.setToolTip(
            f"The local API server is on: OpenAI clients use base_url {url}\n"
            "Click for the request log."
        )

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
