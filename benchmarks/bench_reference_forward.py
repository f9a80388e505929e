"""Benchmark validate's reference forward pass and estimate its cost for QwQ-32B.

Writes a Hugging Face folder with QwQ-32B's exact shapes (hidden 5120, 40/8 heads of 128, FFN
27648, q/k/v biases, vocabulary 152064, bf16) but only --layers decoder layers, then runs the
pass (quantize.validation.reference_forward, with the per-block comparison of the real check) in
a fresh child process per measurement, so each peak RSS is the pass's own. Rounds alternate the
compared settings: token counts (what --tokens trades), weight block sizes, and a warm page
cache against a cold one (the shards evicted with posix_fadvise first, as when 65.5 GB of shards
do not fit in memory). The pass reads and computes layer after layer, so QwQ-32B's time is
64 x the measured time per layer plus the output head, and its peak memory is the measured one
(it does not grow with the number of layers).

Usage: python benchmarks/bench_reference_forward.py [--layers 2] [--rounds 3] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.perfdoc import write_block  # noqa: E402

QWQ = {"n_layer": 64, "hidden": 5120, "n_head": 40, "n_kv_head": 8, "n_ff": 27648, "vocab": 152064}
# The laptop of the estimate: 8 cores with AVX2 FMA, ~400 GFLOPS of float32 matrix products in
# OpenBLAS (about 2x what this benchmark measures on 2 cores), an NVMe disk reading 2 GB/s,
# per-core speed like this machine's for the single-threaded parts (reading, bf16 widening).
LAPTOP_GFLOPS, LAPTOP_DISK_GBPS = 400.0, 2.0
MiB, GB = 2**20, 1e9


def write_model(folder: Path, n_layer: int) -> Path:
    """config.json and bf16 shards (one per layer, one for embeddings and head) of QwQ-32B's
    shapes; values from a repeating pattern (timing does not depend on them)."""
    import numpy as np

    from tests.fixtures.hf_repo import (
        HFRepoSpec,
        hf_tensor_shapes,
        to_bf16_bits,
        write_config_files,
    )

    spec = HFRepoSpec(
        n_layer=n_layer,
        hidden=QWQ["hidden"],
        n_head=QWQ["n_head"],
        n_kv_head=QWQ["n_kv_head"],
        n_ff=QWQ["n_ff"],
        rms_eps=1e-5,
    )
    folder.mkdir(parents=True, exist_ok=True)
    write_config_files(folder, spec, QWQ["vocab"])
    pattern = to_bf16_bits(np.random.default_rng(0).standard_normal(1 << 22) * 0.02)
    groups: dict[str, dict] = {}
    for name, shape in hf_tensor_shapes(spec, QWQ["vocab"]).items():
        layer = name.split(".")[2] if ".layers." in name else "outer"
        groups.setdefault(f"model-{layer}.safetensors", {})[name] = shape
    weight_map = {}
    for file, shapes in groups.items():
        header, offset = {}, 0
        for name, shape in shapes.items():
            size = 2 * math.prod(shape)
            header[name] = {
                "dtype": "BF16",
                "shape": list(shape),
                "data_offsets": [offset, offset + size],
            }
            offset += size
            weight_map[name] = file
        blob = json.dumps(header).encode()
        blob += b" " * (-len(blob) % 8)
        with open(folder / file, "wb") as f:
            f.write(struct.pack("<Q", len(blob)) + blob)
            for shape in shapes.values():
                left = math.prod(shape)
                while left:
                    n = min(left, pattern.size)
                    f.write(pattern[:n].tobytes())
                    left -= n
    index = {"weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    return folder


def evict(folder: Path) -> None:
    """Drop the shards' pages from the page cache (no root needed), so reads hit the disk."""
    for path in folder.glob("*.safetensors"):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def child(folder: Path, tokens: int, block_mb: int) -> dict:
    """One pass in this (fresh) process: per-layer and head seconds, peak RSS."""
    import resource

    import numpy as np

    from quantize.validation.hf_source import HFSource
    from quantize.validation.reference_check import BLOCK_POSITIONS
    from quantize.validation.reference_forward import ReferenceModel, Teacher

    source = HFSource(folder)
    c = source.config
    rng = np.random.default_rng(1)
    ids = rng.integers(0, c.vocab_size, tokens).tolist()
    n = min(BLOCK_POSITIONS, tokens)

    def states() -> list:
        return [rng.standard_normal((n, c.hidden)).astype(np.float32) for _ in range(c.n_layer)]

    teacher = Teacher(None, states(), states(), np.zeros((n, c.vocab_size), np.float32))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.perf_counter()
    result = ReferenceModel(source, block_bytes=block_mb * MiB).forward(ids, teacher)
    total = time.perf_counter() - started
    a, b = np.ones((256, c.hidden), np.float32), np.ones((c.hidden, 4096), np.float32)
    t0 = time.perf_counter()
    for _ in range(5):
        a @ b
    gflops = 5 * 2 * 256 * c.hidden * 4096 / (time.perf_counter() - t0) / 1e9
    return {
        "layer_seconds": result.layer_seconds,
        "head_seconds": result.head_seconds,
        "total_seconds": total,
        "read_gbps": result.bytes_read / result.read_seconds / GB,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "base_rss": base,
        "layer_bytes": sum(t.nbytes for k, t in source.tensors.items() if ".layers.0." in k),
        "gflops": gflops,
    }


