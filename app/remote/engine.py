"""RemoteEngine: ChatEngine's streaming interface over an OpenAI-compatible endpoint.

    engine = RemoteEngine(RemoteEndpoint("http://gpu-box:8080", api_key="...", model="qwq-32b"))
    for event in engine.stream_chat(messages, params, cancel):  # TextDelta..., TurnFinished
        ...
    engine.close()

Nothing is sent until the first turn. Requests run on a private asyncio loop (one thread per
engine), so ``cancel()`` or the caller's ``cancel`` event closes the connection at once, even
while the endpoint is still silent (a long prompt); the endpoint then stops generating. A
failure raises a typed ``RemoteError``; one after text arrived carries the reply so far as
``error.partial`` (stop reason "error"), which the caller keeps as an interrupted reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import httpx2

from app.engine.engine import ChatEngine
from app.engine.events import TextDelta, TurnFinished
from app.engine.reasoning import strip_thinking
from app.engine.sampling import SamplingParams, enforce_reasoning_rules, preset_for

from .context import ASSUMED_N_CTX, RemotePlan, approx_prompt_tokens
from .endpoint import (
    RemoteEndpoint,
    RemoteModel,
    error_for_exception,
    error_for_status,
    model_from_card,
    models_in,
)
from .errors import (
    RemoteError,
    RemoteModelNotFoundError,
    RemoteServerError,
    RemoteStreamDroppedError,
)
from .reply import ReplySplitter, ReplyStats, looks_like_reasoning

POLL_S = 0.05  # how often a waiting turn looks at the caller's cancel event
_END, _DONE = object(), object()


@dataclass(frozen=True)
class RemoteModelFacts:
    """What the app knows of a remote model: its name, and whether it reasons (by name unless
    the endpoint's settings say). Enough for the sampling presets and the GUI's labels."""

    name: str
    path: str  # the endpoint's URL
    is_reasoning: bool
    chat_template: str | None = "remote"

    @property
    def is_qwq_family(self) -> bool:
        return "qwq" in self.name.lower()


class RemoteEngine:
    """Streams chat turns from a remote endpoint; same events as ChatEngine."""

    def __init__(self, endpoint: RemoteEndpoint, default_params: SamplingParams | None = None):
        endpoint.base_url  # noqa: B018 - a malformed address is refused now, without a request
        self.endpoint = endpoint
        self._default_params = default_params
        self._model: RemoteModel | None = None
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: httpx2.AsyncClient | None = None
        self._live: dict[threading.Event, object] = {}
        self._closed = False

    # ---- what the GUI shows ------------------------------------------------------------------
    @property
    def model_name(self) -> str:
        return self.endpoint.model or (self._model.id if self._model else "")

    @property
    def facts(self) -> RemoteModelFacts:
        name = self.model_name
        reasoning = self.endpoint.reasoning
        if reasoning is None:
            reasoning = looks_like_reasoning(name)
        return RemoteModelFacts(name, self.endpoint.base_url, reasoning)

    @property
    def n_ctx(self) -> int:
        """The model's context length if the endpoint said it (after the first turn), else 0."""
        return (self._model.context_length or 0) if self._model else 0

    @property
    def device_summary(self) -> str:
        return f"remote: {self.endpoint.host}"

    @property
    def plan(self) -> RemotePlan:
        """What the GUI shows in place of a memory plan (context length when known)."""
        return RemotePlan(self.endpoint.host, self.model_name, self.n_ctx)

    @property
    def grounding_ctx(self) -> int:
        """The context length document sources are budgeted for (assumed when unknown)."""
        return self.n_ctx or ASSUMED_N_CTX

    def count_prompt_tokens(self, messages: Sequence[dict]) -> int:
        """An estimate of the prompt's tokens (nothing is sent; replies report the real count)."""
        return approx_prompt_tokens(messages)

    def default_sampling(self) -> SamplingParams:
        """The app's settings, else the preset for the model's family (QwQ's for QwQ)."""
        return self._default_params or preset_for(self.facts)  # type: ignore[arg-type]

    # ---- turns -------------------------------------------------------------------------------
    chat = ChatEngine.chat  # one turn to completion: the same loop over stream_chat

    def stream_chat(
        self,
        messages: Sequence[dict],
        params: SamplingParams | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[TextDelta | TurnFinished]:
        """Stream one assistant turn; the last event is TurnFinished (or a RemoteError is
        raised). The turn is asked for now: ``cancel()`` from here on stops it."""
        stop = threading.Event()
        with self._lock:
            self._live[stop] = None
        return self._stream(list(messages), params, stop, cancel or threading.Event())

    def connect(self, cancel: threading.Event | None = None) -> RemoteModel | None:
        """Ask the endpoint for its models and find ours (blocking; its context length comes
        with it). Raises a RemoteError; None when ``cancel`` was set meanwhile."""
        self._model = None
        return self._model if self._call(self._resolve_model, cancel) else None

    def list_models(self, cancel: threading.Event | None = None) -> list[RemoteModel] | None:
        """The endpoint's /models (blocking, but ``cancel`` ends the wait at once). Raises a
        RemoteError; None when cancelled."""
        found: list[RemoteModel] = []

        async def fetch() -> None:
            response = await self._get_models()
            if response.status_code != 200:
                raise error_for_status(response.status_code, response.content, self.endpoint)
            found.extend(models_in(response, self.endpoint))

        return found if self._call(fetch, cancel) else None

    def _call(self, work, cancel: threading.Event | None) -> bool:
        """Run ``work()`` (a coroutine function) on the I/O loop and wait for it; False when
        cancelled (by ``cancel`` or ``cancel()``)."""
        stop, cancel = threading.Event(), cancel or threading.Event()
        with self._lock:
            self._live[stop] = None
        try:
            if not cancel.is_set():
                self._wait(work(), stop, cancel)
        finally:
            with self._lock:
                self._live.pop(stop, None)
        return not (cancel.is_set() or stop.is_set())

    def reset_cache(self) -> None:
        """Nothing to forget here: the endpoint manages its own cache."""

    def cancel(self) -> None:
        """Stop every turn asked for so far (closing its connection). Safe from any thread."""
        with self._lock:
            live = list(self._live.items())
        for stop, future in live:
            stop.set()
            if future is not None:
                future.cancel()

    def close(self) -> None:
        """Stop the turns, close the connections and the I/O thread (idempotent)."""
        with self._lock:
            self._closed = True
            loop, thread = self._loop, self._thread
        self.cancel()
        if loop is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._close_client(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(5)
        if not loop.is_running():
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _stream(self, messages, params, stop: threading.Event, cancel: threading.Event):
        try:
            if self._model is None and not (stop.is_set() or cancel.is_set()):
                self._wait(self._resolve_model(), stop, cancel)  # name, context, reasoning
            params, notes = enforce_reasoning_rules(
                params or self.default_sampling(),
                self.facts,  # type: ignore[arg-type]
            )
            splitter = ReplySplitter(self.facts.is_reasoning)
            stats = ReplyStats(self.n_ctx)
            stats.stats.notes += notes
            if stop.is_set() or cancel.is_set():
                yield TurnFinished(stats.result(splitter, "cancelled"))
                return
            out: queue.Queue = queue.Queue()
            future = asyncio.run_coroutine_threadsafe(
                self._request(self._payload(messages, params), out), self._io_loop()
            )
            with self._lock:
                self._live[stop] = future
            yield from self._events(out, future, splitter, stats, stop, cancel)
        finally:
            with self._lock:
                future = self._live.pop(stop, None)
            if future is not None:
                future.cancel()

    def _wait(self, work, stop: threading.Event, cancel: threading.Event) -> None:
        """Run ``work`` on the I/O loop and wait for it; a cancel abandons it quietly."""
        future = asyncio.run_coroutine_threadsafe(work, self._io_loop())
        with self._lock:
            self._live[stop] = future
        while True:
            try:
                future.result(POLL_S)
                return
            except TimeoutError:
                if stop.is_set() or cancel.is_set():
                    future.cancel()
                    return
            except asyncio.CancelledError:  # cancelled through cancel()
                return
            except httpx2.HTTPError as exc:
                raise error_for_exception(exc, self.endpoint) from exc

    def _events(self, out: queue.Queue, future, splitter, stats, stop, cancel):
        done = False
        while True:
            try:
                item = out.get(timeout=POLL_S)
            except queue.Empty:
                item = None
            if stop.is_set() or cancel.is_set():
                future.cancel()
                if item is _END or future.done():
                    yield TurnFinished(stats.result(splitter, "cancelled"))
                    return
                continue
            if item is None:
                continue
            if item is _END:
                break
            if item is _DONE:
                done = True
            elif isinstance(item, BaseException):
                if isinstance(item, RemoteError) and (splitter.thinking or splitter.answer):
                    item.partial = stats.result(splitter, "error")
                raise item
            else:
                stats.saw_chunk(item)
                for choice in item.get("choices") or []:
                    deltas = splitter.feed(choice.get("delta") or choice.get("message") or {})
                    stats.saw_text(deltas)
                    yield from deltas
        rest = splitter.flush()
        stats.saw_text(rest)
        yield from rest
        if not stats.finished and not done:
            error = RemoteStreamDroppedError(
                f"{self.endpoint.host} ended the reply before it was finished",
                "the part received is kept; regenerate to try again",
            )
            error.partial = stats.result(splitter, "error")
            raise error
        if not stats.finished:
            stats.stats.stop_reason = "eos"
        yield TurnFinished(stats.result(splitter))

    def _payload(self, messages: list[dict], params: SamplingParams) -> dict:
        sent = []
        for message in messages:
            content = message.get("content") or ""
            if message.get("role") == "assistant":
                content = strip_thinking(content)  # history keeps final answers only
            sent.append({"role": message.get("role", "user"), "content": content})
        payload: dict = {
            "model": self.model_name,
            "messages": sent,
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if params.max_tokens:
            payload["max_tokens"] = params.max_tokens
        if params.seed is not None:
            payload["seed"] = params.seed
        if params.presence_penalty:
            payload["presence_penalty"] = params.presence_penalty
        if self.endpoint.extensions:
            payload.update(top_k=params.top_k, min_p=params.min_p)
            if params.repeat_penalty != 1.0:
                payload["repeat_penalty"] = params.repeat_penalty
            if params.thinking_budget is not None:
                payload["thinking_budget"] = params.thinking_budget
        return payload

    # ---- the I/O loop ----------------------------------------------------------------------------
    def _io_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise RemoteError("This remote engine was closed", "connect again")
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="qwq-remote-io", daemon=True
                )
                self._thread.start()
            return self._loop

    async def _request(self, payload: dict, out: queue.Queue) -> None:
        """POST the turn and put each streamed chunk (a dict) on ``out``, then _END."""
        endpoint = self.endpoint
        answering = False
        try:
            url = endpoint.base_url + "/chat/completions"
            async with self._http().stream(
                "POST", url, json=payload, headers=endpoint.headers()
            ) as response:
                if response.status_code != 200:
                    body = await response.aread()
                    raise error_for_status(response.status_code, body, endpoint, response.headers)
                answering = True
                if "text/event-stream" not in response.headers.get("content-type", ""):
                    out.put(json.loads(await response.aread()))  # a server that never streams
                    out.put(_DONE)
                    return
                events = contextlib.aclosing(httpx2.EventSource(response).__aiter__())
                async with events as sse:
                    async for event in sse:
                        if event.data.strip() == "[DONE]":
                            out.put(_DONE)
                            return
                        chunk = json.loads(event.data)
                        if isinstance(chunk, dict) and chunk.get("error"):
                            raise RemoteServerError(
                                f"{endpoint.host} failed in the middle of the reply: "
                                f"{_said(chunk['error'])}",
                                "the part received is kept; regenerate to try again",
                            )
                        out.put(chunk)
        except RemoteError as exc:
            out.put(exc)
        except httpx2.HTTPError as exc:
            out.put(error_for_exception(exc, endpoint, mid_reply=answering))
        except ValueError as exc:
            out.put(
                RemoteServerError(
                    f"{endpoint.host} sent something that is not JSON ({exc})",
                    "check that the address is an OpenAI-compatible API",
                )
            )
        except Exception as exc:  # noqa: BLE001 - handed to the caller's thread
            out.put(exc)
        finally:
            out.put(_END)

    def _http(self) -> httpx2.AsyncClient:
        if self._client is None:  # made on the I/O loop, used only there
            self._client = httpx2.AsyncClient(timeout=self.endpoint.timeout(), trust_env=False)
        return self._client

    async def _resolve_model(self) -> None:
        """Find the model in the endpoint's list (its context length comes with it)."""
        endpoint = self.endpoint
        response = await self._get_models()
        if response.status_code == 404 and endpoint.model:
            self._model = RemoteModel(endpoint.model)  # no model list: trust the setting
            return
        if response.status_code != 200:
            raise error_for_status(response.status_code, response.content, endpoint)
        try:
            models = [model_from_card(card) for card in response.json()["data"]]
        except (ValueError, KeyError, TypeError):
            models = []
        wanted = endpoint.model
        found = next((m for m in models if wanted is None or m.id == wanted), None)
        if found is None and (wanted is None or models):
            names = ", ".join(m.id for m in models[:8]) or "none"
            raise RemoteModelNotFoundError(
                f"{endpoint.host} does not serve the model {wanted or '(any)'}",
                f"pick one of its models (File → Connect to a server…): {names}",
            )
        self._model = found or RemoteModel(wanted or "")

    async def _get_models(self) -> httpx2.Response:
        endpoint = self.endpoint
        return await self._http().get(endpoint.base_url + "/models", headers=endpoint.headers())

    async def _close_client(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def _said(error: object) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error)
