"""Settings: this conversation (system prompt, sampling), the app (threads, GPU, theme, ...)
and the local API server (on/off, address, key).

Sampling fields left at "Model default" follow the loaded model's recommended preset; "Reset to
recommended" clears every override. An API server address beyond this computer without a key
is refused before the dialog closes.
"""

from __future__ import annotations

import secrets as random_secrets
from dataclasses import dataclass

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.server import ServerConfig, ServerConfigError
from app.settings import KV_CACHE_TYPES, THEMES, AppSettings, ConversationSettings

from .key_field import KeyField

AUTO = -2  # spin-box value meaning "None" (auto / model default)
KEY_PLACEHOLDER = "None (required beyond 127.0.0.1)"


class OptionalSpinBox(QSpinBox):
    """An int spin box whose lowest value means None, with named special values."""

    def __init__(self, minimum: int, maximum: int, names: dict[int, str], parent=None) -> None:
        super().__init__(parent)
        self._names = names
        self.setRange(minimum, maximum)

    def textFromValue(self, value: int) -> str:
        return self._names.get(value, str(value))

    def valueFromText(self, text: str) -> int:
        for value, name in self._names.items():
            if text.strip().lower() == name.lower():
                return value
        try:
            return int(text)
        except ValueError:
            return self.minimum()

    def validate(self, text, pos):
        if any(name.lower().startswith(text.strip().lower()) for name in self._names.values()):
            return QValidator.State.Acceptable, text, pos
        return super().validate(text, pos)

    def optional_value(self) -> int | None:
        return None if self.value() == self.minimum() else self.value()

    def set_optional_value(self, value: int | None) -> None:
        self.setValue(self.minimum() if value is None else value)


@dataclass(frozen=True)
class _FloatField:
    name: str
    label: str
    minimum: float
    maximum: float
    step: float
    decimals: int


FLOAT_FIELDS = (
    _FloatField("temperature", "Temperature", 0.0, 5.0, 0.05, 2),
    _FloatField("top_p", "Top p", 0.0, 1.0, 0.01, 2),
    _FloatField("min_p", "Min p", 0.0, 1.0, 0.01, 2),
    _FloatField("presence_penalty", "Presence penalty", -2.0, 2.0, 0.1, 2),
)


