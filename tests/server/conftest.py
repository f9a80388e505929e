"""Servers on 127.0.0.1 around the tiny real models, the official openai client, and a check
that every test leaves no server, generation or remote I/O thread behind."""

from __future__ import annotations

import threading
import time

import pytest

from app.server import ApiServer, ServerConfig
from tests.docs.conftest import minilm_gguf  # noqa: F401 - the converted MiniLM embedder
from tests.engine.conftest import answer_engine, loop_engine  # noqa: F401 - tiny engines

THREAD_PREFIXES = ("qwq-api", "qwq-remote")


@pytest.fixture(autouse=True)
def no_leaked_threads():
    yield
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = [t.name for t in threading.enumerate() if t.name.startswith(THREAD_PREFIXES)]
        if not left:
            return
        time.sleep(0.05)
    pytest.fail(f"threads left running: {left}")


class Served:
    """A running server, its request log, and openai clients for it."""

    def __init__(self, server: ApiServer) -> None:
        self.server = server
        self.records: list = []
        self.clients: list = []
        server.on_request = self.records.append

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, api_key: str | None = None, **kwargs):
        import openai

        key = api_key or self.server.config.api_key or "unused"
        client = openai.OpenAI(base_url=self.url, api_key=key, max_retries=0, **kwargs)
        self.clients.append(client)
        return client

    def finished(self, path: str = "/v1/chat/completions") -> list:
        return [r for r in self.records if r.finished and r.path == path]

    def wait_finished(self, count: int, path: str = "/v1/chat/completions", timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = self.finished(path)
            if len(done) >= count:
                return done
            time.sleep(0.02)
        raise AssertionError(f"{len(self.finished(path))} of {count} requests finished")


@pytest.fixture
def serve():
    """serve(engine, **config) -> Served, on a free port; stopped after the test."""
    made: list[Served] = []

    def start(engine, embeddings=None, **config) -> Served:
        server = ApiServer(engine, ServerConfig(port=0, **config), embeddings=embeddings)
        served = Served(server)
        server.start()
        assert server.wait_started(10)
        made.append(served)
        return served

    yield start
    for served in made:
        for client in served.clients:
            client.close()
        assert served.server.stop(10), "the server or one of its turns did not stop"
