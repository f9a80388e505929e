"""One generation at a time: the queue in front of the engine, and the bridge from the engine's
thread to the server's event loop.

``GenerationQueue`` lives on the event loop: one slot, at most ``max_waiting`` requests waiting
for it in arrival order, each at most ``wait_s``; the others get ``QueueFullError`` (429 with a
Retry-After estimated from recent turns). ``Generation`` takes the ``EngineGate`` on its own
thread (shared with the app's chat turns: it may wait there for one, at most what is left of
``wait_s``), runs ``ChatEngine.stream_chat`` (a /v1/completions prompt as it is: raw_prompt.py),
cuts the answer at the request's stop strings, and hands text to the loop in batches: whatever
arrived since the consumer last looked, merged per channel, so a slow client costs fewer, larger
chunks.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

from app.engine.events import TextDelta, TurnFinished
from app.engine.stop_strings import StopStringFilter

from .errors import ApiError, QueueFullError
from .gate import API_TURN, EngineGate, GateCancelled, GateTimeout
from .raw_prompt import plain_prompt_view
from .requests import ChatRequest
from .responses import Outcome

_END = object()


class GenerationQueue:
    """A fair single slot with a bounded, time-limited waiting line. Use on the loop only."""

    def __init__(self, max_waiting: int, wait_s: float) -> None:
        self.max_waiting = max_waiting
        self.wait_s = wait_s
        self.busy = False
        self._waiters: deque[asyncio.Future] = deque()
        self._turn_s = 5.0  # moving average of a turn's length, for Retry-After

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def retry_after(self) -> int:
        """Seconds until a slot is likely free (at least 1)."""
        return max(1, min(3600, math.ceil(self._turn_s * (len(self._waiters) + 1))))

    async def acquire(self) -> None:
        """Take the slot, waiting in line; QueueFullError when the line is full or too slow."""
        if not self.busy and not self._waiters:
            self.busy = True
            return
        if len(self._waiters) >= self.max_waiting:
            raise QueueFullError(
                f"The model is busy: {len(self._waiters) + 1} requests are ahead of this one",
                self.retry_after(),
            )
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, self.wait_s)
        except (asyncio.TimeoutError, asyncio.CancelledError) as exc:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            if waiter.done() and not waiter.cancelled():  # handed the slot as it gave up
                self.release()
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise QueueFullError(
                f"The model stayed busy for {self.wait_s:g} s while this request waited",
                self.retry_after(),
            ) from None

    def release(self, turn_s: float | None = None) -> None:
        """Free the slot, handing it to the first request still waiting."""
        if turn_s is not None:
            self._turn_s = 0.7 * self._turn_s + 0.3 * turn_s
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.busy = False


class Generation:
    """One turn on its own thread; ``batches()`` gives its text on the event loop."""

    def __init__(
        self,
        gate: EngineGate,
        request: ChatRequest,
        loop: asyncio.AbstractEventLoop,
        wait_s: float | None = None,
    ) -> None:
        self.cancel = threading.Event()
        self.outcome: Outcome | None = None
        self._gate = gate
        self._wait_s = wait_s
        self._request = request
        self._loop = loop
        self._items: asyncio.Queue = asyncio.Queue()
        self._thread: threading.Thread | None = None
        self.started_at = 0.0
        self.ended = asyncio.Event()  # set on the loop once the turn's thread has finished

    def start(self, on_done: Callable[[float], None]) -> None:
        """Start the turn; ``on_done(seconds)`` is called on the loop once its thread ends."""
        self.started_at = time.perf_counter()
        self._thread = threading.Thread(
            target=self._run, args=(on_done,), name="qwq-api-generate", daemon=True
        )
        self._thread.start()

    def join(self, timeout: float) -> bool:
        """Wait for the turn's thread; True when it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def _run(self, on_done: Callable[[float], None]) -> None:
        try:
            with self._gate.hold(self.cancel, self._wait_s, API_TURN) as ticket:
                self.started_at = time.perf_counter()  # the turn itself, for Retry-After
                if ticket.engine is None:
                    raise no_model_error()
                try:
                    self._generate(ticket.engine)
                except Exception:
                    if not ticket.revoked:  # else: the model closed under it, said below
                        raise
                if ticket.revoked:
                    raise ApiError(
                        503,
                        "The model was unloaded in QwQ Desktop while this reply was written",
                        "model_not_loaded",
                    )
        except GateTimeout as exc:  # the route answers 429 with its own Retry-After
            self._put(exc)
        except GateCancelled:
            self._put(ApiError(503, "The request was cancelled while it waited", "cancelled"))
        except BaseException as exc:  # noqa: BLE001 - handed to the request's handler
            self._put(exc)
        finally:
            self._put(_END)
            elapsed = time.perf_counter() - self.started_at
            try:
                self._loop.call_soon_threadsafe(on_done, elapsed)
            except RuntimeError:  # the server's loop has closed
                pass

    def _generate(self, engine) -> None:
        stops = StopStringFilter(self._request.stop)
        if self._request.raw:
            engine = plain_prompt_view(engine)
        turn = engine.stream_chat(self._request.messages, self._request.params, self.cancel)
        for event in turn:
            if isinstance(event, TextDelta):
                for delta in stops.filter(event):
                    self._put(delta)
                if stops.stopped:
                    self.cancel.set()
            elif isinstance(event, TurnFinished):
                for delta in stops.flush():
                    self._put(delta)
                result = event.result
                if stops.stopped:
                    result.stats.stop_reason = "stop_string"
                self.outcome = Outcome(stops.answer(result.answer), result.thinking, result.stats)

    def _put(self, item: object) -> None:
        try:
            self._loop.call_soon_threadsafe(self._items.put_nowait, item)
        except RuntimeError:  # the server's loop has closed: nobody is listening
            self.cancel.set()

    async def batches(self) -> AsyncIterator[list[TextDelta]]:
        """Text as it comes, merged per channel; raises the engine's error if it failed."""
        done = False
        while not done:
            items = [await self._items.get()]
            while not self._items.empty():
                items.append(self._items.get_nowait())
            batch: list[TextDelta] = []
            for item in items:
                if item is _END:
                    done = True
                elif isinstance(item, BaseException):
                    raise item
                elif batch and batch[-1].channel == item.channel:
                    batch[-1] = TextDelta(item.channel, batch[-1].text + item.text)
                else:
                    batch.append(item)
            if batch:
                yield batch


def no_model_error() -> ApiError:
    """503: the app has no model loaded (or is loading one)."""
    return ApiError(
        503,
        "No model is loaded in QwQ Desktop: load one in the app (File → Models…), then try again",
        "model_not_loaded",
    )
