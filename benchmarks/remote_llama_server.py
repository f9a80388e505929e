"""The remote engine against llama.cpp's own llama-server, built from the vendored llama.cpp of
the pinned llama-cpp-python (the same sources the app runs), on 127.0.0.1.

Builds `llama-server` once (the sdist from the package index, or ``--source`` a llama.cpp tree)
into ~/.cache/qwq-desktop/llama-server/<version>/ with the CPU flags of packaging/build_llama.py
(no AMX, no -march=native), then checks with the tiny QwQ-like models:
- thinking apart from the answer, with ``--jinja`` (llama-server splits ``reasoning_content``)
  and without (the content carries "...</think>" and the remote engine splits it);
- Stop mid-reply (the next turn then runs at once), a wrong API key, a server killed mid-reply;
- tokens/s through the remote engine against llama-server's own figure, on the Gemma GGUF.
Results go to the "remote-llama-server" block of docs/performance.md.
Run: `nice -n 10 .venv/bin/python benchmarks/remote_llama_server.py` (the first build takes
10-20 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "packaging"))

from build_llama import cpu_flags, host_x86_args, pinned_version  # noqa: E402

from app.engine import SamplingParams, TextDelta, TurnFinished  # noqa: E402
from app.remote import (  # noqa: E402
    RemoteAuthError,
    RemoteEndpoint,
    RemoteEngine,
    RemoteError,
    RemoteModelNotFoundError,
    RemoteStreamDroppedError,
    list_models,
)
from app.selftest.tiny_model import (  # noqa: E402
    ANSWER_SCRIPT,
    LOOP_SCRIPT,
    TinyModelSpec,
    write_tiny_gguf,
)
from benchmarks.perfdoc import write_block  # noqa: E402

ASK = [{"role": "user", "content": "What is the capital of France?"}]
KEY = "bench-key"


def cache_dir(version: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qwq-desktop" / "llama-server" / version


def llama_source(version: str, given: Path | None) -> Path:
    """A llama.cpp tree: ``given``, or vendor/llama.cpp of the llama-cpp-python sdist."""
    if given is not None:
        return given
    folder = cache_dir(version) / "src"
    tree = folder / f"llama_cpp_python-{version}" / "vendor" / "llama.cpp"
    if (tree / "CMakeLists.txt").is_file():
        return tree
    folder.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    subprocess.run([*pip, "-d", str(folder), f"llama-cpp-python=={version}"], check=True)
    (archive,) = folder.glob(f"llama_cpp_python-{version}.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    return tree


def build_server(version: str, source: Path | None) -> Path:
    """build/bin/llama-server, built once (CPU only, static, no web UI, no network code)."""
    build = cache_dir(version) / "build"
    binary = build / "bin" / "llama-server"
    if binary.is_file():
        return binary
    tree = llama_source(version, source)
    flags = cpu_flags()
    cpu = host_x86_args(flags) if flags else ["-DGGML_NATIVE=OFF"]
    configure = [
        "cmake", "-S", str(tree), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
        "-DBUILD_SHARED_LIBS=OFF", "-DLLAMA_BUILD_SERVER=ON", "-DLLAMA_BUILD_TESTS=OFF",
        "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_UI=OFF", "-DLLAMA_USE_PREBUILT_UI=OFF",
        "-DLLAMA_OPENSSL=OFF", *cpu,
    ]  # fmt: skip
    subprocess.run(configure, check=True)
    jobs = str(os.cpu_count() or 2)
    subprocess.run(
        ["cmake", "--build", str(build), "--target", "llama-server", "-j", jobs], check=True
    )
    return binary


class LlamaServer:
    """llama-server on a free loopback port, stopped on exit."""

    def __init__(self, binary: Path, model: Path, *extra: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        command = [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--api-key", KEY, "-c", "2048", "-t", "1", "-np", "1", *extra]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        self.url = f"http://127.0.0.1:{self.port}/v1"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"llama-server exited: {self.process.stderr.read()[-2000:]}")
            try:
                list_models(RemoteEndpoint(self.url, api_key=KEY))
                return
            except RemoteError:
                time.sleep(0.2)
        raise SystemExit("llama-server did not start in 120 s")

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)


def split_turn(engine: RemoteEngine, params: SamplingParams) -> tuple[str, str, object]:
    events = list(engine.stream_chat(ASK, params))
    text = {"thinking": "", "answer": ""}
    for event in events:
        if isinstance(event, TextDelta):
            text[event.channel] += event.text
    assert isinstance(events[-1], TurnFinished)
    return text["thinking"], text["answer"], events[-1].result.stats


def check(rows: list, name: str, ok: bool, detail: str) -> None:
    rows.append((name, "pass" if ok else "FAIL", detail))
    print(f"{'pass' if ok else 'FAIL'}  {name}: {detail}", flush=True)


def compatibility(binary: Path, models: Path, rows: list) -> None:
    answer = write_tiny_gguf(models / "tiny-qwq-answer.gguf", TinyModelSpec(script=ANSWER_SCRIPT))
    loop = write_tiny_gguf(models / "tiny-qwq-loop.gguf", TinyModelSpec(script=LOOP_SCRIPT))
    params = SamplingParams(max_tokens=40, seed=1)
    for mode, extra in (("--jinja (reasoning_content)", ["--jinja"]), ("no --jinja", [])):
        server = LlamaServer(binary, answer, *extra)
        engine = RemoteEngine(RemoteEndpoint(server.url, api_key=KEY))
        try:
            thinking, answer_text, stats = split_turn(engine, params)
            check(
                rows,
                f"thinking apart, {mode}",
                thinking.strip() == "Let me think about it" and answer_text == "Paris",
                f"thinking {thinking!r}, answer {answer_text!r}, {stats.completion_tokens} "
                f"tokens, stop {stats.stop_reason}",
            )
        finally:
            engine.close()
            server.stop()
    server = LlamaServer(binary, loop, "--jinja")
    engine = RemoteEngine(RemoteEndpoint(server.url, api_key=KEY))
    try:
        events = []
        for event in engine.stream_chat(ASK, SamplingParams(max_tokens=1500)):
            events.append(event)
            if len(events) == 5:
                engine.cancel()
        t0 = time.monotonic()
        _, _, after = split_turn(engine, params)  # thinks for its 40 tokens (no budget there)
        check(
            rows,
            "Stop mid-reply",
            events[-1].result.stats.stop_reason == "cancelled" and after.completion_tokens == 40,
            f"stopped after {len(events) - 1} pieces; the next turn ran its 40 tokens in "
            f"{time.monotonic() - t0:.2f} s",
        )
        try:
            with closing(
                RemoteEngine(RemoteEndpoint(server.url, api_key=KEY, model="gpt-4o"))
            ) as other:
                other.chat(ASK)
            check(rows, "unknown model", False, "accepted")
        except RemoteModelNotFoundError as exc:
            check(rows, "unknown model", True, f"{exc.message} ({exc.hint})")
        try:
            with closing(RemoteEngine(RemoteEndpoint(server.url, api_key="wrong"))) as wrong:
                wrong.chat(ASK, params)
            check(rows, "wrong API key", False, "accepted")
        except RemoteAuthError as exc:
            check(rows, "wrong API key", True, exc.message)
        pieces = []
        try:
            for event in engine.stream_chat(ASK, SamplingParams(max_tokens=1500)):
                pieces.append(event)
                if len(pieces) == 5:
                    server.process.kill()
            check(rows, "server killed mid-reply", False, "the turn finished normally")
        except RemoteStreamDroppedError as exc:
            kept = len(exc.partial.thinking) if exc.partial else 0
            check(rows, "server killed mid-reply", kept > 0, f"{kept} characters kept; {exc}")
    finally:
        engine.close()
        server.stop()


def speed(binary: Path, rounds: int, tokens: int) -> tuple[list[float], list[float]]:
    """Tokens/s seen by the remote engine, and llama-server's own decode figure."""
    from tests.fixtures.gemma import gemma_gguf_path

    server = LlamaServer(binary, gemma_gguf_path())
    engine = RemoteEngine(RemoteEndpoint(server.url, api_key=KEY))
    seen, own = [], []
    try:
        params = SamplingParams(temperature=0.8, max_tokens=tokens, seed=42)
        for _ in range(rounds + 1):
            first = last = None
            result = None
            for event in engine.stream_chat(
                [{"role": "user", "content": "Once upon a time"}], params
            ):
                if isinstance(event, TextDelta):
                    last = time.perf_counter()
                    first = first or last
                elif isinstance(event, TurnFinished):
                    result = event.result
            n = result.stats.completion_tokens
            seen.append((n - 1) / (last - first))
            own.append(result.stats.tokens_per_s or 0.0)
    finally:
        engine.close()
        server.stop()
    return seen[1:], own[1:]  # the first round warms up


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, help="a llama.cpp tree (default: the sdist's)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()
    version = pinned_version()
    binary = build_server(version, args.source)
    rows: list = []
    with tempfile.TemporaryDirectory(prefix="qwq-remote-") as tmp:
        compatibility(binary, Path(tmp), rows)
    seen, own = speed(binary, args.rounds, args.tokens)
    med = statistics.median
    table = "\n".join(f"| {name} | {verdict} | {detail} |" for name, verdict, detail in rows)
    body = f"""## Remote engine against llama.cpp's llama-server (issue 13)

Command: `nice -n 10 .venv/bin/python benchmarks/remote_llama_server.py` (llama-server built
from llama-cpp-python {version}'s vendored llama.cpp, CPU, 1 thread, on 127.0.0.1).
Machine: {platform.machine()}, {platform.system()}, {os.cpu_count()} cores shared with other
engineers' test runs.

| check (tiny QwQ-like models) | result | detail |
|---|---|---|
{table}

Gemma 3 270M through the remote engine ({args.rounds} rounds of {args.tokens} tokens):
{med(seen):.1f} tokens/s seen by the engine (min {min(seen):.1f}, max {max(seen):.1f}),
{med(own):.1f} tokens/s by llama-server's own timings.
"""
    print(body)
    if not args.no_write:
        write_block("remote-llama-server", body)
    return 0 if all(verdict == "pass" for _, verdict, _ in rows) else 1


if __name__ == "__main__":
    shutil.which("cmake") or sys.exit("cmake is needed to build llama-server")
    sys.exit(main())
