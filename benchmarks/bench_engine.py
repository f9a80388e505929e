"""Engine vs raw llama-cpp-python on the real Gemma 3 270M GGUF: decode tokens/s and TTFT.

Both run on the same `Llama` instance with the same threads and sampling, alternating round by
round, from an empty KV cache each time. Run: `.venv/bin/python benchmarks/bench_engine.py`.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine import ChatEngine, LoadOptions, SamplingParams  # noqa: E402
from app.engine.events import TextDelta, TurnFinished  # noqa: E402
from benchmarks.perfdoc import write_block  # noqa: E402
from tests.fixtures.gemma import gemma_gguf_path  # noqa: E402

PROMPT = "Once upon a time, in a small village by the sea, there lived"


def run_raw(llm, tokens_out: int, params: SamplingParams) -> tuple[float, float, int]:
    """Raw llama-cpp-python: tokenize + Llama.generate. Returns (ttft_s, decode_tok_s, n)."""
    llm.reset()
    llm._ctx.kv_cache_clear()
    llm.set_seed(params.seed)
    t0 = time.perf_counter()
    tokens = llm.tokenize(PROMPT.encode(), add_bos=True, special=True)
    t_first = None
    n = 0
    for _token in llm.generate(
        tokens,
        top_k=params.top_k,
        top_p=params.top_p,
        min_p=params.min_p,
        temp=params.temperature,
        repeat_penalty=1.0,
    ):
        n += 1
        if t_first is None:
            t_first = time.perf_counter()
        if n >= tokens_out:
            break
    t_end = time.perf_counter()
    return t_first - t0, (n - 1) / (t_end - t_first), n


def run_engine(engine: ChatEngine, tokens_out: int, params: SamplingParams):
    """The engine's streamed chat turn (template fallback, parser, detokeniser, stats)."""
    engine.reset_cache()
    t0 = time.perf_counter()
    t_first = None
    result = None
    for event in engine.stream_chat([{"role": "user", "content": PROMPT}], params):
        if isinstance(event, TextDelta) and t_first is None:
            t_first = time.perf_counter()
        if isinstance(event, TurnFinished):
            result = event.result
    stats = result.stats
    return stats.time_to_first_token_s, stats.tokens_per_s, stats.completion_tokens, t0


def busy_gui_thread(stop: threading.Event) -> None:
    """Stand-in for a busy GUI thread: Python work that wants a core (and the GIL) all the time."""
    x = 0
    while not stop.is_set():
        for i in range(2000):
            x += i * i
        time.sleep(0)


def threads_next_to_busy_gui(model: Path, tokens: int) -> list[tuple[int, float, float]]:
    """Decode tokens/s with 1..cores threads, idle and next to a busy GUI-like thread."""
    import os

    rows = []
    params = SamplingParams(temperature=0.8, max_tokens=tokens, seed=7)
    for n_threads in sorted({1, os.cpu_count() or 1}):
        engine = ChatEngine.load(model, LoadOptions(n_ctx=1024, n_threads=n_threads))
        idle = run_engine(engine, tokens, params)[1]
        stop = threading.Event()
        busy = threading.Thread(target=busy_gui_thread, args=(stop,), daemon=True)
        busy.start()
        try:
            loaded = run_engine(engine, tokens, params)[1]
        finally:
            stop.set()
            busy.join()
        engine.close()
        rows.append((n_threads, idle, loaded))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--tokens", type=int, default=96)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()

    model = gemma_gguf_path()
    engine = ChatEngine.load(model, LoadOptions(n_ctx=2048, n_threads=args.threads, for_gui=False))
    params = SamplingParams(
        temperature=0.8, top_p=0.95, top_k=40, min_p=0.05, max_tokens=args.tokens, seed=42
    )
    raw_ttft, raw_tps, eng_ttft, eng_tps = [], [], [], []
    run_raw(engine.llama, 8, params)  # warm-up both paths
    run_engine(engine, 8, params)
    for i in range(args.rounds):
        order = [("raw", 0), ("engine", 1)] if i % 2 == 0 else [("engine", 1), ("raw", 0)]
        for name, _ in order:
            if name == "raw":
                ttft, tps, _n = run_raw(engine.llama, args.tokens, params)
                raw_ttft.append(ttft)
                raw_tps.append(tps)
            else:
                ttft, tps, _n, _t0 = run_engine(engine, args.tokens, params)
                eng_ttft.append(ttft)
                eng_tps.append(tps)
    engine.close()

    thread_rows = threads_next_to_busy_gui(model, args.tokens)
    med = statistics.median
    ratio = med(eng_tps) / med(raw_tps)
    ttft_delta_ms = (med(eng_ttft) - med(raw_ttft)) * 1000
    cmd = ".venv/bin/python benchmarks/bench_engine.py"
    body = (
        f"""## Engine vs raw llama-cpp-python (issue: foundation)

Command: `{cmd}` (Gemma 3 270M Q4_K_M, {args.threads} threads, {args.rounds} alternating rounds of
{args.tokens} tokens, same `Llama` instance, empty KV cache each round; medians).
Machine: {platform.machine()}, {platform.system()}, Python {platform.python_version()}.

| path | decode tokens/s | time to first token |
|---|---:|---:|
| raw `Llama.generate` | {med(raw_tps):.1f} | {med(raw_ttft) * 1000:.1f} ms |
| QwQ Desktop engine (`stream_chat`) | {med(eng_tps):.1f} | {med(eng_ttft) * 1000:.1f} ms |

Engine/raw decode ratio: **{ratio:.3f}** (target ≥ 0.97). TTFT difference:
**{ttft_delta_ms:+.1f} ms** (target within 5 ms). The engine's time includes rendering the prompt,
fitting it to the context, the reasoning parser and UTF-8 detokenisation.

### Threads next to a busy GUI thread

Decode tokens/s of the engine with n llama.cpp threads, idle and while another thread of the same
process keeps a core busy (as the Qt GUI thread does while it renders a streaming reply). This is
why `choose_threads` leaves the GUI a core (1 thread on a 2-core machine).

| llama.cpp threads | idle | next to a busy thread |
|---:|---:|---:|
"""
        + "\n".join(f"| {n} | {idle:.1f} | {busy:.1f} |" for n, idle, busy in thread_rows)
        + """
"""
    )
    print(body)
    if not args.no_write:
        write_block("engine", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
