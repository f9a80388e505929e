"""Chat logic between the store, the engine thread and the chat view.

Sending, regenerating, editing (a new branch), deleting and switching branches all go through
here. A reply is a turn job (``EngineSession.start_turn``): the controller listens to the job
it started, so a stopped or replaced turn can never touch the reply shown now. Streamed text is
buffered and flushed to the last message widget once per frame; after Stop, what the view
shows is what is saved. Messages and errors go to the window's ``NoticeBridge``.

Document collections attached to the conversation (kept in the store; for a chat not yet
saved, kept here until its first message) ground each turn: the engine thread searches them
(``EngineSession.start_turn(grounding=...)``), the reply shows its numbered sources, and a
click on one asks for the source panel (``sourceRequested(Source)``).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.docs.answer import GroundedContext, message_sources
from app.errors import UserFacingError
from app.settings import AppSettings, ConversationSettings
from app.store import ConversationStore, Message, StoreError
from app.ui.common.jobs import Job
from app.ui.common.notices import NoticeBridge, guarded

from .chat_view import ChatView
from .engine_session import Deltas, EngineSession
from .message_widget import MessageWidget

log = logging.getLogger(__name__)

FLUSH_INTERVAL_MS = 25  # 40 updates a second: smooth, and far from saturating the GUI thread
TITLE_LENGTH = 48


def title_from(text: str) -> str:
    """A conversation title from its first message: the first line, shortened."""
    line = " ".join(text.strip().split("\n", 1)[0].split())
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rstrip() + "…"


def prompt_messages(history: list[Message], system_prompt: str) -> list[dict]:
    """What the engine sees: system prompt plus each message's final text (never thinking).

    Assistant messages with no answer (failed, or stopped while thinking) are left out.
    """
    prompt = [{"role": "system", "content": system_prompt}] if system_prompt.strip() else []
    for message in history:
        if message.role == "assistant" and not message.content.strip():
            continue
        prompt.append({"role": message.role, "content": message.content})
    return prompt


class StreamBuffer(QObject):
    """Collects streamed pieces and applies them to one widget per timer tick."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: list[list[str]] = []
        self._widget: MessageWidget | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(FLUSH_INTERVAL_MS)
        self._timer.timeout.connect(self.flush)

    @property
    def widget(self) -> MessageWidget | None:
        return self._widget

    def start(self, widget: MessageWidget) -> None:
        self._pending.clear()
        self._widget = widget
        self._timer.start()

    def add(self, pieces: list[tuple[str, str]]) -> None:
        for channel, text in pieces:
            if self._pending and self._pending[-1][0] == channel:
                self._pending[-1][1] += text
            else:
                self._pending.append([channel, text])

    @Slot()
    def flush(self) -> None:
        widget = self._widget
        if widget is None:
            return
        pending, self._pending = self._pending, []
        for channel, text in pending:
            widget.append_stream(channel, text)
        widget.tick()

    def stop(self) -> MessageWidget | None:
        """Apply what is pending and detach; returns the widget that was streaming."""
        self.flush()
        self._timer.stop()
        widget, self._widget = self._widget, None
        self._pending.clear()
        return widget


