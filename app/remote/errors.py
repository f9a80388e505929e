"""Typed errors of remote engines: what went wrong with the endpoint and what to do about it.

All derive from ``EngineError`` (message + hint), so the GUI and the command line report them
as they report a local engine's. An error raised after text arrived carries ``partial``: the
``TurnResult`` so far (stop reason "error"), kept and shown as an interrupted reply.
"""

from __future__ import annotations

from app.engine.errors import EngineError
from app.engine.events import TurnResult


class RemoteError(EngineError):
    """Base class: a remote endpoint failed or refused."""

    partial: TurnResult | None = None


class RemoteEndpointError(RemoteError):
    """The address is not usable as an OpenAI-compatible endpoint (bad URL, wrong path)."""


class EndpointUnreachableError(RemoteError):
    """Nothing answers at the address (server down, wrong host or port, no network)."""


class RemoteAuthError(RemoteError):
    """The endpoint refused the API key (401/403)."""


class RemoteModelNotFoundError(RemoteError):
    """The endpoint does not serve the model asked for (404)."""


class RemoteTimeoutError(RemoteError):
    """The endpoint did not answer in time (connecting, or between two pieces of a reply)."""


class RemoteStreamDroppedError(RemoteError):
    """The connection broke in the middle of a reply."""


class RemoteBusyError(RemoteError):
    """The endpoint is busy (429); ``retry_after_s`` says when to try again, if it said."""

    retry_after_s: float | None = None


class RemoteRequestError(RemoteError):
    """The endpoint refused the request (400: e.g. the conversation is too long for it)."""


class RemoteServerError(RemoteError):
    """The endpoint failed while answering (5xx, or an error event in the stream)."""
