"""ApiServer: the local OpenAI-compatible server around a loaded ChatEngine, or the app's gate.

    server = ApiServer(engine, ServerConfig(port=8080), on_request=log_view.add)
    server = ApiServer(session_gate, ...)     # the GUI: whatever model the app has loaded
    server.start()        # binds now (ServerStartError if it cannot), serves on its own thread
    server.url            # "http://127.0.0.1:8080/v1"
    server.stop()         # stops this server's turns, closes connections, joins its threads

``start()`` returns at once: the socket is bound on the calling thread (so a taken port is an
immediate, typed error), Starlette and uvicorn are imported and run on the server's thread.
``request_stop()`` asks without waiting; ``on_stopped(error)`` is called from the server's
thread once it has stopped (``error`` None, or a ServerError if it failed). ``on_request`` is
called from the server's thread with a RequestRecord when a request arrives and when it ends:
a GUI forwards it to its own thread (a signal), never touches widgets from it.
The engine is shared, not owned: stopping the server never closes it, and cancels only the
turns this server started. Every turn takes the engine's ``EngineGate`` (gate.py): given an
engine, the server makes its own; given the app's gate, it shares the app's one queue and
serves whatever model the app publishes there (503 while there is none).
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .config import ServerConfig
from .errors import ServerError, ServerStartError
from .gate import EngineGate
from .guard import RequestCallback

if TYPE_CHECKING:
    from .embeddings import EmbeddingBackend

log = logging.getLogger(__name__)
GRACEFUL_S = 3


class ApiServer:
    """One server for one engine (and optionally one embedding model)."""

    def __init__(
        self,
        engine,
        config: ServerConfig | None = None,
        *,
        embeddings: EmbeddingBackend | None = None,
        on_request: RequestCallback | None = None,
        on_stopped: Callable[[ServerError | None], None] | None = None,
    ) -> None:
        from .routes import Api

        self.config = config or ServerConfig()
        self.config.check()
        self.gate = engine if isinstance(engine, EngineGate) else EngineGate(engine)
        self.api = Api(self.gate, self.config, embeddings)
        self.on_request = on_request
        self.on_stopped = on_stopped
        self._sock: socket.socket | None = None
        self._port = self.config.port
        self._thread: threading.Thread | None = None
        self._uvicorn = None
        self._stop_asked = threading.Event()
        self.error: ServerError | None = None

    # ---- state ---------------------------------------------------------------------------------
    @property
    def engine(self):
        """The engine served now (None while the app has no model loaded)."""
        return self.gate.engine

    @property
    def model_id(self) -> str | None:
        return self.api.model_id

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """The base URL clients use (OpenAI's ``base_url``)."""
        host = self.config.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def generating(self) -> bool:
        """True while a turn of this server runs (or is finishing after a stop)."""
        return bool(self.api.live())

    @property
    def waiting(self) -> int:
        """Requests waiting behind the running turn."""
        return self.api.queue.waiting

    # ---- start and stop --------------------------------------------------------------------------
    def start(self) -> None:
        """Bind and serve on a background thread; returns at once. ServerStartError if the
        address cannot be bound."""
        if self.running:
            return
        self._stop_asked.clear()
        self.error = None
        self._uvicorn = None
        self.api.closing = False
        self._sock = _bind(self.config.host, self.config.port)
        self._port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="qwq-api-server", daemon=True)
        self._thread.start()

    def wait_started(self, timeout: float = 10.0) -> bool:
        """Wait until uvicorn accepts connections (connections made earlier wait in the
        socket's backlog anyway); False if it stopped or did not start in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self._uvicorn
            if server is not None and server.started:
                return True
            if not self.running:
                return False
            time.sleep(0.01)
        return False

    def request_stop(self) -> None:
        """Ask the server to stop (returns at once): this server's turns are cancelled, open
        streams end, then uvicorn closes. Safe from any thread."""
        self._stop_asked.set()
        self.api.cancel_all()
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop and wait (at most ``timeout`` s) for the server and its turns to end; True
        when everything ended. Idempotent."""
        self.request_stop()
        deadline = time.monotonic() + timeout
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        ended = True
        for generation in self.api.live():
            ended = generation.join(max(0.0, deadline - time.monotonic())) and ended
        return ended and not self.running

    def __enter__(self) -> ApiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- the server's thread ---------------------------------------------------------------------
    def _report(self, record) -> None:
        callback = self.on_request  # read at each request: the GUI may attach its log later
        if callback is not None:
            callback(record)

    def _serve(self) -> None:
        error: ServerError | None = None
        sock = self._sock
        try:
            import uvicorn

            from .guard import Guard

            app = Guard(self.api.app(), self.config, self._report)
            config = uvicorn.Config(
                app,
                http="h11",
                loop="asyncio",
                ws="none",
                lifespan="off",
                log_config=None,
                access_log=False,
                timeout_graceful_shutdown=GRACEFUL_S,
            )
            self._uvicorn = uvicorn.Server(config)
            if self._stop_asked.is_set():
                self._uvicorn.should_exit = True
            self._uvicorn.run(sockets=[sock])
        except BaseException as exc:  # noqa: BLE001 - reported through on_stopped
            log.exception("The API server stopped with an error")
            error = ServerError(
                f"The API server stopped unexpectedly ({type(exc).__name__}: {exc})",
                "start it again; the details are in the log",
            )
        finally:
            self.api.cancel_all()
            if sock is not None:
                sock.close()
            self.error = error
            if self.on_stopped is not None:
                try:
                    self.on_stopped(error)
                except Exception:  # noqa: BLE001
                    log.exception("The server's on_stopped callback failed")


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``, or ServerStartError saying why not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServerStartError(
            f"Cannot listen on {host}: the address is unknown ({exc.strerror})",
            "use 127.0.0.1, or an address of this computer",
        ) from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if os.name == "posix":  # a restart may reuse the port of connections still closing
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, 10048):  # 10048: WSAEADDRINUSE on Windows
            raise ServerStartError(
                f"Port {port} on {host} is already in use",
                "stop the other server or choose another port (0 picks a free one)",
            ) from exc
        raise ServerStartError(
            f"Cannot listen on {host}:{port} ({exc.strerror or exc})",
            "use an address of this computer and a port above 1024",
        ) from exc
    return sock
