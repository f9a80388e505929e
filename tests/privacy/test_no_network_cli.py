"""No network from the command line's offline commands: each runs in a child process with the
socket guard installed by a sitecustomize (tests/privacy/guard_site), and, where strace is
installed, with every connect()/sendto() system call traced, so that native code (llama.cpp,
Qt) trying to reach an IPv4/IPv6 address is caught too."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.privacy.socket_guard import LOG_ENV, SITE_DIR, read_log

ROOT = Path(__file__).resolve().parents[2]
STRACE = shutil.which("strace") if sys.platform.startswith("linux") else None
INET = re.compile(r"sa_family=AF_INET6?\b")


def run_guarded(args: list[str], home: Path, tmp_path: Path, stdin: str = "") -> str:
    """``python -m app.cli ARGS`` guarded; fails on any network attempt; returns stdout."""
    log, trace = tmp_path / "net.jsonl", tmp_path / "strace.txt"
    log.unlink(missing_ok=True)
    command = [sys.executable, "-m", "app.cli", *args]
    if STRACE:
        command = [STRACE, "-f", "-qq", "-e", "trace=connect,sendto", "-o", str(trace), *command]
    env = {
        **os.environ,
        "QWQ_DESKTOP_HOME": str(home),
        "QT_QPA_PLATFORM": "offscreen",
        LOG_ENV: str(log),
        "PYTHONPATH": f"{SITE_DIR}{os.pathsep}{ROOT}",
    }
    done = subprocess.run(
        command, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=600
    )
    attempts = read_log(log)
    assert attempts == [], f"{args}: " + "\n\n".join(attempts)
    if STRACE:
        native = [line for line in trace.read_text().splitlines() if INET.search(line)]
        assert native == [], f"{args}: " + "\n".join(native)
    assert done.returncode == 0, (args, done.stderr[-3000:])
    return done.stdout


def test_offline_commands_use_no_network(isolated_home, tiny_answer_gguf, tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "pump.md").write_text("# Pump\n\nThe coolant pump is replaced every 4000 hours.\n")
    history = tmp_path / "history.json"
    history.write_text(json.dumps([{"role": "user", "content": "Hi"}]))
    model = str(tiny_answer_gguf)
    run = lambda *args: run_guarded(list(args), isolated_home, tmp_path)  # noqa: E731

    assert "tiny" in run("models", "import", model, "--name", "tiny")
    assert json.loads(run("models", "list", "--json"))[0]["name"] == "tiny"
    run("models", "recommend", "--json")
    run("info", "--model", model, "--json")
    answer = json.loads(run("chat", "--model", model, "--prompt", "Capital?", "--json"))
    assert answer["answer"] == "Paris"
    run("chat", "--model", model, "--history", str(history), "--prompt", "And?", "--json")
    run("docs", "add", "Notes", str(notes))
    hits = json.loads(run("docs", "search", "Notes", "coolant pump", "--json"))
    assert hits and "4000 hours" in hits[0]["text"]
    grounded = run("chat", "--model", model, "--docs", "Notes", "--prompt", "Pump?", "--json")
    assert json.loads(grounded)["sources"]
    run("docs", "list", "--json")
    report = json.loads(run("--self-test", "--json"))  # the window starts in a grandchild
    assert report


def test_the_quantisation_tool_uses_no_network(isolated_home, tmp_path):
    from tests.fixtures.hf_repo import write_hf_repo

    repo = write_hf_repo(tmp_path / "hf").path
    out = tmp_path / "tiny-f16.gguf"
    run_guarded(
        ["quantize", "convert", str(repo), "--outtype", "f16", "-o", str(out)],
        isolated_home,
        tmp_path,
    )
    q8 = tmp_path / "tiny-q8.gguf"
    run_guarded(
        ["quantize", "quantize", str(out), "-o", str(q8), "--type", "Q8_0"], isolated_home, tmp_path
    )
    run_guarded(
        [
            "quantize",
            "validate",
            str(q8),
            "--reference",
            str(out),
            "--source",
            str(repo),
            "--tokens",
            "16",
        ],
        isolated_home,
        tmp_path,
    )


@pytest.mark.skipif(not STRACE, reason="strace shows native connections")
def test_the_native_trace_would_see_a_connection(tmp_path):
    """The strace check is not blind: a C-level connect to 127.0.0.1 shows up in it."""
    trace = tmp_path / "strace.txt"
    code = (
        "import ctypes, socket\n"
        "s = socket.socket()\n"
        "libc = ctypes.CDLL(None)\n"
        "addr = bytes([2, 0, 0, 9, 127, 0, 0, 1]) + bytes(8)\n"
        "libc.connect(s.fileno(), addr, 16)\n"
    )
    subprocess.run(
        [STRACE, "-f", "-qq", "-e", "trace=connect", "-o", str(trace), sys.executable, "-c", code],
        check=True,
        timeout=60,
    )
    assert any(INET.search(line) for line in trace.read_text().splitlines())
