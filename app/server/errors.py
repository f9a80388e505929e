"""The server's errors: typed ones for whoever starts it, and OpenAI-style HTTP errors for clients.

``ServerError`` subclasses (``AppError``: message and hint) are raised by ``ApiServer`` to the
GUI or the command line: a refused configuration, a port already taken. ``ApiError`` is what an
HTTP client gets back: a status and an OpenAI-shaped body ``{"error": {"message", "type",
"param", "code"}}``, never a traceback.
"""

from __future__ import annotations

from app.errors import AppError


class ServerError(AppError):
    """Base class of the API server's expected failures."""


class ServerConfigError(ServerError):
    """The settings cannot be served safely or at all (no API key beyond this computer, ...)."""


class ServerStartError(ServerError):
    """The server could not start listening (port taken, address not on this computer, ...)."""


ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    503: "server_error",
}


class ApiError(Exception):
    """An HTTP error answered to a client in OpenAI's shape."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict:
        return {
            "error": {
                "message": self.message,
                "type": ERROR_TYPES.get(self.status, "invalid_request_error"),
                "param": self.param,
                "code": self.code,
            }
        }


class QueueFullError(ApiError):
    """Another generation runs and the queue is full, or the wait ran out: 429, Retry-After."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(
            429, message, code="server_busy", headers={"Retry-After": str(retry_after_s)}
        )
        self.retry_after_s = retry_after_s


def api_error_from(exc: AppError) -> ApiError:
    """An engine or embedder error as the client reads it (message and hint, no traceback)."""
    from app.engine.errors import ContextOverflowError, TemplateError

    if isinstance(exc, ContextOverflowError):
        return ApiError(400, exc.text(), code="context_length_exceeded", param="messages")
    if isinstance(exc, TemplateError):
        return ApiError(400, exc.text(), code="template_error", param="messages")
    return ApiError(500, exc.text(), code="engine_error")
