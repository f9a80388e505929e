"""An OpenAI-compatible endpoint: its address and key, its models, and its failures as typed
errors. Nothing here connects anywhere until ``list_models`` or a turn is asked for."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx2

from .errors import (
    EndpointUnreachableError,
    RemoteAuthError,
    RemoteBusyError,
    RemoteEndpointError,
    RemoteModelNotFoundError,
    RemoteRequestError,
    RemoteServerError,
    RemoteStreamDroppedError,
    RemoteTimeoutError,
)


@dataclass(frozen=True)
class RemoteEndpoint:
    """Where a remote engine sends turns. ``url`` like "http://host:8080" or ".../v1" (a bare
    host gets /v1); ``model`` None takes the endpoint's first model. ``read_timeout_s`` is the
    longest silence allowed, prompt evaluation included. ``extensions`` sends llama.cpp/vLLM's
    top_k, min_p and repeat_penalty (turn off for servers that refuse unknown fields)."""

    url: str
    api_key: str | None = None
    model: str | None = None
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 300.0
    extensions: bool = True
    reasoning: bool | None = None  # None: guessed from the model's name

    @property
    def base_url(self) -> str:
        """The normalised base URL, ending in the API version (".../v1")."""
        text = self.url.strip()
        if "://" not in text:
            text = "http://" + text
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RemoteEndpointError(
                f"'{self.url}' is not an http(s) address",
                "enter an address like http://192.168.1.20:8080/v1",
            )
        path = parts.path.rstrip("/") or "/v1"
        return urlunsplit((parts.scheme, parts.netloc, path, "", ""))

    @property
    def host(self) -> str:
        """host:port, for messages and the status bar."""
        return urlsplit(self.base_url).netloc

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def timeout(self) -> httpx2.Timeout:
        return httpx2.Timeout(self.read_timeout_s, connect=self.connect_timeout_s)


@dataclass(frozen=True)
class RemoteModel:
    """A model an endpoint serves, with its context length when the endpoint says it."""

    id: str
    owned_by: str = ""
    context_length: int | None = None


def list_models(endpoint: RemoteEndpoint) -> list[RemoteModel]:
    """The endpoint's /v1/models (blocking: call it off the GUI thread). Raises RemoteError."""
    url = endpoint.base_url + "/models"
    try:
        with httpx2.Client(timeout=endpoint.timeout(), trust_env=False) as client:
            response = client.get(url, headers=endpoint.headers())
    except httpx2.HTTPError as exc:
        raise error_for_exception(exc, endpoint) from exc
    if response.status_code != 200:
        raise error_for_status(response.status_code, response.content, endpoint, response.headers)
    return models_in(response, endpoint)


def models_in(response: httpx2.Response, endpoint: RemoteEndpoint) -> list[RemoteModel]:
    """The models of a /models answer (RemoteEndpointError when it is not a model list)."""
    try:
        cards = response.json()["data"]
        return [model_from_card(card) for card in cards]
    except (ValueError, KeyError, TypeError) as exc:
        raise RemoteEndpointError(
            f"{endpoint.host} answered /models with something other than a model list",
            "check that the address is an OpenAI-compatible API (it usually ends in /v1)",
        ) from exc


def model_from_card(card: dict) -> RemoteModel:
    meta = card.get("meta") if isinstance(card.get("meta"), dict) else {}
    length = None
    for value in (
        card.get("context_length"),
        card.get("max_model_len"),  # vLLM
        meta.get("context_length"),  # ours
        meta.get("n_ctx"),
        meta.get("n_ctx_train"),  # llama.cpp's server
    ):
        if isinstance(value, int) and value > 0:
            length = value
            break
    return RemoteModel(str(card["id"]), str(card.get("owned_by") or ""), length)


def error_for_exception(exc: Exception, endpoint: RemoteEndpoint, mid_reply: bool = False):
    """A transport failure as a typed RemoteError."""
    host = endpoint.host
    if isinstance(exc, httpx2.ConnectTimeout):
        return RemoteTimeoutError(
            f"{host} did not accept a connection within {endpoint.connect_timeout_s:g} s",
            "check the address and that the computer is on and reachable",
        )
    if isinstance(exc, httpx2.ConnectError):
        return EndpointUnreachableError(
            f"Cannot reach {host} ({_reason(exc)})",
            "check the address and port, and that the server is running",
        )
    if isinstance(exc, httpx2.TimeoutException):
        when = "in the middle of the reply" if mid_reply else "before replying"
        return RemoteTimeoutError(
            f"{host} sent nothing for {endpoint.read_timeout_s:g} s {when}",
            "the server may be overloaded or the prompt very long; try again",
        )
    if isinstance(exc, httpx2.UnsupportedProtocol | httpx2.InvalidURL):
        return RemoteEndpointError(
            f"'{endpoint.url}' is not a usable address ({exc})", "use http:// or https://"
        )
    if isinstance(exc, httpx2.TransportError) and mid_reply:
        return RemoteStreamDroppedError(
            f"The connection to {host} broke in the middle of the reply ({_reason(exc)})",
            "the part received is kept; regenerate to try again",
        )
    return EndpointUnreachableError(
        f"The connection to {host} failed ({_reason(exc)})",
        "check the address and that the server is running",
    )


def error_for_status(status: int, body: bytes, endpoint: RemoteEndpoint, headers=None):
    """An HTTP error answer as a typed RemoteError, with the server's own message."""
    said = error_message(body)
    detail = f": {said}" if said else ""
    host = endpoint.host
    if status in (401, 403):
        what = "refused the API key" if endpoint.api_key else "requires an API key"
        return RemoteAuthError(
            f"{host} {what} ({status}{detail})", "check the API key (File → Connect to a server…)"
        )
    if status == 404:
        if "model" in said.lower():
            model = endpoint.model or "asked for"
            return RemoteModelNotFoundError(
                f"{host} does not serve the model {model}{detail}",
                "pick one of its models (File → Connect to a server…)",
            )
        return RemoteEndpointError(
            f"{endpoint.base_url} is not an OpenAI-compatible API (404{detail})",
            "check the address: it usually ends in /v1",
        )
    if status == 429:
        error = RemoteBusyError(f"{host} is busy{detail}", "wait a moment and try again")
        retry = (headers or {}).get("retry-after")
        error.retry_after_s = float(retry) if retry and retry.isdigit() else None
        return error
    if 400 <= status < 500:
        return RemoteRequestError(
            f"{host} refused the request ({status}{detail})",
            "shorten the conversation or change the settings it names",
        )
    return RemoteServerError(
        f"{host} failed while answering ({status}{detail})", "try again; check the server's log"
    )


def error_message(body: bytes | str) -> str:
    """The message in an error body: OpenAI's, FastAPI's "detail", or the text itself."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:300]
    error = data.get("error", data.get("detail")) if isinstance(data, dict) else None
    if isinstance(error, dict):
        error = error.get("message")
    return str(error)[:300] if error else text.strip()[:300]


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
