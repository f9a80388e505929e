"""Smoke-test a built bundle from the outside, as a user would run it.

`--self-test --json` must pass and name the CPU variant it chose, and pass again on the
AVX2-only and the baseline x86-64 variants; `info` and `chat --json` answer with a tiny model;
`serve` answers an OpenAI-style request on loopback; started with no display and no Qt
platform, the app says so in one line and names the terminal chat (exit code 3), instead of
Qt's abort.

Usage: python packaging/smoke_test.py dist/QwQDesktop
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.selftest.tiny_model import ANSWER_SCRIPT, TinyModelSpec, write_tiny_gguf  # noqa: E402


def check_serve(exe: Path, model: Path, env: dict) -> None:
    """`qwq-desktop serve` answers an OpenAI-style request on loopback (uvicorn in the bundle)."""
    proc = subprocess.Popen(
        [str(exe), "serve", "--model", str(model), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline()  # "Serving MODEL at http://127.0.0.1:PORT/v1"
        assert line.startswith("Serving "), line + proc.stderr.read()
        served, url = line.removeprefix("Serving ").rsplit(" at ", 1)
        url = url.strip().rstrip("/")
        body = json.dumps(
            {"model": served, "messages": [{"role": "user", "content": "Capital?"}], "seed": 1}
        ).encode()
        request = urllib.request.Request(
            url + "/chat/completions", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            reply = json.loads(response.read())
        assert reply["choices"][0]["message"]["content"] == "Paris", reply
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main(bundle: str) -> int:
    # Windows: the windowed qwq-desktop.exe has no console; its twin qwq-desktop-cli.exe has.
    exe = Path(bundle) / ("qwq-desktop-cli.exe" if sys.platform == "win32" else "qwq-desktop")
    with tempfile.TemporaryDirectory() as tmp:
        model = write_tiny_gguf(Path(tmp) / "tiny.gguf", TinyModelSpec(script=ANSWER_SCRIPT))
        env = {**os.environ, "QWQ_DESKTOP_HOME": str(Path(tmp) / "home")}
        env.setdefault("QT_QPA_PLATFORM", "offscreen")

        def run(*args: str, environ: dict | None = None) -> subprocess.CompletedProcess:
            return subprocess.run(
                [str(exe), *args], capture_output=True, text=True, timeout=300, env=environ or env
            )

        version = run("--version")
        assert version.returncode == 0, version.stderr
        test = run("--self-test", "--json")
        report = json.loads(test.stdout)
        assert test.returncode == 0 and report["ok"], test.stdout + test.stderr
        assert report["bundled"], report
        llama = next(c for c in report["checks"] if c["name"] == "llama.cpp")
        variant = llama["details"]["cpu_variant"]
        assert variant and variant != "built-in", llama
        info = run("info", "--model", str(model), "--json")
        assert info.returncode == 0, info.stderr
        assert json.loads(info.stdout)["plan"]["n_ctx"] > 0
        chat = run("chat", "--model", str(model), "--prompt", "Capital?", "--json", "--seed", "1")
        assert chat.returncode == 0, chat.stderr
        assert json.loads(chat.stdout)["answer"] == "Paris", chat.stdout
        # What a CPU without AVX-512 (haswell) or without any AVX (x64) gets: same answer.
        for lower in ("haswell", "x64") if variant not in ("haswell", "x64") else ():
            forced = {**env, "QWQ_LLAMA_CPU_VARIANT": lower}
            test = run("--self-test", "--json", environ=forced)
            llama = next(c for c in json.loads(test.stdout)["checks"] if c["name"] == "llama.cpp")
            assert test.returncode == 0 and llama["details"]["cpu_variant"] == lower, test.stdout
        check_serve(exe, model, env)
        if sys.platform.startswith("linux"):
            bare = {k: v for k, v in env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
            bare.pop("QT_QPA_PLATFORM")
            headless = run(environ=bare)
            said = headless.stderr.strip().splitlines()
            assert headless.returncode == 3 and len(said) == 1, headless
            assert "qwq-desktop chat" in said[0], said
    print(f"smoke test passed: {exe} ({version.stdout.strip()}, CPU variant {variant})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "dist/QwQDesktop"))
