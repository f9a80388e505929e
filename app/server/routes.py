"""The OpenAI-compatible routes: /v1/models, /v1/chat/completions, /v1/completions,
/v1/embeddings (and /health). Each turn waits for the one generation slot, runs on its own
thread, and stops when its client leaves (mid-queue, mid-prompt or mid-stream). The model is
whatever the ``EngineGate`` serves at the time of the request (the app may switch it or have
none: 503)."""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app.errors import AppError

from .config import ServerConfig
from .errors import ApiError, QueueFullError, api_error_from
from .gate import EngineGate, GateTimeout
from .generation import Generation, GenerationQueue, no_model_error
from .guard import too_large
from .requests import chat_request, completion_request, embedding_request, parse_json
from .responses import DONE, Reply, sse
from .watch import ClientGone, ClientWatch

if TYPE_CHECKING:
    from .embeddings import EmbeddingBackend

log = logging.getLogger(__name__)


class Api:
    """The routes' shared state: the gate to the engine, the queue, the turns running now."""

    def __init__(
        self, gate: EngineGate, config: ServerConfig, embeddings: EmbeddingBackend | None
    ) -> None:
        self.gate = gate
        self.config = config
        self.embeddings = embeddings
        self.queue = GenerationQueue(config.max_waiting, config.queue_wait_s)
        self._live: set[Generation] = set()
        self._live_lock = threading.Lock()
        self.closing = False

    def app(self) -> Starlette:
        routes = [
            Route("/health", self.health, methods=["GET"]),
            Route("/v1/models", self.models, methods=["GET"]),
            Route("/v1/models/{model:path}", self.model, methods=["GET"]),
            Route("/v1/chat/completions", self.chat, methods=["POST"]),
            Route("/v1/completions", self.completions, methods=["POST"]),
            Route("/v1/embeddings", self.embed, methods=["POST"]),
        ]
        handlers = {HTTPException: _http_error, ApiError: _api_error}
        return Starlette(routes=routes, exception_handlers=handlers)

    # ---- the model served now -----------------------------------------------------------------
    @property
    def engine(self):
        return self.gate.engine

    @property
    def model_id(self) -> str | None:
        """The served model's name (None when none is loaded)."""
        engine = self.engine
        return None if engine is None else self._model_id(engine)

    def _model_id(self, engine) -> str:
        return self.config.model_id or Path(engine.facts.path).stem

    def _names(self, engine) -> set[str]:
        path = Path(engine.facts.path)
        return {self._model_id(engine), path.name, path.stem}

    def _served(self):
        """(engine, model id, sampling defaults) now, or 503 when no model is loaded."""
        engine = self.engine
        if engine is None:
            raise no_model_error()
        defaults = self.config.default_params
        if defaults is None:
            defaults = engine.default_sampling()
            if self.config.thinking_budget is not None:
                defaults = replace(defaults, thinking_budget=self.config.thinking_budget)
        return engine, self._model_id(engine), defaults

    # ---- the turns running -----------------------------------------------------------------
    def live(self) -> list[Generation]:
        with self._live_lock:
            return list(self._live)

    def cancel_all(self) -> None:
        """Stop every turn of this server (never the GUI's own). Safe from any thread."""
        self.closing = True
        for generation in self.live():
            generation.cancel.set()

    # ---- routes ------------------------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "generating": self.queue.busy})

    async def models(self, request: Request) -> Response:
        engine = self.engine
        data = [self._model_card(engine)] if engine is not None else []
        if self.embeddings is not None:
            data.append(
                _card(self.embeddings.model_id, {"embedding_dimensions": self.embeddings.dim})
            )
        return JSONResponse({"object": "list", "data": data})

    async def model(self, request: Request) -> Response:
        name = request.path_params["model"]
        engine = self.engine
        if engine is not None and name in self._names(engine):
            return JSONResponse(self._model_card(engine))
        if self.embeddings is not None and name == self.embeddings.model_id:
            return JSONResponse(_card(name, {"embedding_dimensions": self.embeddings.dim}))
        raise self._unknown_model(name)

    async def chat(self, request: Request) -> Response:
        body = parse_json(await self._body(request))
        engine, model_id, defaults = self._served()
        turn = chat_request(body, defaults, self.config.max_messages)
        return await self._generate(request, turn, engine, model_id, chat=True)

    async def completions(self, request: Request) -> Response:
        body = parse_json(await self._body(request))
        engine, model_id, defaults = self._served()
        turn = completion_request(body, defaults)
        return await self._generate(request, turn, engine, model_id, chat=False)

    async def embed(self, request: Request) -> Response:
        wanted = embedding_request(parse_json(await self._body(request)))
        notes = request.scope["state"]["qwq_log"]
        notes["model"] = wanted.model
        if self.embeddings is None:
            raise ApiError(
                400,
                f"No embedding model is loaded: {self.model_id or 'this'} is a chat model. Start "
                "the server with an embedding model (qwq-desktop serve --embedding-model FILE)",
                "embeddings_not_available",
                "model",
            )
        if wanted.model not in (None, self.embeddings.model_id):
            raise self._unknown_model(wanted.model)
        try:
            vectors, tokens = await asyncio.to_thread(self.embeddings.embed, wanted.inputs)
        except AppError as exc:
            raise api_error_from(exc) from exc
        notes["prompt_tokens"] = tokens
        data = []
        for i, vector in enumerate(vectors):
            values = vector.astype("<f4")
            embedding = (
                base64.b64encode(values.tobytes()).decode() if wanted.base64 else values.tolist()
            )
            data.append({"object": "embedding", "index": i, "embedding": embedding})
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": self.embeddings.model_id,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    # ---- a turn --------------------------------------------------------------------------------
    async def _generate(self, request: Request, turn, engine, model_id: str, chat: bool):
        if turn.model is not None and turn.model not in self._names(engine):
            raise self._unknown_model(turn.model)
        if self.closing:
            raise ApiError(503, "The server is shutting down", "shutting_down")
        notes = request.scope["state"]["qwq_log"]
        notes.update(model=model_id, stream=turn.stream)
        request.scope["state"]["qwq_progress"]()  # the log shows the model while it waits
        watch = ClientWatch(request)
        try:
            t0 = time.perf_counter()
            await watch.until(self.queue.acquire(), on_gone_after=self.queue.release)
            notes["queued_s"] = time.perf_counter() - t0
            wait_left = max(0.0, self.config.queue_wait_s - notes["queued_s"])
            generation = self._start(turn, wait_left)
            watch.on_gone(generation.cancel.set)
            batches = generation.batches()
            try:
                if turn.stream:  # an error before the first piece (prompt too long): a 4xx
                    first = await anext(batches, None)
                else:
                    async for _ in batches:
                        pass
            except AppError as exc:
                raise api_error_from(exc) from exc
            except GateTimeout as exc:
                raise QueueFullError(
                    f"The model stayed busy with {exc.holder} for "
                    f"{self.config.queue_wait_s:g} s while this request waited",
                    self.queue.retry_after(),
                ) from None
            await watch.stop()  # from here on the response's own listener watches
            if not turn.stream:
                _note_outcome(notes, generation)
                if watch.gone.is_set():
                    raise ClientGone
                return JSONResponse(Reply.new(model_id, chat).complete(generation.outcome))
        except ClientGone:
            notes["error"] = "the client closed the connection"
            return Response(status_code=499)
        finally:
            await watch.stop()
        reply = Reply.new(model_id, chat)
        events = _sse_events(reply, generation, first, batches, turn.include_usage)
        return _TurnStream(events, generation, notes)

    def _start(self, turn, wait_s: float) -> Generation:
        generation = Generation(self.gate, turn, asyncio.get_running_loop(), wait_s)
        with self._live_lock:
            self._live.add(generation)

        def done(seconds: float) -> None:
            with self._live_lock:
                self._live.discard(generation)
            self.queue.release(seconds)
            generation.ended.set()

        try:
            generation.start(done)
        except BaseException:
            done(0.0)
            raise
        if self.closing:
            generation.cancel.set()
        return generation

    async def _body(self, request: Request) -> bytes:
        limit = self.config.max_body_bytes
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
        return b"".join(chunks)

    def _model_card(self, engine) -> dict:
        facts = engine.facts
        meta = {
            "context_length": engine.n_ctx,
            "n_ctx_train": facts.context_length,
            "reasoning": facts.is_reasoning,
            "architecture": facts.architecture,
            "quantization": facts.quant_type,
        }
        return _card(self._model_id(engine), meta)

    def _unknown_model(self, name: str) -> ApiError:
        served = {self.model_id} | ({self.embeddings.model_id} if self.embeddings else set())
        known = ", ".join(sorted(n for n in served if n)) or "no model: none is loaded"
        return ApiError(
            404,
            f"The model '{name}' does not exist on this server (it serves {known})",
            "model_not_found",
            "model",
        )


