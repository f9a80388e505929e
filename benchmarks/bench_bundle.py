"""The packaged app against the developer install: size, start-up and decode speed.

- size of the bundle folder (unpacked, symlinks not followed) and of its tarball;
- start-up: seconds from process start to the main window shown (`--self-test-window`,
  offscreen, a fresh data folder each time), bundle and developer install alternating;
- decode tokens/s on the Gemma 3 270M GGUF through `qwq-desktop chat --json` (plain completion,
  fixed seed, 2 threads): the bundle's portable build (CPU variant chosen at run time) against
  the developer build (`make`'s host profile), alternating round by round.

Run after `make` and `packaging/build.sh`:
    .venv/bin/python benchmarks/bench_bundle.py [--rounds 7] [--tokens 128]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.perfdoc import write_block  # noqa: E402
from tests.fixtures.gemma import gemma_gguf_path  # noqa: E402

PROMPT = "Once upon a time, in a small village by the sea, there lived"
MiB = 2**20
SHARED = " (a shared machine: wall-clock figures are noisy; read the CPU-time ratio)"


def folder_size(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def shown_after(command: list[str]) -> float:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QWQ_DESKTOP_HOME": home}
        out = subprocess.run(
            [*command, "--self-test-window"], capture_output=True, text=True, env=env, timeout=120
        )
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not line:
        raise SystemExit(f"{command} did not start: {out.stderr[-500:]}")
    return json.loads(line[-1])["shown_after_s"]


def _chat(command: list[str], model: Path, tokens: int, threads: int) -> tuple[dict, float]:
    """One `chat --json` run: its stats and the CPU seconds the process used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "QWQ_DESKTOP_HOME": home}
        args = ["chat", "--model", str(model), "--prompt", PROMPT, "--json", "--seed", "1"]
        args += ["--max-tokens", str(tokens), "--threads", str(threads), "--draft", "none"]
        out = subprocess.run([*command, *args], capture_output=True, text=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"{command} chat failed: {out.stderr[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(out.stdout)["stats"], cpu


def decode_speed(command: list[str], model: Path, tokens: int) -> float:
    """Decode tokens/s (wall clock, 2 threads)."""
    return _chat(command, model, tokens, 2)[0]["tokens_per_s"]


def cpu_per_token(command: list[str], model: Path, tokens: int) -> float:
    """CPU milliseconds per decoded token with one thread: the CPU time of a long run minus a
    short one, over the tokens between. Less sensitive than wall time to other work on a shared
    machine (one thread does not spin waiting for another)."""
    short, cpu_short = _chat(command, model, 16, 1)
    long, cpu_long = _chat(command, model, 16 + tokens, 1)
    n = long["completion_tokens"] - short["completion_tokens"]
    return 1000 * (cpu_long - cpu_short) / n


def variant_of(command: list[str]) -> str:
    out = subprocess.run([*command, "--self-test", "--json"], capture_output=True, text=True)
    report = json.loads(out.stdout)
    return next(c for c in report["checks"] if c["name"] == "llama.cpp")["details"]["cpu_variant"]


def spread(values: list[float], fmt: str) -> str:
    return " / ".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "QwQDesktop")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--no-write", action="store_true", help="print only")
    opts = parser.parse_args()

    contenders = {
        "bundle (portable)": [str(opts.bundle / "qwq-desktop")],
        "developer (`make`)": [sys.executable, "-m", "app"],  # the Python running this script
    }
    model = gemma_gguf_path()
    variants = {name: variant_of(cmd) for name, cmd in contenders.items()}
    start: dict[str, list[float]] = {name: [] for name in contenders}
    speed: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    for i in range(opts.rounds):
        order = list(contenders) if i % 2 == 0 else list(reversed(contenders))
        for name in order:
            start[name].append(shown_after(contenders[name]))
            speed[name].append(decode_speed(contenders[name], model, opts.tokens))
            cpu[name].append(cpu_per_token(contenders[name], model, opts.tokens))
        print(f"round {i + 1}: " + ", ".join(f"{n} {speed[n][-1]:.1f} t/s" for n in contenders))

    tarballs = sorted((opts.bundle.parent).glob("qwq-desktop-*-linux-*.tar.gz"))
    packed = "-"
    if tarballs:
        packed = f"{tarballs[-1].stat().st_size / MiB:.0f} MiB (`{tarballs[-1].name}`)"
    names = list(contenders)
    ratio = statistics.median(speed[names[0]]) / statistics.median(speed[names[1]])
    cpu_ratio = statistics.median(cpu[names[1]]) / statistics.median(cpu[names[0]])
    load = os.getloadavg()[0]
    rows = "\n".join(
        f"| {n} | {variants[n]} | {spread(speed[n], '.1f')} | {spread(cpu[n], '.1f')} "
        f"| {spread(start[n], '.2f')} |"
        for n in names
    )
    body = f"""
## Packaged app (`benchmarks/bench_bundle.py`)

Command: `packaging/build.sh && .venv/bin/python benchmarks/bench_bundle.py --rounds {opts.rounds}
--tokens {opts.tokens}`
({opts.rounds} alternating rounds; decode: Gemma 3 270M Q4_K_M, `qwq-desktop chat --json`,
{opts.tokens} tokens, seed 1, 2 threads; start-up: process start to main window shown,
offscreen, fresh data folder). Machine: {platform.machine()}, {platform.system()},
{os.cpu_count()} cores. Figures are min / median / max.

Bundle size: **{folder_size(opts.bundle) / MiB:.0f} MiB unpacked** (target 200 MiB),
**{packed} packed**.

| install | CPU library | decode t/s (wall, 2 thr.) | CPU ms/token (1 thr.) | start-up (s) |
|---|---|---:|---:|---:|
{rows}

Portable/developer decode speed, medians: **{ratio:.3f}** by wall clock, **{cpu_ratio:.3f}** by
CPU time per token (target: lose under 5%, ≥ 0.95). Load average at the end: {load:.1f} on
{os.cpu_count()} cores{SHARED if load > 1.5 else ""}.
"""
    print(body)
    if not opts.no_write:
        write_block("bundle", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
