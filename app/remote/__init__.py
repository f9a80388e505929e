"""Remote engines: the chat engine's interface over an OpenAI-compatible endpoint (llama.cpp's
server, vLLM, Ollama, this app's own API). No Qt; nothing is sent until an endpoint is set."""

from .choice import EndpointChoice, KeyChain, choice_path, load_choice, save_choice
from .context import RemotePlan, approx_prompt_tokens
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
    "EndpointChoice",
    "KeyChain",
    "RemotePlan",
    "approx_prompt_tokens",
    "choice_path",
    "load_choice",
    "save_choice",
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