class ChatController(QObject):
    """The open conversation and its turns."""

    generatingChanged = Signal(bool)
    conversationsChanged = Signal()  # titles, order or membership changed
    currentChanged = Signal(object)  # Conversation | None
    speedChanged = Signal(object)  # tokens/s or None
    contextChanged = Signal(int, int)  # used tokens, n_ctx
    attachedChanged = Signal(list)  # the open chat's document collections
    sourceRequested = Signal(object)  # app.docs.answer.Source of a clicked citation

    def __init__(
        self,
        store: ConversationStore,
        engine: EngineSession,
        view: ChatView,
        app_settings: AppSettings,
        notices: NoticeBridge,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.engine = engine
        self.view = view
        self.app_settings = app_settings
        self.notices = notices
        self.conv_id: int | None = None
        self._stream = StreamBuffer(self)
        self._streaming_id: int | None = None
        self.turn: Job | None = None  # the turn streaming into the view
        self.docs_library = None  # app.docs.DocsLibrary (set by the window): grounding on
        self.pending_collections: list[str] = []  # attached before the chat is saved
        view.actionRequested.connect(self._on_action)
        view.siblingRequested.connect(self.switch_sibling)
        view.editSubmitted.connect(self.edit_and_resend)

    # -- state --------------------------------------------------------------------------------

    @property
    def generating(self) -> bool:
        return self._streaming_id is not None

    @property
    def streaming_message_id(self) -> int | None:
        return self._streaming_id

    def conversation_settings(self) -> ConversationSettings:
        if self.conv_id is None:
            return ConversationSettings()
        conv = self.store.get_conversation(self.conv_id)
        return ConversationSettings.from_dict(conv.settings)

    def sampling(self):
        """The sampling for the next turn: model preset, app default budget, chat overrides."""
        model = self.engine.model
        if model is None:
            return None
        params = replace(model.default_sampling)
        if self.app_settings.thinking_budget is not None:
            params = replace(params, thinking_budget=self.app_settings.thinking_budget)
        return replace(params, **self.conversation_settings().sampling_overrides())

    # -- conversations ------------------------------------------------------------------------

    def collections(self) -> list[str]:
        """The document collections the open chat answers from."""
        if self.conv_id is None:
            return list(self.pending_collections)
        try:
            return self.store.attached_collections(self.conv_id)
        except StoreError:
            return []

    @Slot(list)
    @guarded("attaching documents to the chat")
    def set_collections(self, names: list[str]) -> None:
        """Answer the open chat from ``names`` (kept in the store once the chat exists)."""
        if self.conv_id is None:
            self.pending_collections = list(dict.fromkeys(names))
        else:
            self.store.set_attached_collections(self.conv_id, list(names))
        self.attachedChanged.emit(self.collections())

    def attach_collection(self, name: str) -> None:
        """Add one collection to the open chat's (no-op if attached)."""
        current = self.collections()
        if name not in current:
            self.set_collections([*current, name])

    def ensure_conversation(self, title: str) -> int:
        """The open conversation's id, creating it (titled ``title``) when the chat is new."""
        if self.conv_id is None:
            self._create_conversation(title)
            self.conversationsChanged.emit()
        return self.conv_id

    def _create_conversation(self, title: str) -> None:
        """Save the new chat, with the collections attached to it before it existed."""
        conv = self.store.create_conversation(title_from(title))
        self.conv_id = conv.id
        if self.pending_collections:
            self.store.set_attached_collections(conv.id, self.pending_collections)
            self.pending_collections = []
        self.currentChanged.emit(conv)

    def open_conversation(self, conv_id: int | None) -> None:
        """Show a conversation (None: a fresh, not yet saved chat)."""
        if self.generating:
            self.stop()
        self.conv_id = conv_id
        self.pending_collections = []
        self.attachedChanged.emit(self.collections())
        if conv_id is None:
            self.view.set_messages([])
            self.currentChanged.emit(None)
            self.contextChanged.emit(0, self._n_ctx())
            return
        try:
            conv = self.store.get_conversation(conv_id)
            messages = self.store.messages(conv_id)
        except StoreError as exc:
            self.notices.report(exc)
            self.conv_id = None
            self.view.set_messages([])
            self.currentChanged.emit(None)
            return
        self.view.set_messages(messages)
        self.currentChanged.emit(conv)
        self.measure_context()

    def measure_context(self) -> None:
        """Ask the engine how much of the context the open conversation takes."""
        if self.conv_id is None or self.engine.model is None:
            self.contextChanged.emit(0, self._n_ctx())
            return
        system = self.conversation_settings().system_prompt
        job = self.engine.count_tokens(prompt_messages(self.view.messages(), system))
        if job is not None:
            job.finished.connect(self._on_tokens_counted)
            job.errored.connect(self._on_count_failed)

    def _n_ctx(self) -> int:
        return self.engine.model.plan.n_ctx if self.engine.model is not None else 0

    # -- turns --------------------------------------------------------------------------------

    def send(self, text: str) -> bool:
        """Add a user message and stream the reply. False (with a notice) if not possible."""
        text = text.strip()
        if not text:
            return False
        if self.engine.model is None:
            self.notices.show("Load a model before sending a message.", "warning")
            return False
        if self.generating:
            self.stop()
        try:
            if self.conv_id is None:
                self._create_conversation(text)
            user = self.store.add_message(self.conv_id, "user", text)
        except StoreError as exc:
            self.notices.report(exc)
            return False
        self.view.append_message(user)
        self._start_reply(user.id)
        self.conversationsChanged.emit()
        return True

    def regenerate(self, message_id: int | None = None) -> None:
        """Answer the same user message again (a sibling reply; the old one stays reachable)."""
        if self.engine.model is None:
            self.notices.show("Load a model before regenerating a reply.", "warning")
            return
        if message_id is None:
            replies = [m for m in self.view.messages() if m.role == "assistant"]
            if not replies:
                return
            message_id = replies[-1].id
        if self.generating:
            self.stop()
        try:
            message = self.store.get_message(message_id)
        except StoreError as exc:
            self.notices.report(exc)
            return
        if message.parent_id is None:
            return
        self._start_reply(message.parent_id)

    @Slot(int, str)
    @guarded("sending the edited message")
    def edit_and_resend(self, message_id: int, text: str) -> None:
        """Send ``text`` in place of a user message, as a new branch beside the old one."""
        if self.engine.model is None:
            self.notices.show("Load a model before sending a message.", "warning")
            return
        if self.generating:
            self.stop()
        try:
            old = self.store.get_message(message_id)
            user = self.store.add_message(old.conv_id, "user", text, parent_id=old.parent_id)
        except StoreError as exc:
            self.notices.report(exc)
            return
        self._start_reply(user.id)

    def _start_reply(self, parent_id: int) -> None:
        try:
            reply = self.store.add_message(
                self.conv_id, "assistant", "", parent_id=parent_id, status="streaming"
            )
            branch = self.store.messages(self.conv_id)
        except StoreError as exc:
            self.notices.report(exc)
            return
        history = branch[:-1]
        if [m.id for m in self.view.messages()] == [m.id for m in history]:
            widget = self.view.append_message(reply)
        else:
            self.view.set_messages(branch)
            widget = self.view.last_widget()
        widget.begin_stream()
        self.view.scroll_to_bottom()
        self._streaming_id = reply.id
        self._stream.start(widget)
        system = self.conversation_settings().system_prompt
        names = self.collections() if self.docs_library is not None else []
        grounding = (self.docs_library, names) if names else None
        job = self.engine.start_turn(
            reply.id, prompt_messages(history, system), self.sampling(), grounding
        )
        job.yielded.connect(self._on_turn_item)
        job.finished.connect(self._on_turn_finished)
        job.errored.connect(self._on_turn_failed)
        self.turn = job
        self.generatingChanged.emit(True)

    def stop(self) -> None:
        """Stop the reply now; the partial text stays, marked as stopped, and is saved as
        shown (after the engine thread has let go of it)."""
        if not self.generating:
            return
        self.engine.stop()
        record = self._end_stream("cancelled", None)
        if record is not None:
            job = self.engine.save_reply(record.id, record.content, record.thinking, "cancelled")
            job.errored.connect(self._on_save_failed)

    def _end_stream(self, status: str, stats: dict | None) -> Message | None:
        """End the streaming reply in the view; returns it as the view shows it."""
        widget = self._stream.stop()
        message_id, self._streaming_id = self._streaming_id, None
        self.turn = None
        record = None
        if widget is not None:
            widget.end_stream(status, stats)
            record = widget.message
            try:  # sibling counts come from the store; the text is what the view shows
                stored = self.store.get_message(message_id)
                record = replace(
                    record, sibling_index=stored.sibling_index, sibling_count=stored.sibling_count
                )
            except StoreError:
                pass
            widget.set_record(record)
            self.view.replace_message(record, rerender=False)
        self.generatingChanged.emit(False)
        return record

    @Slot(object)
    @guarded("showing the reply")
    def _on_turn_item(self, item: object) -> None:
        if isinstance(item, Deltas):
            self._stream.add(item.pieces)
        elif isinstance(item, GroundedContext):
            if self._stream.widget is not None:
                self._stream.widget.citations.show_sources(list(item.sources), item.notice)
        else:  # app.engine.ContextNotice
            dropped = len(item.dropped_indices)
            self.notices.show(
                f"The conversation is longer than the model's context window "
                f"({item.n_ctx:,} tokens): the {dropped} oldest message"
                f"{'s were' if dropped != 1 else ' was'} left out of what the model sees.",
                "warning",
            )

    @Slot(object)
    @guarded("finishing the reply")
    def _on_turn_finished(self, outcome: tuple) -> None:
        _result, stats = outcome
        status = "cancelled" if stats.get("stop_reason") == "cancelled" else "complete"
        self._end_stream(status, stats)
        self.speedChanged.emit(stats.get("tokens_per_s"))
        used = int(stats.get("prompt_tokens", 0)) + int(stats.get("completion_tokens", 0))
        self.contextChanged.emit(used, int(stats.get("n_ctx") or self._n_ctx()))
        self.conversationsChanged.emit()

    @Slot(object)
    def _on_turn_failed(self, error: UserFacingError) -> None:
        if self.generating:
            self._end_stream("error", {"error": error.text()})
        self.notices.report(error, "generating the reply")

    @Slot(object)
    def _on_save_failed(self, error: UserFacingError) -> None:
        self.notices.report(error, "saving the reply")

    @Slot(object)
    def _on_tokens_counted(self, counted: tuple[int, int]) -> None:
        self.contextChanged.emit(*counted)

    @Slot(object)
    def _on_count_failed(self, error: UserFacingError) -> None:
        self.notices.report(error, "measuring the conversation", kind="warning")

    # -- message actions ----------------------------------------------------------------------

    @Slot(str, int)
    @guarded("acting on the message")
    def _on_action(self, action: str, message_id: int) -> None:
        if action == "regenerate":
            self.regenerate(message_id)
        elif action == "delete":
            self.delete_message(message_id)
        elif action.startswith("source:"):
            self.open_source(message_id, int(action.split(":", 1)[1]))

    def open_source(self, message_id: int, number: int) -> None:
        """Ask for the source panel on source ``number`` of a reply (``sourceRequested``)."""
        sources = message_sources(self.store.get_message(message_id))
        widget = self._stream.widget
        if not sources and widget is not None and widget.message.id == message_id:
            sources = widget.citations.sources  # still streaming: not stored yet
        for source in sources:
            if source.number == number:
                self.sourceRequested.emit(source)
                return

    def delete_message(self, message_id: int) -> None:
        """Delete a message and the replies below it."""
        if self._streaming_id is not None:
            self.stop()
        try:
            self.store.delete_message(message_id)
            messages = self.store.messages(self.conv_id) if self.conv_id is not None else []
        except StoreError as exc:
            self.notices.report(exc)
            return
        self.view.set_messages(messages)
        self.measure_context()

    @Slot(int, int)
    @guarded("switching to another reply")
    def switch_sibling(self, message_id: int, step: int) -> None:
        """Show the previous/next alternative of a message (and the branch below it)."""
        if self.conv_id is None:
            return
        if self.generating:
            self.stop()
        try:
            siblings = self.store.siblings(message_id)
            ids = [m.id for m in siblings]
            target = ids[max(0, min(len(ids) - 1, ids.index(message_id) + step))]
            branch = self.store.set_active_leaf(self.conv_id, target)
        except (StoreError, ValueError) as exc:
            self.notices.report(exc, "switching to another reply")
            return
        self.view.set_messages(branch)
        self.view.scroll_to_message(target)
        self.measure_context()

    def show_message(self, conv_id: int, message_id: int) -> None:
        """Open a conversation on the branch holding ``message_id`` and scroll to it."""
        if self.generating:
            self.stop()
        try:
            self.store.set_active_leaf(conv_id, message_id)
        except StoreError as exc:
            self.notices.report(exc)
            return
        self.open_conversation(conv_id)
        self.view.scroll_to_message(message_id)
