"""A scripted OpenAI-compatible endpoint on 127.0.0.1 for failures our own server never makes:
a stream cut in the middle, a server that never answers, content with <think> tags."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def chunk(delta: dict, finish: str | None = None) -> bytes:
    body = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m"}
    body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
    return b"data: " + json.dumps(body).encode() + b"\n\n"


class FakeEndpoint:
    """``script(handler)`` answers each POST; GET /v1/models lists ``models``."""

    def __init__(self, script, models=("fake-model",)) -> None:
        self.script = script
        self.models = list(models)
        self.requests: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                data = [{"id": m, "object": "model", "owned_by": "fake"} for m in owner.models]
                body = json.dumps({"object": "list", "data": data}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                owner.requests.append(json.loads(self.rfile.read(size)))
                owner.script(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_stream(handler) -> None:
    """Headers of a streamed (chunked) SSE reply."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()


def send_chunked(handler, data: bytes) -> None:
    handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
    handler.wfile.flush()


def end_chunked(handler) -> None:
    handler.wfile.write(b"0\r\n\r\n")
    handler.wfile.flush()


def drop_after_thinking(handler) -> None:
    """Two pieces of thinking, then the connection breaks mid-reply."""
    start_stream(handler)
    send_chunked(handler, chunk({"reasoning_content": "Step one."}))
    send_chunked(handler, chunk({"reasoning_content": " Step two."}))
    handler.close_connection = True
    handler.wfile.write(b'40\r\ndata: {"choi')  # half a chunk, then nothing
    handler.wfile.flush()
    handler.connection.shutdown(2)


def never_answer(handler) -> None:
    time.sleep(3)
    handler.close_connection = True


def content_with_tags(pieces: list[str], finish: str = "stop"):
    """A script streaming ``pieces`` as plain content (thinking only as <think> tags)."""

    def script(handler) -> None:
        start_stream(handler)
        for piece in pieces:
            send_chunked(handler, chunk({"content": piece}))
        send_chunked(handler, chunk({}, finish))
        send_chunked(handler, b"data: [DONE]\n\n")
        end_chunked(handler)

    return script


def error_event(handler) -> None:
    start_stream(handler)
    send_chunked(handler, chunk({"content": "Par"}))
    send_chunked(handler, b'data: {"error": {"message": "out of memory"}}\n\n')
    end_chunked(handler)