def run_child(folder: Path, tokens: int, block_mb: int, cold: bool) -> dict:
    if cold:
        evict(folder)
    cmd = [sys.executable, __file__, "--child", str(folder), str(tokens), str(block_mb)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def layer_flops(tokens: int) -> float:
    h, f, kv = QWQ["hidden"], QWQ["n_ff"], QWQ["n_kv_head"] * 128
    return 2 * tokens * (2 * h * h + 2 * h * kv + 3 * h * f) + 4 * tokens * tokens * h


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, nargs="+", default=[64, 256, 512])
    parser.add_argument("--blocks-mb", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--dir", default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md")
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="save the measurements here (JSON); with --report-only, read them from here",
    )
    parser.add_argument("--report-only", action="store_true", help="no measuring, only report")
    args = parser.parse_args()
    from quantize.validation.reference_check import DEFAULT_TOKENS
    from quantize.validation.reference_forward import DEFAULT_BLOCK_BYTES

    block = DEFAULT_BLOCK_BYTES // MiB
    if args.report_only:
        saved = json.loads(args.results.read_text())
        args.layers, args.rounds = saved["layers"], saved["rounds"]
        runs = {tuple(s): rs for s, rs in saved["runs"]}
    else:
        runs = measure_all(args, block, DEFAULT_TOKENS)
    if args.results and not args.report_only:
        saved = {"layers": args.layers, "rounds": args.rounds, "runs": list(runs.items())}
        args.results.write_text(json.dumps(saved))
    body = report(args, runs, block, DEFAULT_TOKENS)
    print(body)
    if args.write_docs:
        write_block("reference-forward", body)


def measure_all(args, block: int, default_tokens: int) -> dict[tuple, list[dict]]:
    """Every setting once per round, the order reversed every other round."""
    work = Path(args.dir or tempfile.mkdtemp(prefix="bench-refwd-"))
    folder = write_model(work / "qwq-shaped", args.layers)
    settings = [(t, block, False) for t in args.tokens]
    settings += [(default_tokens, b, False) for b in args.blocks_mb if b != block]
    settings += [(default_tokens, block, True)]
    runs: dict[tuple, list[dict]] = {s: [] for s in settings}
    for r in range(args.rounds):
        for s in settings if r % 2 == 0 else reversed(settings):
            runs[s].append(run_child(folder, *s))
            print(s, json.dumps(runs[s][-1]))
    return runs


