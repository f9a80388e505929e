"""The "Connect to a server" dialog: chat with this computer's model, or with an
OpenAI-compatible endpoint (address, API key, one of its models). The endpoint's models are
fetched off the GUI thread, only when the user presses Test connection; nothing is sent before."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import UserFacingError
from app.remote import EndpointChoice, RemoteEndpoint, RemoteEngine, RemoteModel
from app.ui.common.jobs import Job, JobLane
from app.ui.common.widgets import muted_label, set_label_text

from .key_field import KeyField

URL_EXAMPLE = "http://192.168.1.20:8080/v1"
FIRST_MODEL = "(the server's first model)"


def models_text(host: str, models: list[RemoteModel]) -> str:
    """What a successful test says: "Connected to h:8080: 2 models (qwq-32b: 32,768 tokens)"."""
    if not models:
        return f"Connected to {host}, but it lists no models: type the model's name."
    count = f"{len(models)} model{'s' if len(models) != 1 else ''}"
    sizes = [f"{m.id}: {m.context_length:,} tokens" for m in models[:3] if m.context_length]
    return f"Connected to {host}: {count}" + (f" ({'; '.join(sizes)})" if sizes else "") + "."


class ConnectDialog(QDialog):
    """Pick this computer or an endpoint. After ``accepted``: ``choice()`` (None: this
    computer) and ``api_key()``. ``keyring``: whether keys can be remembered."""

    def __init__(
        self,
        choice: EndpointChoice | None,
        api_key: str | None = None,
        *,
        keyring: bool = True,
        key_pending: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        """``key_pending``: the key is still being read from the keyring; ``key_field.read``
        fills it in (unless the user typed one meanwhile)."""
        super().__init__(parent)
        self.setObjectName("ConnectDialog")
        self.setWindowTitle("Connect to a server")
        self.lane = JobLane("RemoteTestThread", self)
        self.test_job: Job | None = None
        self.models: list[RemoteModel] = []
        self._build(keyring)
        self.key_field = KeyField(self.key, "none", pending=key_pending)
        if choice is not None:
            self.url.setText(choice.url)
            self._set_model(choice.model)
        self.key.setText(api_key or "")
        (self.server if choice is not None and choice.active else self.local).setChecked(True)
        self._update()
        self.adjustSize()

    def _build(self, keyring: bool) -> None:
        layout = QVBoxLayout(self)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)  # grows with the text
        layout.setContentsMargins(20, 18, 20, 14)
        layout.setSpacing(8)
        self.local = QRadioButton("This computer")
        self.local.setAccessibleDescription("Chat with a model loaded here")
        self.server = QRadioButton("A server with an OpenAI-compatible API")
        self.server.setAccessibleDescription("llama-server, vLLM, Ollama or QwQ Desktop's API")
        group = QButtonGroup(self)
        for button in (self.local, self.server):
            group.addButton(button)
            button.toggled.connect(self._update)
        layout.addWidget(self.local)
        layout.addWidget(_indented(muted_label("Models run here. Nothing you type leaves it.")))
        layout.addWidget(self.server)
        layout.addWidget(
            _indented(
                muted_label(
                    "llama.cpp's llama-server, vLLM, Ollama, or QwQ Desktop's own API on a "
                    "bigger machine. Once you connect, what you type in chats is sent to it."
                )
            )
        )
        self.form_box = QWidget(self)
        form = QFormLayout(self.form_box)
        form.setContentsMargins(24, 4, 0, 0)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.url = QLineEdit()
        self.url.setPlaceholderText(URL_EXAMPLE)
        self.url.setAccessibleName("Server address")
        self.url.setClearButtonEnabled(True)
        self.url.textChanged.connect(self._on_address_edited)
        form.addRow("Address", self.url)
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setAccessibleName("API key")
        self.key.textChanged.connect(self._on_address_edited)
        form.addRow("API key", self.key)
        self.key_note = muted_label(
            "Kept in the system keyring, never in the settings file."
            if keyring
            else "This computer has no keyring: the key is kept until you quit, not remembered."
        )
        form.addRow("", self.key_note)
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.setAccessibleName("Model")
        self.model.lineEdit().setPlaceholderText(FIRST_MODEL)
        self.test_button = QPushButton("Test connection")
        self.test_button.setToolTip("Ask the server for its models (/v1/models)")
        self.test_button.clicked.connect(self.test_connection)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.test_button)
        form.addRow("Model", model_row)
        self.status = muted_label("Press Test connection to list the server's models.")
        self.status.setAccessibleName("Connection test result")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("", self.status)
        layout.addWidget(self.form_box)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setObjectName("PrimaryButton")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.setMinimumWidth(560)  # the layout's minimum is the dialog's
        layout.addWidget(self.buttons)

    # -- what the user chose ----------------------------------------------------------------
    def choice(self) -> EndpointChoice | None:
        """The endpoint (its address normalised), or None for this computer."""
        if self.local.isChecked():
            return None
        model = self.model.currentText().strip()
        return EndpointChoice(self._endpoint().base_url, model or None)

    def api_key(self) -> str | None:
        """The key typed (empty: none); None while it is neither read nor typed (the saved
        key is then left as it is)."""
        return self.key_field.value()

    def _endpoint(self) -> RemoteEndpoint:
        model = self.model.currentText().strip() or None
        key = self.key.text().strip() or None
        return RemoteEndpoint(self.url.text().strip(), api_key=key, model=model)

    # -- testing -----------------------------------------------------------------------------
    @Slot()
    def test_connection(self) -> None:
        """Ask the endpoint for its models in the background (replacing a test under way)."""
        try:
            endpoint = self._endpoint()
            endpoint.base_url  # noqa: B018 - a malformed address is refused here
        except UserFacingError as exc:
            self._show_status(exc.text(), error=True)
            return
        self._drop_test()
        self._show_status(f"Asking {endpoint.host} for its models…")
        self.test_button.setEnabled(False)
        job = self.lane.submit(partial(_fetch_models, endpoint), "testing the connection")
        job.finished.connect(lambda models: self._on_tested(endpoint.host, models))
        job.errored.connect(self._on_test_failed)
        self.test_job = job

    def _on_tested(self, host: str, models: list[RemoteModel]) -> None:
        self.test_job = None
        self.models = list(models)
        current = self.model.currentText().strip()
        ids = [m.id for m in models]
        self.model.clear()
        self.model.addItems(ids)
        self._set_model(current or (ids[0] if ids else None))
        text = models_text(host, self.models)
        if current and ids and current not in ids:
            text += f" It does not list {current}: pick one of its models."
        self._show_status(text, error=current not in ids and bool(ids and current))
        self._update()

    @Slot(object)
    def _on_test_failed(self, error: UserFacingError) -> None:
        self.test_job = None
        self._show_status(error.text(), error=True)
        self._update()

    def _drop_test(self) -> None:
        job, self.test_job = self.test_job, None
        if job is not None:
            job.discard()

    # -- state -------------------------------------------------------------------------------
    @Slot()
    def _on_address_edited(self) -> None:
        if self.test_job is not None:  # a test of the old address says nothing of the new
            self._drop_test()
            self._show_status("Press Test connection to list the server's models.")
        self._update()

    @Slot()
    def _update(self) -> None:
        remote = self.server.isChecked()
        if self.form_box.isHidden() == remote:  # the server's fields only when chosen
            self.form_box.setVisible(remote)
            self.adjustSize()
        self.test_button.setEnabled(remote and bool(self.url.text().strip()) and not self.test_job)
        self.ok.setEnabled(not remote or bool(self.url.text().strip()))
        self.ok.setText("Connect" if remote else "Use this computer")

    def _set_model(self, name: str | None) -> None:
        if name and self.model.findText(name) < 0:
            self.model.addItem(name)
        self.model.setCurrentIndex(self.model.findText(name) if name else -1)
        if not name:
            self.model.setEditText("")

    def _show_status(self, text: str, error: bool = False) -> None:
        set_label_text(self.status, text, error=error)

    def accept(self) -> None:
        """Refuse an address that is not one (said below the fields), else close."""
        if self.server.isChecked():
            try:
                self._endpoint().base_url  # noqa: B018
            except UserFacingError as exc:
                self._show_status(exc.text(), error=True)
                return
        super().accept()

    def done(self, result: int) -> None:
        self.shutdown()
        super().done(result)

    def shutdown(self) -> None:
        """Stop a test under way and its thread (idempotent)."""
        self._drop_test()
        self.lane.shutdown()


def _fetch_models(endpoint: RemoteEndpoint, job: Job) -> list[RemoteModel] | None:
    """The endpoint's models (test thread); a cancelled test lets go at once."""
    engine = RemoteEngine(endpoint)
    try:
        return engine.list_models(job.cancel)
    finally:
        engine.close()


def _indented(widget: QWidget) -> QWidget:
    if isinstance(widget, QLabel):
        widget.setContentsMargins(24, 0, 0, 4)
    return widget
