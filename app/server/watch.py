"""Notice a client that leaves before its response has started (while it waits in the queue or
while its prompt is evaluated). Once a streamed response runs, Starlette's own listener takes
over and cancels the stream."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class ClientGone(Exception):
    """The client closed its connection; nobody reads the answer any more."""


class ClientWatch:
    """Waits for the request's ``http.disconnect`` in a task; call ``stop()`` before the response
    starts (the body must have been read already)."""

    def __init__(self, request) -> None:
        self.gone = asyncio.Event()
        self._callbacks: list[Callable[[], object]] = []
        self._receive = request.receive
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self.gone.set()
                for callback in self._callbacks:
                    callback()
                return

    def on_gone(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` when the client leaves (at once if it has left)."""
        if self.gone.is_set():
            callback()
        else:
            self._callbacks.append(callback)

    async def until(self, work: Awaitable, on_gone_after: Callable[[], object]) -> object:
        """Await ``work`` unless the client leaves first (ClientGone). Should ``work`` finish
        anyway as the client leaves, ``on_gone_after()`` undoes it."""
        task = asyncio.ensure_future(work)
        gone = asyncio.create_task(self.gone.wait())
        try:
            await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            gone.cancel()
        if not self.gone.is_set():
            return task.result()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        if task.done() and not task.cancelled() and task.exception() is None:
            on_gone_after()
        raise ClientGone

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