def report(args, runs: dict, block: int, default_tokens: int) -> str:
    n, vocab, hidden = QWQ["n_layer"], QWQ["vocab"], QWQ["hidden"]
    every = [r for rs in runs.values() for r in rs]
    layer_gb = every[0]["layer_bytes"] / GB
    head_gb = 2 * vocab * hidden / GB
    gflops = max(r["gflops"] for r in every)  # the least disturbed measurement
    lines = [
        "## Reference forward pass (`qwq-quantize validate --source`)",
        "",
        f"Measured by `python benchmarks/bench_reference_forward.py --layers {args.layers} "
        f"--rounds {args.rounds} --write-docs` on {os.cpu_count()} shared cores "
        f"({platform.machine()}; numpy float32 products at up to {gflops:.0f} GFLOPS): a Hugging "
        f"Face folder with QwQ-32B's shapes ({layer_gb:.3f} GB of bf16 per layer, 152064-token "
        f"head) but {args.layers} layers, with the check's per-block comparison. Each setting "
        "runs in a fresh process, settings alternate round by round; times are min / median / "
        "max over the rounds; reading is reading + widening bf16 to float32 (GB/s of bf16); "
        "peak RSS is the whole process. QwQ-32B = 64 x the time per layer + the head, from the "
        "min and the median.",
        "",
        "| tokens | block | page cache | s per layer | head s | reading | peak RSS | QwQ-32B |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (tokens, blk, cold), rs in runs.items():
        per_layer = [statistics.mean(r["layer_seconds"]) for r in rs]
        head = [r["head_seconds"] for r in rs]
        low = n * min(per_layer) + min(head)
        mid = n * statistics.median(per_layer) + statistics.median(head)
        read = statistics.median(r["read_gbps"] for r in rs)
        peak = max(r["peak_rss"] for r in rs) / MiB
        lines.append(
            f"| {tokens} | {blk} MiB | {'cold' if cold else 'warm'} | {spread(per_layer)} | "
            f"{spread(head)} | {read:.2f} GB/s | {peak:.0f} MiB | "
            f"{low / 60:.0f}-{mid / 60:.0f} min |"
        )
    cold = runs[(default_tokens, block, True)]
    warm_read = max(r["read_gbps"] for r in runs[(default_tokens, block, False)])
    cold_read = statistics.median(r["read_gbps"] for r in cold)
    per_layer = [statistics.mean(r["layer_seconds"]) for r in cold]
    here_low = n * min(per_layer) + min(r["head_seconds"] for r in cold)
    here_mid = n * statistics.median(per_layer) + statistics.median(r["head_seconds"] for r in cold)
    compute = layer_flops(default_tokens) / (gflops * 1e9)
    best_read = max(r["read_gbps"] for r in cold)
    calm = n * (compute + layer_gb / best_read)
    calm += 2 * default_tokens * hidden * vocab / (gflops * 1e9) + head_gb / best_read

    def laptop_seconds(gigabytes: float, flops: float) -> float:
        return flops / (LAPTOP_GFLOPS * 1e9) + gigabytes / LAPTOP_DISK_GBPS + gigabytes / warm_read

    laptop = n * laptop_seconds(layer_gb, layer_flops(default_tokens))
    laptop += laptop_seconds(head_gb, 2 * default_tokens * hidden * vocab)
    default = runs[(default_tokens, block, False)]
    peak = max(r["peak_rss"] for r in default + cold) / MiB
    logits = default_tokens * vocab * 4 / MiB

    def median_layer(rs: list[dict]) -> float:
        return statistics.median(statistics.mean(r["layer_seconds"]) for r in rs)

    sizes = [
        f"{b} MiB {median_layer(rs) / median_layer(default) - 1:+.0%} "
        f"({max(r['peak_rss'] for r in rs) / MiB:.0f} MiB peak)"
        for (t, b, c), rs in runs.items()
        if t == default_tokens and b != block and not c
    ]
    lines += [
        "",
        f"- **QwQ-32B on this machine**, default `--tokens {default_tokens}`, shards read from "
        f"disk (65.5 GB do not stay in the page cache): **{here_low / 60:.0f}-"
        f"{here_mid / 60:.0f} min** as measured (min-median; other work shared the two cores), "
        f"about **{calm / 60:.0f} min** undisturbed: per layer {compute:.1f} s of matrix "
        f"products at {gflops:.0f} GFLOPS plus {layer_gb / best_read:.1f} s of reading and "
        f"widening at {best_read:.2f} GB/s (single-threaded; median {cold_read:.2f} GB/s).",
        f"- **On a 32 GB laptop** (estimate: 8 cores at ~{LAPTOP_GFLOPS:.0f} GFLOPS, NVMe at "
        f"{LAPTOP_DISK_GBPS:.0f} GB/s, then reading and widening at this machine's "
        f"{warm_read:.1f} GB/s): "
        f"about **{laptop / 60:.0f} min**. The matrix products grow linearly with `--tokens` "
        "(see the token rows), reading 65.5 GB does not; `--tokens 0` skips the check.",
        f"- **Peak memory: {peak:.0f} MiB** for the whole process at {default_tokens} tokens, "
        "whatever the number of layers: "
        f"weights are read {block} MiB of float32 at a time and the activations are small (the "
        f"largest are the logits, tokens x 152064 x 4 bytes: {logits:.0f} MiB at "
        f"{default_tokens} tokens). A whole QwQ-32B layer in float32 would be "
        f"{2 * layer_gb:.1f} GB. Before the pass the check runs the GGUF once in llama.cpp "
        "(memory-mapped, ~19.9 GB for Q4_K_M), so it fits a 32 GB laptop. "
        "tests/quantize/test_reference_forward.py checks the bound with tracemalloc.",
    ]
    if sizes:
        lines.append(
            f"- Weight block size against the default {block} MiB (median time per layer): "
            + ", ".join(sizes)
            + "."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(child(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))))
    else:
        main()
