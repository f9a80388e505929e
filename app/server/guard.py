"""The ASGI layer in front of every route: the request log, the API key, the Host check, the
size and type of bodies, and a last net that turns any exception into a JSON 500.

On a loopback address only requests that name this computer in their Host header are served
(a web page cannot reach the model through DNS rebinding), and POST bodies must be JSON (a web
page cannot send that without a CORS preflight, which this server never grants).
"""

from __future__ import annotations

import hmac
import itertools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from .config import ServerConfig, is_loopback
from .errors import ApiError

log = logging.getLogger(__name__)
OPEN_PATHS = ("/health",)  # answered without a key: says only that the server runs


@dataclass(frozen=True)
class RequestRecord:
    """One request, for the GUI's log: sent when it arrives (``finished`` False), again once a
    turn knows its model (``model``, ``stream``), and when its response has ended (status,
    duration, tokens). Same ``id`` every time."""

    id: int
    method: str
    path: str
    client: str
    started_at: float  # time.time()
    finished: bool = False
    status: int | None = None
    duration_s: float | None = None
    model: str | None = None
    stream: bool = False
    queued_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    stop_reason: str | None = None
    error: str | None = None


RequestCallback = Callable[[RequestRecord], None]


class Guard:
    """Pure ASGI middleware (no buffering: streamed responses pass through as they are)."""

    def __init__(self, app, config: ServerConfig, on_request: RequestCallback | None) -> None:
        self.app = app
        self.config = config
        self.on_request = on_request
        self._ids = itertools.count(1)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        client = scope.get("client") or ("?", 0)
        record = RequestRecord(
            id=next(self._ids),
            method=scope["method"],
            path=scope["path"],
            client=f"{client[0]}:{client[1]}",
            started_at=time.time(),
        )
        self._report(record)
        notes: dict = {}  # filled by the routes: model, stream, tokens, ...
        state = scope.setdefault("state", {})
        state["qwq_log"] = notes
        state["qwq_progress"] = lambda: self._report(replace(record, **_noted(notes)))
        status: list[int] = []

        async def send_noting(message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            refusal = self._refusal(scope)
            if refusal is not None:
                notes["error"] = refusal.message
                await send_error(send_noting, refusal)
            else:
                await self.app(scope, receive, send_noting)
        except Exception as exc:  # noqa: BLE001 - never a traceback to a client
            log.exception("Unexpected error serving %s %s", scope["method"], scope["path"])
            notes["error"] = f"{type(exc).__name__}: {exc}"
            if not status:
                await send_error(send_noting, ApiError(500, "Internal server error", "internal"))
        finally:
            fields = _noted(notes)
            self._report(
                replace(
                    record,
                    finished=True,
                    status=status[0] if status else 499,  # 499: the client left first
                    duration_s=time.perf_counter() - t0,
                    **fields,
                )
            )

    def _refusal(self, scope) -> ApiError | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.config.loopback and not is_loopback(_host_name(headers.get("host", ""))):
            return ApiError(
                403,
                "This server only answers requests addressed to localhost or 127.0.0.1",
                "host_not_allowed",
            )
        if self.config.api_key and scope["path"] not in OPEN_PATHS:
            given = headers.get("authorization", "")
            scheme, _, token = given.partition(" ")
            expected = self.config.api_key.encode()
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                token.strip().encode(), expected
            ):
                return ApiError(
                    401,
                    "Missing or wrong API key: send 'Authorization: Bearer <key>'",
                    "invalid_api_key",
                    headers={"WWW-Authenticate": "Bearer"},
                )
        if scope["method"] == "POST":
            kind = headers.get("content-type", "").split(";")[0].strip().lower()
            if kind != "application/json":
                return ApiError(
                    415, "The request body must be JSON (Content-Type: application/json)"
                )
            size = headers.get("content-length")
            if size and size.isdigit() and int(size) > self.config.max_body_bytes:
                return too_large(self.config.max_body_bytes)
        return None

    def _report(self, record: RequestRecord) -> None:
        if self.on_request is None:
            return
        try:
            self.on_request(record)
        except Exception:  # noqa: BLE001 - a broken log view never breaks a request
            log.exception("The request log callback failed")


def _noted(notes: dict) -> dict:
    """The routes' notes that are fields of a RequestRecord."""
    return {k: v for k, v in notes.items() if k in RequestRecord.__dataclass_fields__}


def too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"The request body is larger than this server accepts ({limit:,} bytes)",
        "request_too_large",
    )


async def send_error(send, error: ApiError) -> None:
    """Answer ``error`` as a JSON response straight through ASGI."""
    body = json.dumps(error.body()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _host_name(host: str) -> str:
    """The name in a Host header, without its port ("[::1]:8080" -> "::1")."""
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
