"""Benchmark Hub downloads against the local fake Hub: our resumable, sha256-verified transfer
(quantize.hub) versus huggingface_hub's hf_hub_download (size check only), the cost of resuming
(hashing the bytes already on disk) and a plain file copy (the floor of importing by copy).

    .venv/bin/python benchmarks/bench_downloads.py [--mib 256] [--rounds 2] [--update-docs]

Everything runs on 127.0.0.1 (the network is not measured, the client's own overhead is).
The contenders alternate within one run; ``--update-docs`` rewrites the ``models`` block of
docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.perfdoc import write_block  # noqa: E402
from tests.fixtures.fake_hub import FakeHub  # noqa: E402

REPO, FILE = "bench/model-GGUF", "model.gguf"


def rate(nbytes: int, seconds: float) -> float:
    return nbytes / seconds / 1e6


def ours(dest: Path) -> float:
    from quantize.hub import download_file

    started = time.perf_counter()
    download_file(REPO, FILE, dest)
    return time.perf_counter() - started


def theirs(dest: Path) -> float:
    from huggingface_hub import hf_hub_download

    started = time.perf_counter()
    hf_hub_download(REPO, FILE, local_dir=dest, endpoint=os.environ["HF_ENDPOINT"])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--update-docs", action="store_true")
    args = parser.parse_args()
    size = args.mib * 2**20
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    data = os.urandom(size)
    times: dict[str, list[float]] = {"quantize.hub": [], "huggingface_hub": []}
    with FakeHub() as hub, tempfile.TemporaryDirectory() as tmp:
        hub.add_repo(REPO, {FILE: data})
        os.environ["HF_ENDPOINT"] = hub.endpoint
        for r in range(args.rounds):
            for name, fn in (("quantize.hub", ours), ("huggingface_hub", theirs)):
                times[name].append(fn(Path(tmp) / f"{name}-{r}"))

        from quantize.hub import sha256_file

        part = Path(tmp) / f"quantize.hub-0/{FILE}"
        started = time.perf_counter()
        sha256_file(part)
        hash_s = time.perf_counter() - started

        started = time.perf_counter()
        shutil.copyfile(part, Path(tmp) / "plain-copy.bin")
        plain_copy_s = time.perf_counter() - started

    ours_mb = rate(size, statistics.median(times["quantize.hub"]))
    theirs_mb = rate(size, statistics.median(times["huggingface_hub"]))
    lines = [
        "## Model downloads (`benchmarks/bench_downloads.py`)",
        "",
        f"{args.mib} MiB file from the local fake Hub on 127.0.0.1 (CDN redirect included), "
        f"median of {args.rounds} alternating rounds, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}.",
        "",
        "| what | MB/s |",
        "|---|---:|",
        f"| quantize.hub.download_file (Range transfer + streaming sha256 + fsync + rename) "
        f"| {ours_mb:.0f} |",
        f"| huggingface_hub.hf_hub_download (size check only, no sha256) | {theirs_mb:.0f} |",
        f"| sha256 of a partial file before resuming | {rate(size, hash_s):.0f} |",
        f"| plain file copy (the floor for importing a GGUF by copy) "
        f"| {rate(size, plain_copy_s):.0f} |",
        "",
        f"Both transfers are bound by the Python test server; ours is at "
        f"{100 * ours_mb / theirs_mb:.0f} % of huggingface_hub's while also hashing every byte, "
        "so sha256 verification costs next to nothing at network speeds. Resuming a 19.85 GB "
        "QwQ-32B Q4_K_M part re-hashes the kept bytes first: about "
        f"{19.85e9 / (rate(size, hash_s) * 1e6):.0f} s at the hashing speed above.",
    ]
    body = "\n".join(lines)
    print(body)
    if args.update_docs:
        write_block("models", body)


if __name__ == "__main__":
    main()
