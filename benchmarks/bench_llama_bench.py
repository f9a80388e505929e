"""The engine against llama.cpp itself: decode (tg) and prompt-processing (pp) tokens/s of
``ChatEngine`` on the Gemma GGUF as ratios to llama.cpp's own ``llama-bench``, in one run.

    .venv/bin/python benchmarks/bench_llama_bench.py [--rounds 5] [--threads N]
        [--profile host|portable] [--build-only] [--update-docs]

``llama-bench`` is built once into ``~/.cache/qwq-desktop/llama-bench/<key>/`` from the same
sources and flags as the installed llama-cpp-python: the sdist of the version pinned in
pyproject.toml (``pip download --no-binary :all:``), built through its own top-level
CMakeLists (which sets ``BUILD_SHARED_LIBS``, ``LLAMA_BUILD_COMMON`` and the rest as for the
wheel, then adds ``vendor/llama.cpp``) with ``packaging/build_llama.py``'s ``cmake_args``,
Release, plus ``LLAMA_BUILD_TOOLS=ON``; the key is the recipe's wheel-cache key. With
``GGML_BACKEND_DL`` the CPU code is a module (``libggml-cpu.so``) that llama-bench loads from
its own folder: the build keeps it there and checks that llama-bench finds a CPU device.

Both sides use the same model, threads, batch (512), flash attention and f16 KV cache.
Rounds alternate which side runs first; each round is one llama-bench process (pp and tg, one
repetition after its warm-up) and one engine pp and tg (the engine loaded once, its cache
emptied before each). Engine decode runs without speculative drafts (``draft_mode="none"``):
llama-bench's tg has none either.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PACKAGE = "llama-cpp-python"
PROMPT_TOKENS = 512
GEN_TOKENS = 128
N_BATCH = 512
TOOL_ARGS = [
    "-DCMAKE_BUILD_TYPE=Release",  # scikit-build-core's default build type for the wheel
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_SERVER=OFF",
    "-DCMAKE_BUILD_RPATH=$ORIGIN",  # find the libraries beside the binary once it is moved
]


def recipe():
    """``packaging/build_llama.py``, the recipe the installed llama-cpp-python was built with."""
    spec = importlib.util.spec_from_file_location("build_llama", ROOT / "packaging/build_llama.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cache_dir(version: str, args: list[str]) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    root = Path(os.environ.get("QWQ_LLAMA_BENCH", os.path.join(base, "qwq-desktop", "llama-bench")))
    return root / recipe().cache_key(version, args)


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kwargs)


def build_llama_bench(profile: str = "host", jobs: int | None = None) -> Path:
    """The cached llama-bench binary, built first if missing (``nice -n 10``)."""
    build = recipe()
    version = build.pinned_version()
    args = build.cmake_args(profile, "cpu")
    folder = cache_dir(version, args)
    binary = folder / "bin" / "llama-bench"
    if binary.exists():
        check_cpu_module(binary)
        return binary
    nice = ["nice", "-n", "10"] if shutil.which("nice") else []
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="llama-bench-", dir=folder.parent) as tmp:
        work = Path(tmp)
        _run([sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
              "-d", str(work), f"{PACKAGE}=={version}"])  # fmt: skip
        (sdist,) = work.glob("llama_cpp_python-*.tar.gz")
        with tarfile.open(sdist) as tar:
            tar.extractall(work, filter="data")
        (source,) = (p for p in work.iterdir() if p.is_dir())
        generator = ["-G", "Ninja"] if shutil.which("ninja") else []
        _run([*nice, "cmake", "-S", str(source), "-B", str(work / "build"), *generator,
              *args, *TOOL_ARGS])  # fmt: skip
        _run([*nice, "cmake", "--build", str(work / "build"), "--target", "llama-bench",
              "ggml-cpu", "-j", str(jobs or os.cpu_count() or 2)])  # fmt: skip
        built = work / "build" / "bin"
        staged = work / "bin"
        staged.mkdir()
        for item in built.iterdir():  # llama-bench and the libraries and modules beside it
            if item.name == "llama-bench" or ".so" in item.name or item.suffix == ".dylib":
                shutil.copy2(item, staged / item.name, follow_symlinks=False)
        (staged / "BUILD.json").write_text(
            json.dumps({"version": version, "profile": profile, "cmake_args": args + TOOL_ARGS})
        )
        folder.mkdir(exist_ok=True)
        os.replace(staged, folder / "bin")
    check_cpu_module(binary)  # where it stays, the build tree gone
    return binary


def _env(binary: Path) -> dict:
    """The environment llama-bench runs in: its own libraries first (builds made before the
    ``$ORIGIN`` run path have only the build tree's)."""
    env = dict(os.environ)
    key = "DYLD_LIBRARY_PATH" if sys.platform == "darwin" else "LD_LIBRARY_PATH"
    env[key] = os.pathsep.join(p for p in (str(binary.parent), env.get(key, "")) if p)
    return env


def check_cpu_module(binary: Path) -> None:
    """With GGML_BACKEND_DL the CPU backend is a module beside the binary: make sure it is
    there and that llama-bench loads it (it lists a CPU device)."""
    modules = sorted(p.name for p in binary.parent.glob("libggml-cpu*"))
    if not modules:
        raise SystemExit(f"no libggml-cpu module beside {binary}: the CPU backend was not built")
    out = subprocess.run(
        [str(binary), "--list-devices"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(binary),
    )
    text = out.stdout + out.stderr
    if out.returncode != 0 or f"CPU backend from {binary.parent}" not in text:
        raise SystemExit(f"{binary.name} does not load its CPU backend ({modules}):\n{text}")
    print(f"llama-bench loads its CPU backend from {', '.join(modules)} beside it", flush=True)


def llama_bench_round(binary: Path, model: Path, threads: int) -> dict:
    """One llama-bench process: pp and tg tokens/s (one repetition after its warm-up)."""
    cmd = [
        str(binary), "-m", str(model), "-t", str(threads), "-ngl", "0",
        "-p", str(PROMPT_TOKENS), "-n", str(GEN_TOKENS), "-b", str(N_BATCH), "-ub", str(N_BATCH),
        "-fa", "1", "-ctk", "f16", "-ctv", "f16", "-r", "1", "-o", "json",
    ]  # fmt: skip
    out = subprocess.run(
        cmd, capture_output=True, text=True, check=True, timeout=900, env=_env(binary)
    )
    rows = json.loads(out.stdout)
    result = {}
    for row in rows:
        key = "pp" if row["n_prompt"] and not row["n_gen"] else "tg"
        result[key] = float(row["avg_ts"])
    result["build"] = rows[0].get("build_commit", "")
    return result


def engine_round(engine, threads: int) -> dict:
    """The engine's prompt processing (a fresh PROMPT_TOKENS-token prompt) and decoding."""
    from app.engine import SamplingParams
    from app.engine.events import TurnFinished

    def turn(prompt: str, max_tokens: int):
        engine.reset_cache()
        params = SamplingParams(temperature=0.8, max_tokens=max_tokens, seed=11)
        for event in engine.stream_chat([{"role": "user", "content": prompt}], params):
            if isinstance(event, TurnFinished):
                return event.result.stats
        raise RuntimeError("the turn did not finish")

    prompt = turn(_long_prompt(engine, PROMPT_TOKENS), 1)
    decode = turn("Once upon a time, in a small village by the sea, there lived", GEN_TOKENS)
    return {
        "pp": prompt.evaluated_prompt_tokens / prompt.prompt_eval_s,
        "pp_tokens": prompt.evaluated_prompt_tokens,
        "tg": decode.tokens_per_s,
        "tg_tokens": decode.completion_tokens,
    }


def _long_prompt(engine, tokens: int) -> str:
    words = ("the quick brown fox jumps over a lazy dog near river banks while " * 200).split()
    text = ""
    for word in words:
        candidate = f"{text} {word}".strip()
        if len(engine.llama.tokenize(candidate.encode(), add_bos=False)) >= tokens - 16:
            break
        text = candidate
    return text


def spread(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def run(rounds: int, threads: int, profile: str) -> dict:
    """``rounds`` alternating rounds of llama-bench and the engine with ``threads`` threads."""
    from app.engine import ChatEngine, LoadOptions
    from tests.fixtures.gemma import gemma_gguf_path

    binary = build_llama_bench(profile)
    model = gemma_gguf_path()
    engine = ChatEngine.load(model, LoadOptions(n_ctx=2048, n_threads=threads, for_gui=False))
    engine.draft_mode = "none"
    engine_round(engine, threads)  # warm-up
    bench, ours = [], []
    try:
        for i in range(rounds):
            first_bench = i % 2 == 0
            if first_bench:
                bench.append(llama_bench_round(binary, model, threads))
            ours.append(engine_round(engine, threads))
            if not first_bench:
                bench.append(llama_bench_round(binary, model, threads))
            print(f"{threads} threads, round {i + 1}: llama-bench {bench[-1]}, engine {ours[-1]}")
    finally:
        engine.close()
    ratios = {
        key: [o[key] / b[key] for o, b in zip(ours, bench, strict=True)] for key in ("pp", "tg")
    }
    return {"bench": bench, "engine": ours, "ratios": ratios, "threads": threads}


def report(runs: list[dict], rounds: int, build: dict, load: tuple[float, float]) -> str:
    pp = f"pp{PROMPT_TOKENS}"
    tg = f"tg{GEN_TOKENS}"
    table = []
    for r in runs:
        t = r["threads"]
        rows = [
            (f"llama-bench {pp}", spread([b["pp"] for b in r["bench"]])),
            (f"engine, {PROMPT_TOKENS}-token prompt", spread([o["pp"] for o in r["engine"]])),
            (f"**engine / llama-bench, prompt ({pp})**", spread(r["ratios"]["pp"])),
            (f"llama-bench {tg}", spread([b["tg"] for b in r["bench"]])),
            (
                f"engine decode, {GEN_TOKENS} tokens, no drafts",
                spread([o["tg"] for o in r["engine"]]),
            ),
            (f"**engine / llama-bench, decode ({tg})**", spread(r["ratios"]["tg"])),
        ]
        table += [f"| {t} | {name} | {value} |" for name, value in rows]
    medians = "; ".join(
        f"{r['threads']} thread{'s' if r['threads'] > 1 else ''}: prompt "
        f"**{statistics.median(r['ratios']['pp']):.3f}**, decode "
        f"**{statistics.median(r['ratios']['tg']):.3f}**"
        for r in runs
    )
    counts = " ".join(str(r["threads"]) for r in runs)
    return (
        "## Engine vs llama.cpp's llama-bench (issue 11)\n\n"
        f"`.venv/bin/python benchmarks/bench_llama_bench.py --rounds {rounds} --threads {counts}`"
        f" on {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()} "
        f"({time.strftime('%Y-%m-%d')}). **The machine was shared** with other engineers' jobs "
        f"while it ran (load average {load[0]:.1f} at the start, {load[1]:.1f} at the end): "
        "absolute speeds are low and noisy, and llama.cpp's threads wait for each other, so "
        "more threads than free cores suffer most; each ratio pairs runs made back to back.\n"
        f"Gemma 3 270M Q4_K_M, the same threads both sides, batch {N_BATCH}, flash attention, "
        "f16 KV cache, CPU only. llama-bench was built from the sdist of llama-cpp-python "
        f"{build['version']} (vendor/llama.cpp) through its own CMakeLists with the flags of "
        f"`packaging/build_llama.py` ({build['profile']} profile): "
        f"`{' '.join(build['cmake_args'])}`.\n"
        f"{rounds} alternating rounds per thread count; tokens/s and ratios as min / median / "
        "max. Target: both ratios ≥ 0.95.\n\n"
        "| threads | Measure | min / median / max |\n|---|---|---|\n" + "\n".join(table) + "\n\n"
        f"Median ratios: {medians}. The engine's decode includes sampling, detokenising and "
        "the reasoning parser; llama-bench's tg feeds tokens without sampling.\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[os.cpu_count() or 1], help="thread counts"
    )
    parser.add_argument("--profile", choices=("host", "portable"), default="host")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--update-docs", action="store_true")
    args = parser.parse_args()
    if args.build_only:
        print(build_llama_bench(args.profile))
        return 0
    start = os.getloadavg()[0]
    runs = [run(args.rounds, threads, args.profile) for threads in args.threads]
    build = json.loads((build_llama_bench(args.profile).parent / "BUILD.json").read_text())
    print(json.dumps(runs, indent=2))
    text = report(runs, args.rounds, build, (start, os.getloadavg()[0]))
    print(text)
    if args.update_docs:
        from benchmarks.perfdoc import write_block

        write_block("llama-bench", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
