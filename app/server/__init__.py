"""The local OpenAI-compatible API server (Starlette + uvicorn, no Qt).

``ApiServer`` serves an already loaded ``ChatEngine`` (shared with the GUI or loaded by
``qwq-desktop serve``) on 127.0.0.1 unless told otherwise: /v1/models, /v1/chat/completions,
/v1/completions and /v1/embeddings, one generation at a time, reasoning in
``reasoning_content``. See server.py for the lifecycle, guard.py for the request log and
gate.py for the one queue the app's chat and the server share (``EngineGate``).
"""

from .config import DEFAULT_PORT, ServerConfig, is_loopback
from .errors import ApiError, ServerConfigError, ServerError, ServerStartError
from .gate import EngineGate, GateCancelled, GateTimeout
from .guard import RequestRecord
from .server import ApiServer

__all__ = [
    "DEFAULT_PORT",
    "ApiError",
    "ApiServer",
    "EngineGate",
    "GateCancelled",
    "GateTimeout",
    "RequestRecord",
    "ServerConfig",
    "ServerConfigError",
    "ServerError",
    "ServerStartError",
    "is_loopback",
]