class SettingsDialog(QDialog):
    """Edit one conversation's settings and the app settings; read the results after exec()."""

    def __init__(
        self,
        app_settings: AppSettings,
        conversation: ConversationSettings | None,
        preset: object | None = None,  # app.engine.SamplingParams of the loaded model
        parent: QWidget | None = None,
        *,
        api_key: str | None = None,
        key_pending: bool = False,
    ) -> None:
        """``key_pending``: the API key is still being read from the keyring; ``key_field.read``
        fills it in (unless the user typed one meanwhile)."""
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        self._preset = preset
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget(self)
        layout.addWidget(self.tabs)
        self._conv_fields: dict[str, QDoubleSpinBox | OptionalSpinBox] = {}
        if conversation is not None:
            self.tabs.addTab(self._conversation_tab(conversation), "This conversation")
        self.tabs.addTab(self._app_tab(app_settings), "Application")
        self.tabs.addTab(self._api_tab(app_settings, api_key or ""), "Local API")
        self.key_field = KeyField(self.api_key_edit, KEY_PLACEHOLDER, pending=key_pending)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._conversation = conversation
        self._app = app_settings

    # -- conversation tab ---------------------------------------------------------------------

    def _hint(self, name: str) -> str:
        value = getattr(self._preset, name, None) if self._preset is not None else None
        if value is None:
            return "Model default"
        return (
            f"Model default ({value:g})" if isinstance(value, float) else f"Model default ({value})"
        )

    def _conversation_tab(self, conv: ConversationSettings) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.system_prompt = QPlainTextEdit(page)
        self.system_prompt.setObjectName("SystemPrompt")
        self.system_prompt.setAccessibleName("System prompt")
        self.system_prompt.setPlaceholderText(
            "Optional instructions the model follows in this chat"
        )
        self.system_prompt.setPlainText(conv.system_prompt)
        self.system_prompt.setTabChangesFocus(True)
        self.system_prompt.setFixedHeight(90)
        form.addRow("System prompt", self.system_prompt)
        for spec in FLOAT_FIELDS:
            box = QDoubleSpinBox(page)
            box.setDecimals(spec.decimals)
            box.setSingleStep(spec.step)
            box.setRange(spec.minimum - spec.step, spec.maximum)
            box.setSpecialValueText(self._hint(spec.name))
            value = getattr(conv, spec.name)
            box.setValue(box.minimum() if value is None else value)
            box.setAccessibleName(spec.label)
            self._conv_fields[spec.name] = box
            form.addRow(spec.label, box)
        for name, label, unset, maximum, step in (
            ("top_k", "Top k", -1, 1000, 1),
            ("max_tokens", "Max tokens", 0, 1_048_576, 256),
            ("thinking_budget", "Thinking budget (tokens)", -1, 1_048_576, 256),
        ):
            box = OptionalSpinBox(unset, maximum, {unset: self._hint(name)}, page)
            box.setSingleStep(step)
            box.setAccessibleName(label)
            box.set_optional_value(getattr(conv, name))
            self._conv_fields[name] = box
            form.addRow(label, box)
        note = QLabel(
            "Thinking is kept in the history but never sent back to the model. A thinking "
            "budget makes the model stop thinking and answer after that many tokens.",
            page,
        )
        note.setWordWrap(True)
        note.setObjectName("MutedLabel")
        form.addRow(note)
        self.reset_button = QPushButton("Reset to recommended", page)
        self.reset_button.setAccessibleName("Reset sampling to the model's recommended preset")
        self.reset_button.clicked.connect(self.reset_sampling)
        form.addRow(self.reset_button)
        return page

    @Slot()
    def reset_sampling(self) -> None:
        for box in self._conv_fields.values():
            box.setValue(box.minimum())

    def conversation_settings(self) -> ConversationSettings | None:
        """The edited conversation settings (None if this dialog had no conversation)."""
        if self._conversation is None:
            return None
        values: dict = {"system_prompt": self.system_prompt.toPlainText()}
        for name, box in self._conv_fields.items():
            if box.value() == box.minimum():
                values[name] = None
            else:
                values[name] = box.value()
        return ConversationSettings.from_dict(values)

    # -- app tab ------------------------------------------------------------------------------

    def _app_tab(self, app: AppSettings) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.threads = OptionalSpinBox(0, 512, {0: "Auto"}, page)
        self.threads.setAccessibleName("CPU threads")
        self.threads.set_optional_value(app.threads)
        form.addRow("CPU threads", self.threads)
        self.gpu_layers = OptionalSpinBox(AUTO, 10_000, {AUTO: "Auto", -1: "All layers"}, page)
        self.gpu_layers.setAccessibleName("GPU layers")
        self.gpu_layers.set_optional_value(app.gpu_layers)
        form.addRow("GPU layers", self.gpu_layers)
        self.context_size = OptionalSpinBox(0, 1_048_576, {0: "Auto"}, page)
        self.context_size.setSingleStep(1024)
        self.context_size.setAccessibleName("Context size in tokens")
        self.context_size.set_optional_value(app.context_size)
        form.addRow("Context size", self.context_size)
        self.kv_cache = QComboBox(page)
        self.kv_cache.addItems(list(KV_CACHE_TYPES))
        self.kv_cache.setCurrentText(app.kv_cache_type)
        self.kv_cache.setAccessibleName("KV cache type")
        form.addRow("KV cache", self.kv_cache)
        self.app_thinking_budget = OptionalSpinBox(-1, 1_048_576, {-1: "No limit"}, page)
        self.app_thinking_budget.setAccessibleName("Default thinking budget")
        self.app_thinking_budget.set_optional_value(app.thinking_budget)
        form.addRow("Thinking budget", self.app_thinking_budget)
        self.theme = QComboBox(page)
        for theme in THEMES:
            self.theme.addItem({"system": "Follow the system"}.get(theme, theme.title()), theme)
        self.theme.setCurrentIndex(list(THEMES).index(app.theme))
        self.theme.setAccessibleName("Theme")
        form.addRow("Theme", self.theme)
        self.font_size = QSpinBox(page)
        self.font_size.setRange(6, 48)
        self.font_size.setValue(app.font_size)
        self.font_size.setSuffix(" pt")
        self.font_size.setAccessibleName("Font size")
        form.addRow("Font size", self.font_size)
        note = QLabel(
            "Auto lets the memory planner choose from this computer's memory. Threads, GPU "
            "layers, context size and KV cache apply when a model is next loaded on this "
            "computer (a server you connect to keeps its own).",
            page,
        )
        note.setWordWrap(True)
        note.setObjectName("MutedLabel")
        form.addRow(note)
        return page

    def app_settings(self) -> AppSettings:
        """The edited app settings (fields not shown here are kept)."""
        data = self._app.to_dict()
        data.update(
            threads=self.threads.optional_value(),
            gpu_layers=self.gpu_layers.optional_value(),
            context_size=self.context_size.optional_value(),
            kv_cache_type=self.kv_cache.currentText(),
            thinking_budget=self.app_thinking_budget.optional_value(),
            theme=self.theme.currentData(),
            font_size=self.font_size.value(),
            api_server=self.api_enabled.isChecked(),
            api_host=self.api_host.text().strip() or "127.0.0.1",
            api_port=self.api_port.value(),
        )
        return AppSettings.from_dict(data)

    # -- local API tab ------------------------------------------------------------------------

    def _api_tab(self, app: AppSettings, key: str) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.api_enabled = QCheckBox("Serve the loaded model to other apps", page)
        self.api_enabled.setAccessibleName("Local API server")
        self.api_enabled.setChecked(app.api_server)
        form.addRow(self.api_enabled)
        self.api_host = QLineEdit(app.api_host, page)
        self.api_host.setAccessibleName("API server address")
        self.api_host.setPlaceholderText("127.0.0.1")
        form.addRow("Address", self.api_host)
        self.api_port = QSpinBox(page)
        self.api_port.setRange(0, 65535)
        self.api_port.setSpecialValueText("Any free port")
        self.api_port.setValue(app.api_port)
        self.api_port.setAccessibleName("API server port")
        form.addRow("Port", self.api_port)
        self.api_key_edit = QLineEdit(key, page)
        self.api_key_edit.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        self.api_key_edit.setAccessibleName("API key")
        generate = QPushButton("Generate", page)
        generate.setAccessibleName("Generate an API key")
        generate.clicked.connect(self.generate_key)
        row = QWidget(page)
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.api_key_edit, 1)
        box.addWidget(generate)
        form.addRow("API key", row)
        note = QLabel(
            "Base URL for OpenAI clients: <tt>http://ADDRESS:PORT/v1</tt><br>They send the key "
            "as <tt>Authorization: Bearer KEY</tt>. One reply at a time: a chat sent here "
            "waits for an API reply being written, and API requests "
            "wait for the app's (up to a minute, then “busy, retry later”). The key is kept in "
            "the system keyring.",
            page,
        )
        note.setTextFormat(Qt.TextFormat.RichText)
        note.setWordWrap(True)
        note.setObjectName("MutedLabel")
        form.addRow(note)
        self.api_error = QLabel(page)
        self.api_error.setObjectName("ErrorLabel")
        self.api_error.setWordWrap(True)
        self.api_error.hide()
        form.addRow(self.api_error)
        return page

    @Slot()
    def generate_key(self) -> None:
        self.key_field.typed()
        self.api_key_edit.setText(random_secrets.token_urlsafe(24))

    def api_key(self) -> str | None:
        """The API key typed (empty: none); None while it is neither read nor typed."""
        return self.key_field.value()

    def accept(self) -> None:
        """Close with Save unless the API server's settings cannot be served safely."""
        if self.api_enabled.isChecked():
            config = ServerConfig(
                host=self.api_host.text().strip() or "127.0.0.1",
                port=self.api_port.value(),
                api_key=self.api_key() or None,
            )
            try:
                config.check()
            except ServerConfigError as exc:
                if not self.key_field.known and not config.loopback:
                    hint = "The key is still being read from the system keyring: unlock it, or "
                    hint += "type or generate a key."
                elif not config.api_key and not config.loopback:
                    hint = "Type or generate an API key, or use the address 127.0.0.1."
                else:
                    hint = exc.hint or ""
                self.api_error.setText(f"{exc.message}. {hint}".strip())
                self.api_error.show()
                self.tabs.setCurrentIndex(self.tabs.count() - 1)
                return
        super().accept()
