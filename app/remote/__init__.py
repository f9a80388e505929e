"""Remote engines: the chat engine's interface over an OpenAI-compatible endpoint (llama.cpp's
server, vLLM, Ollama, this app's own API). No Qt; nothing is sent until an endpoint is set."""

from .endpoint import RemoteEndpoint, RemoteModel, list_models
from .engine import RemoteEngine, RemoteModelFacts
from .errors import (
    EndpointUnreachableError,
    RemoteAuthError,
    RemoteBusyError,
    RemoteEndpointError,
    RemoteError,
    RemoteModelNotFoundError,
    RemoteRequestError,
    RemoteServerError,
    RemoteStreamDroppedError,
    RemoteTimeoutError,
)

__all__ = [
    "EndpointUnreachableError",
    "RemoteAuthError",
    "RemoteBusyError",
    "RemoteEndpoint",
    "RemoteEndpointError",
    "RemoteEngine",
    "RemoteError",
    "RemoteModel",
    "RemoteModelFacts",
    "RemoteModelNotFoundError",
    "RemoteRequestError",
    "RemoteServerError",
    "RemoteStreamDroppedError",
    "RemoteTimeoutError",
    "list_models",
]
