"""EngineGate: one model, one turn at a time, for the app's chat and the API server together.

    gate = EngineGate(engine)                  # or EngineGate(), then publish(engine)
    with gate.hold(cancel, timeout=30, who="an API request") as ticket:
        ticket.engine.stream_chat(...)         # None when no model is loaded

Whoever asks first runs first (FIFO): a chat turn sent in the app while an API request
generates waits for it, and an API request waits for the app's turn (at most ``timeout``
seconds: ``GateTimeout``). Setting ``cancel`` while waiting gives up (``GateCancelled``).

The owner of the model ``publish``es it once loaded and ``withdraw``s it before closing or
replacing it: the turn holding the gate then is cancelled and marked ``revoked``, and later
turns find no engine until the next ``publish``. Plain threads, no event loop, no Qt.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

POLL_S = 0.05  # how often a waiting turn looks at its cancel event
API_TURN = "an API request"  # who holds the gate, as messages say it


class GateTimeout(Exception):
    """The gate stayed taken for the whole wait; ``holder`` says by whom."""

    def __init__(self, holder: str) -> None:
        super().__init__(f"the model stayed busy with {holder}")
        self.holder = holder


class GateCancelled(Exception):
    """The turn was cancelled while it waited for the gate."""


class Ticket:
    """A place in the gate's line; once held, ``engine`` is the model to use (or None)."""

    def __init__(self, cancel: threading.Event, who: str) -> None:
        self.cancel = cancel
        self.who = who
        self.engine = None
        self.revoked = False  # the model was withdrawn while this turn held the gate


class EngineGate:
    """The one queue in front of one engine (see the module's docstring). Thread-safe."""

    def __init__(self, engine=None) -> None:
        self._cond = threading.Condition()
        self._engine = engine
        self._line: deque[Ticket] = deque()  # the holder first, then the waiting turns

    @property
    def engine(self):
        """The published engine (None when no model is loaded)."""
        return self._engine

    @property
    def holder(self) -> str | None:
        """Who holds the gate now (None when it is free)."""
        with self._cond:
            return self._line[0].who if self._line else None

    def publish(self, engine) -> None:
        """Serve ``engine`` from now on."""
        with self._cond:
            self._engine = engine
            self._cond.notify_all()

    def withdraw(self) -> None:
        """Stop serving the engine: the turn holding the gate is cancelled (``revoked``)."""
        with self._cond:
            self._engine = None
            if self._line:
                holder = self._line[0]
                holder.revoked = True
                holder.cancel.set()

    @contextmanager
    def hold(
        self,
        cancel: threading.Event | None = None,
        timeout: float | None = None,
        who: str = "another turn",
    ) -> Iterator[Ticket]:
        """Wait for the gate in line and hold it for the ``with`` block."""
        ticket = Ticket(cancel or threading.Event(), who)
        self._enter(ticket, timeout)
        try:
            yield ticket
        finally:
            with self._cond:
                self._line.remove(ticket)
                self._cond.notify_all()

    def _enter(self, ticket: Ticket, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._line.append(ticket)
            while self._line[0] is not ticket:
                left = None if deadline is None else deadline - time.monotonic()
                if ticket.cancel.is_set() or (left is not None and left <= 0):
                    holder = self._line[0].who
                    self._line.remove(ticket)
                    self._cond.notify_all()
                    if ticket.cancel.is_set():
                        raise GateCancelled
                    raise GateTimeout(holder)
                self._cond.wait(POLL_S if left is None else min(POLL_S, left))
            ticket.engine = self._engine
