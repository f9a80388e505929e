"""Persist a reply while it streams, so a crash loses at most ``interval_s`` of text.

``StreamingSaver.append`` only adds to an in-memory buffer (cheap enough to call per token, from
any thread). A small background thread writes the buffered text to the store every
``interval_s`` seconds while something new arrived, so text is saved even when tokens stall; the
message is marked "streaming" meanwhile. ``finish`` stops the thread, writes the final text, the
final status and the statistics. If the app dies first, the next ``ConversationStore.open``
marks the message "interrupted", and it holds all text older than ``interval_s``.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from .errors import MessageNotFoundError, StoreClosedError, StoreError
from .records import Message

if TYPE_CHECKING:
    from .store import ConversationStore

log = logging.getLogger(__name__)

FINAL_STATUSES = ("complete", "interrupted", "cancelled", "error")
_CHANNELS = ("thinking", "answer")


class StreamingSaver:
    """Buffers one streaming message and saves it at least every ``interval_s`` seconds.

    Starts from the message's current content and thinking (so it can also continue a reply).
    Use ``finish()`` exactly once at the end, or use it as a context manager: leaving the block
    normally finishes "complete", leaving with an exception finishes "error".
    """

    def __init__(self, store: ConversationStore, msg_id: int, interval_s: float = 1.0) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self._store = store
        self.msg_id = msg_id
        self.interval_s = float(interval_s)
        message = store.update_message(msg_id, status="streaming")
        self._parts: dict[str, list[str]] = {
            "thinking": [message.thinking] if message.thinking else [],
            "answer": [message.content] if message.content else [],
        }
        self._dirty: set[str] = set()
        self._buffer_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._finished = False
        self._gone = False
        self.error: Exception | None = None  # the last failed periodic save, if any
        store._register_saver(self)

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def content(self) -> str:
        """The answer text received so far."""
        with self._buffer_lock:
            return "".join(self._parts["answer"])

    @property
    def thinking(self) -> str:
        """The thinking text received so far."""
        with self._buffer_lock:
            return "".join(self._parts["thinking"])

    def append(self, channel: str, text: str) -> None:
        """Add streamed ``text`` to the "thinking" or "answer" channel (never blocks on I/O)."""
        if channel not in _CHANNELS:
            raise ValueError(f"channel must be 'thinking' or 'answer', not {channel!r}")
        if not text:
            return
        with self._buffer_lock:
            if self._finished:
                raise RuntimeError(f"StreamingSaver for message {self.msg_id} already finished")
            self._parts[channel].append(text)
            self._dirty.add(channel)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"StreamingSaver-{self.msg_id}", daemon=True
                )
                self._thread.start()

    def flush(self) -> None:
        """Write buffered text now (the background thread calls this every ``interval_s``)."""
        with self._write_lock:
            fields = self._take_dirty()
            if fields and not self._gone:
                self._write(fields, periodic=True)

    def finish(
        self,
        status: str = "complete",
        stats: dict | None = None,
        *,
        content: str | None = None,
        thinking: str | None = None,
    ) -> Message | None:
        """Stop saving periodically, write the final text, ``status`` and ``stats``.

        ``content``/``thinking``, when given (e.g. the engine's ``TurnResult.answer`` and
        ``.thinking``), replace the streamed text as the final version. Returns the saved
        message, or None if the message was deleted meanwhile. A second call returns None.
        """
        if status not in FINAL_STATUSES:
            raise ValueError(f"status must be one of {', '.join(FINAL_STATUSES)}, not {status!r}")
        with self._buffer_lock:
            if self._finished:
                return None
            self._finished = True
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._store._unregister_saver(self)
        with self._write_lock:
            if self._gone:
                return None
            fields = self._take_dirty()
            fields.update(status=status, stats=stats)
            if content is not None:
                fields["content"] = content
            if thinking is not None:
                fields["thinking"] = thinking
            return self._write(fields, periodic=False)

    def _take_dirty(self) -> dict:
        with self._buffer_lock:
            fields = {}
            for channel in self._dirty:
                joined = "".join(self._parts[channel])
                self._parts[channel] = [joined]  # keep the buffer compact
                fields["content" if channel == "answer" else "thinking"] = joined
            self._dirty.clear()
            return fields

    def _write(self, fields: dict, periodic: bool) -> Message | None:
        try:
            return self._store.update_message(self.msg_id, **fields)
        except (MessageNotFoundError, StoreClosedError):
            self._gone = True
            self._stop.set()
            return None
        except StoreError as exc:
            if not periodic:
                raise
            self.error = exc
            log.warning("Could not save streaming message %s yet: %s", self.msg_id, exc)
            with self._buffer_lock:  # try again at the next interval
                if "content" in fields:
                    self._dirty.add("answer")
                if "thinking" in fields:
                    self._dirty.add("thinking")
            return None

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.flush()

    def __enter__(self) -> StreamingSaver:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self._finished:
            self.finish("error" if exc_type is not None else "complete")