async def _sse_events(reply: Reply, generation: Generation, first, batches, include_usage: bool):
    """The streamed turn: a role chunk, the text as it comes, the finish and usage chunks."""
    try:
        head = {"role": "assistant", "content": ""} if reply.chat else {"content": ""}
        yield sse(reply.chunk(head))
        batch = first
        while batch is not None:
            for piece in batch:  # one chunk per channel change: thinking, then answer
                field = "reasoning_content" if piece.channel == "thinking" else "content"
                yield sse(reply.chunk({field: piece.text}))
            batch = await anext(batches, None)
        if generation.outcome is None:
            raise RuntimeError("the turn ended without its result")
        for chunk in reply.last_chunks(generation.outcome, include_usage):
            yield sse(chunk)
    except AppError as exc:
        yield sse(api_error_from(exc).body())
    except ApiError as exc:  # the app unloaded the model mid-reply
        yield sse(exc.body())
    except Exception as exc:  # noqa: BLE001 - the client reads an error event, never a traceback
        log.exception("A streamed turn failed")
        yield sse(ApiError(500, f"Internal server error ({type(exc).__name__})").body())
    yield DONE


class _TurnStream(StreamingResponse):
    """A streamed turn whose generation stops however the response ends (client gone too)."""

    def __init__(self, events, generation: Generation, notes: dict) -> None:
        super().__init__(
            events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )
        self.generation = generation
        self.notes = notes

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.generation.cancel.set()
            try:
                await asyncio.wait_for(self.generation.ended.wait(), 10)
            except asyncio.TimeoutError:
                pass
            _note_outcome(self.notes, self.generation)


def _note_outcome(notes: dict, generation: Generation) -> None:
    outcome = generation.outcome
    if outcome is not None:
        notes.update(
            prompt_tokens=outcome.stats.prompt_tokens,
            completion_tokens=outcome.stats.completion_tokens,
            stop_reason=outcome.stats.stop_reason,
        )


def _card(model_id: str, meta: dict) -> dict:
    return {
        "id": model_id,
        "object": "model",
        "created": 0,
        "owned_by": "qwq-desktop",
        "meta": meta,
    }


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    notes = request.scope.get("state", {}).get("qwq_log")
    if notes is not None:
        notes["error"] = exc.message
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: f"No route {request.url.path}", 405: f"{request.method} is not allowed here"}
    error = ApiError(exc.status_code, message.get(exc.status_code, str(exc.detail)))
    return await _api_error(request, error)
