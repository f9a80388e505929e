"""How the API server listens and how much it lets wait. Plain data, checked once."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from app.engine.sampling import SamplingParams

from .errors import ServerConfigError

DEFAULT_PORT = 8080
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


@dataclass
class ServerConfig:
    """Address, key and limits of the local API server.

    ``port`` 0 picks a free port (read ``ApiServer.port`` once started). ``max_waiting``
    requests may wait behind the running generation, each at most ``queue_wait_s``; more get
    429 with Retry-After. ``default_params`` (the app's sampling settings, thinking budget
    included) are what a request does not set; ``None`` takes the model's preset, with
    ``thinking_budget`` (the app's default budget) when that is set.
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    api_key: str | None = None
    max_waiting: int = 4
    queue_wait_s: float = 60.0
    max_body_bytes: int = 4 * 1024 * 1024
    max_messages: int = 2000
    model_id: str | None = None  # default: the GGUF's file name without .gguf
    default_params: SamplingParams | None = None
    thinking_budget: int | None = None

    def check(self) -> None:
        """Raise ServerConfigError for settings that cannot be served."""
        if not 0 <= self.port <= 65535:
            raise ServerConfigError(f"Port {self.port} is not a TCP port", "use 1 to 65535")
        if self.max_waiting < 0 or self.queue_wait_s < 0 or self.max_body_bytes < 1024:
            raise ServerConfigError(
                "The queue and size limits must be positive",
                "use max_waiting >= 0, queue_wait_s >= 0 and max_body_bytes >= 1024",
            )
        if not is_loopback(self.host) and not self.api_key:
            raise ServerConfigError(
                f"An API key is required to listen on {self.host}: other computers could use "
                "the model",
                "set an API key (--api-key), or listen on 127.0.0.1 only",
            )

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    """True when ``host`` names this computer only (127.0.0.0/8, ::1, localhost)."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
