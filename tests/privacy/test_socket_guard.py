"""The guard the privacy tests rely on catches what it must and lets through what stays inside
the machine (so that a clean run of those tests means something)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.privacy.socket_guard import LOG_ENV, SITE_DIR, NetworkAttempt, guarded, read_log

ROOT = Path(__file__).resolve().parents[2]


def test_loopback_connections_and_name_lookups_are_refused_and_recorded():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        with guarded() as attempts:
            with pytest.raises(NetworkAttempt), socket.socket() as client:
                client.connect(("127.0.0.1", port))
            with pytest.raises(NetworkAttempt):
                socket.getaddrinfo("localhost", 80)
            with pytest.raises(urllib.error.URLError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
    assert len(attempts) == 3
    assert attempts[0].startswith("socket.connect to ('127.0.0.1',")
    assert "test_socket_guard.py" in attempts[0]  # the stack says who tried
    assert attempts[1].startswith("socket.getaddrinfo('localhost', 80")


def test_sockets_inside_the_machine_pass(tmp_path):
    with guarded() as attempts:
        left, right = socket.socketpair()
        with left, right:
            left.sendall(b"x")
            assert right.recv(1) == b"x"
        if hasattr(socket, "AF_UNIX"):
            path = str(tmp_path / "s")
            with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as c:
                server.bind(path)
                server.listen(1)
                c.connect(path)
    assert attempts == []


def test_after_the_block_the_network_is_free_again():
    with guarded():
        pass
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        socket.create_connection(server.getsockname(), timeout=1).close()


def test_a_child_with_the_guard_site_records_even_a_swallowed_attempt(tmp_path):
    log = tmp_path / "net.jsonl"
    code = (
        "import socket\ntry:\n    socket.getaddrinfo('example.org', 443)\n"
        "except OSError:\n    pass\n"
    )
    env = {**os.environ, LOG_ENV: str(log), "PYTHONPATH": f"{SITE_DIR}{os.pathsep}{ROOT}"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    [attempt] = read_log(log)
    assert attempt.startswith("socket.getaddrinfo('example.org', 443")
