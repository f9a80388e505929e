"""Replies streamed back to back through the app's engine path, as the chat does it.

``TurnDriver`` plays the part of ``ChatController`` without widgets: it stores the user's
message and an empty "streaming" reply, starts ``EngineSession.start_turn`` (the engine's
thread streams the reply into the store through ``StreamingSaver``), keeps the pieces the
view would show, and either lets the reply end (its token limit) or presses Stop at a random
moment: ``EngineSession.stop`` then ``save_reply`` with the text shown, as the controller does.
Needs a running Qt event loop (``QCoreApplication`` is enough).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace

from PySide6.QtCore import QObject, QTimer, Slot

from app.selftest.tiny_model import LOOP_SCRIPT, TinyModelSpec
from app.store import ConversationStore, Message
from app.ui.chat.engine_session import Deltas, EngineSession

# The model replies stream from: it thinks "hmm ok so" until its token limit. Bigger layers than
# the default tiny model (slower: a few hundred tokens a second on one thread), 32K context.
STREAM_MODEL = TinyModelSpec(name="tiny-qwq-stream", script=LOOP_SCRIPT, n_embd=512, n_ff=1024,
                             n_layer=4, n_head=8, n_kv_head=4, context_length=32768)  # fmt: skip


@dataclass(frozen=True)
class TurnPlan:
    """One reply: its token limit and, when it is stopped, after how many milliseconds."""

    max_tokens: int
    stop_after_ms: int | None


def plan_turn(
    rng: random.Random,
    tokens: tuple[int, int] = (20, 400),
    stop_within_ms: int = 1500,
    stop_share: float = 0.5,
) -> TurnPlan:
    """A random reply of ``tokens`` (low, high) tokens at most; ``stop_share`` of the replies
    are stopped at a random moment of their first ``stop_within_ms``."""
    stop = rng.randrange(0, stop_within_ms) if rng.random() < stop_share else None
    return TurnPlan(rng.randrange(*tokens), stop)


def history_for_engine(history: list[Message]) -> list[dict]:
    """The prompt messages: user messages and replies with an answer (never thinking)."""
    return [
        {"role": m.role, "content": m.content}
        for m in history
        if m.role == "user" or m.content.strip()
    ]


class TurnDriver(QObject):
    """Streams ``count`` replies (None: until killed) one after another, into a new
    conversation every ``per_conversation`` replies (None: all into one).

    ``on_event(name, data)`` hears "reply" (ids of the new messages), "stopping" (Stop was
    pressed), "ended" (the reply as stored once its turn or its Stop-save ended), "error" (a
    failed turn) and "done".
    """

    def __init__(
        self,
        store: ConversationStore,
        session: EngineSession,
        rng: random.Random,
        count: int | None,
        on_event: Callable[[str, dict], None],
        plan: Callable[[random.Random], TurnPlan] = plan_turn,
        per_conversation: int | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.session = session
        self.rng = rng
        self.count = count
        self.on_event = on_event
        self.plan = plan
        self.per_conversation = per_conversation
        self.done = 0
        self.conv_id: int | None = None
        self.reply: Message | None = None
        self.shown: dict[str, list[str]] = {"thinking": [], "answer": []}
        self._turn = None
        self._stop_timer = QTimer(self)
        self._stop_timer.setSingleShot(True)
        self._stop_timer.timeout.connect(self._press_stop)

    def start(self) -> None:
        """Send the next message (call once the model is loaded)."""
        if self.count is not None and self.done >= self.count:
            self.on_event("done", {"replies": self.done})
            return
        plan = self.plan(self.rng)
        if self.conv_id is None or (
            self.per_conversation and self.done % self.per_conversation == 0
        ):
            self.conv_id = self.store.create_conversation(f"reliability {self.done}").id
        user = self.store.add_message(self.conv_id, "user", f"Message {self.done}: think.")
        self.reply = self.store.add_message(self.conv_id, "assistant", "", status="streaming")
        self.shown = {"thinking": [], "answer": []}
        self.on_event("reply", {"conv": self.conv_id, "user": user.id, "reply": self.reply.id,
                                "user_text": user.content})  # fmt: skip
        history = self.store.messages(self.conv_id)[:-1]
        params = replace(
            self.session.model.default_sampling,
            max_tokens=plan.max_tokens,
            seed=self.rng.randrange(2**31),
        )
        job = self.session.start_turn(self.reply.id, history_for_engine(history), params)
        job.yielded.connect(self._on_item)
        job.finished.connect(self._on_finished)
        job.errored.connect(self._on_error)
        self._turn = job
        if plan.stop_after_ms is not None:
            self._stop_timer.start(plan.stop_after_ms)

    @property
    def streaming_id(self) -> int | None:
        """The reply being streamed now, if any."""
        return self.reply.id if self._turn is not None and self.reply is not None else None

    @Slot(object)
    def _on_item(self, item: object) -> None:
        if isinstance(item, Deltas):
            for channel, text in item.pieces:
                self.shown[channel].append(text)

    @Slot(object)
    def _on_finished(self, _outcome: object) -> None:
        self._stop_timer.stop()
        self._ended()

    @Slot(object)
    def _on_error(self, error: object) -> None:
        self._stop_timer.stop()
        self.on_event("error", {"reply": self.reply.id, "error": str(error)})
        self._ended()

    @Slot()
    def _press_stop(self) -> None:
        """Stop as the chat's Stop button does: discard the turn, save what is shown."""
        if self._turn is None:
            return
        self.session.stop()
        self._turn = None
        self.on_event("stopping", {"reply": self.reply.id})
        save = self.session.save_reply(
            self.reply.id,
            "".join(self.shown["answer"]),
            "".join(self.shown["thinking"]),
            "cancelled",
        )
        save.ended.connect(self._ended)

    def _ended(self) -> None:
        self._turn = None
        stored = self.store.get_message(self.reply.id)
        self.done += 1
        self.on_event("ended", {"reply": stored.id, "status": stored.status,
                                "thinking": stored.thinking,
                                "content": stored.content})  # fmt: skip
        QTimer.singleShot(0, self.start)
