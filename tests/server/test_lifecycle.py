"""What the GUI's switch does: start without blocking, stop, start again, hear about it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import httpx2

from app.server import ApiServer, ServerConfig


def test_start_returns_at_once_and_the_server_can_be_switched_off_and_on(answer_engine):
    stopped: list = []
    records: list = []
    server = ApiServer(
        answer_engine,
        ServerConfig(port=0),
        on_request=records.append,
        on_stopped=stopped.append,
    )
    for _ in range(2):
        t0 = time.perf_counter()
        server.start()
        assert time.perf_counter() - t0 < 0.5  # bound on this thread; served on its own
        response = httpx2.get(server.url + "/models", timeout=30)  # waits in the backlog
        assert response.status_code == 200 and server.running
        server.request_stop()  # returns at once; on_stopped follows from the server's thread
        deadline = time.monotonic() + 10
        while server.running and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not server.running and stopped[-1] is None
    assert len(stopped) == 2
    assert [(r.path, r.finished) for r in records] == [
        ("/v1/models", False),
        ("/v1/models", True),
    ] * 2
    assert records[1].status == 200 and records[0].id == records[1].id
    assert server.stop(5)  # idempotent
    assert not [t for t in threading.enumerate() if t.name.startswith("qwq-api")]


def test_a_failing_log_callback_never_breaks_a_request(serve, answer_engine):
    served = serve(answer_engine)

    def broken(record) -> None:
        raise RuntimeError("the log view is gone")

    served.server.on_request = broken  # attached while the server runs
    reply = served.client().chat.completions.create(
        model="tiny-qwq-answer", messages=[{"role": "user", "content": "hi"}], max_tokens=40
    )
    assert reply.choices[0].message.content == "Paris"


def test_server_and_remote_engine_import_without_qt():
    code = "import sys, app.server, app.remote, app.cli.serve; assert 'PySide6' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
