"""`qwq-desktop serve` as a user runs it: prints its URL, serves the openai client, stops on
Ctrl+C; killed mid-reply, the remote engine reports a dropped stream and keeps the part."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import openai
import pytest

from app.engine import SamplingParams
from app.remote import RemoteEndpoint, RemoteEngine, RemoteStreamDroppedError

ASK = [{"role": "user", "content": "What is the capital of France?"}]


def start_serve(model, *extra: str) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "app.cli", "serve", "--model", str(model), "--port", "0"]
    process = subprocess.Popen(
        [*command, "--threads", "1", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    line = process.stdout.readline()
    if not line.startswith("Serving "):
        process.kill()
        pytest.fail(f"serve did not start: {line!r} {process.communicate()[1]}")
    return process, line.rsplit(" at ", 1)[1].strip()


def test_serve_answers_the_openai_client_and_stops_on_ctrl_c(tiny_answer_gguf):
    process, url = start_serve(tiny_answer_gguf, "--api-key", "k", "--max-tokens", "40")
    try:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        client = openai.OpenAI(base_url=url, api_key="k", max_retries=0)
        stream = client.chat.completions.create(model="tiny-qwq-answer", messages=ASK, stream=True)
        answer = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert answer == "Paris"
        process.send_signal(signal.SIGINT)
        _, log = process.communicate(timeout=20)
        assert process.returncode == 0
    finally:
        process.kill()
        process.communicate()
    assert "POST /v1/chat/completions 200" in log and "tokens (eos)" in log


def test_serve_refuses_an_open_address_without_a_key(tiny_answer_gguf):
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--model", str(tiny_answer_gguf)]
        + ["--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "QWQ_DESKTOP_API_KEY"},
    )
    assert done.returncode == 2 and "API key is required" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_server_killed_mid_reply_is_a_dropped_stream(tiny_loop_gguf):
    process, url = start_serve(tiny_loop_gguf)
    engine = RemoteEngine(RemoteEndpoint(url))
    try:
        pieces = []
        with pytest.raises(RemoteStreamDroppedError) as info:
            for event in engine.stream_chat(ASK, SamplingParams(max_tokens=100_000)):
                pieces.append(event)
                if len(pieces) == 3:
                    process.kill()
        partial = info.value.partial
        assert partial.thinking.startswith("hmm") and partial.stats.stop_reason == "error"
        assert "broke in the middle of the reply" in info.value.message
    finally:
        engine.close()
        process.kill()
        process.communicate(timeout=10)
