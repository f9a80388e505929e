"""Benchmark the checks a model file passes before llama.cpp opens it (docs/reliability.md).

    .venv/bin/python benchmarks/bench_gguf_check.py [--runs 5]

Times the Python check (quantize.gguf_check: header, metadata, tensor table, vocabulary) on a
synthetic header with QwQ-32B's vocabulary size (152,064 tokens, 151,387 merges) and on the
real Gemma 3 270M GGUF (262,144 tokens, when its PyPI package is installed), and llama.cpp's
verdict from a child process (quantize.gguf_probe), which runs once per version of a file.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gguf  # noqa: E402
import numpy as np  # noqa: E402

from quantize.gguf_check import _BPE_BYTE_CHARS, check_gguf_file  # noqa: E402
from quantize.gguf_probe import run_probe  # noqa: E402

QWQ_VOCAB, QWQ_MERGES = 152_064, 151_387


def qwq_sized_header(path: Path) -> Path:
    """A small-weight qwen2 GGUF whose vocabulary and merges are as large as QwQ-32B's."""
    tokens = list(_BPE_BYTE_CHARS)
    tokens += [f"Ġw{i:06d}" for i in range(QWQ_VOCAB - len(tokens) - 3)]
    tokens += ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    merges = [f"Ġ w{i:06d}" for i in range(QWQ_MERGES)]
    writer = gguf.GGUFWriter(str(path), "qwen2")
    for key, value in (("context_length", 131072), ("embedding_length", 64), ("block_count", 1),
                       ("feed_forward_length", 128), ("attention.head_count", 4),
                       ("attention.head_count_kv", 2)):  # fmt: skip
        writer.add_uint32(f"qwen2.{key}", value)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types([1] * (len(tokens) - 3) + [3, 3, 3])
    writer.add_token_merges(merges)
    writer.add_bos_token_id(len(tokens) - 3)
    writer.add_eos_token_id(len(tokens) - 1)
    writer.add_tensor("token_embd.weight", np.zeros((8, 64), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def time_check(path: Path, runs: int) -> tuple[float, float]:
    check_gguf_file(path)  # page cache warm
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        check_gguf_file(path)
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    files = {}
    with tempfile.TemporaryDirectory() as folder:
        files["QwQ-sized vocabulary (synthetic)"] = qwq_sized_header(Path(folder) / "qwq.gguf")
        try:
            from tests.fixtures.gemma import gemma_gguf_path

            files["Gemma 3 270M Q4_K_M"] = gemma_gguf_path()
        except ImportError:
            pass
        print("| file | tokens | Python check, median (max) | llama.cpp in a child process |")
        print("| --- | --- | --- | --- |")
        for name, path in files.items():
            median, worst = time_check(path, args.runs)
            _header, check = check_gguf_file(path)
            child = "n/a (no real weights)"
            if "synthetic" not in name:
                probe = run_probe(path)
                child = f"{probe.seconds:.2f} s ({probe.verdict})"
            print(f"| {name} | {check.n_vocab:,} | {median * 1000:.0f} ms ({worst * 1000:.0f} ms) "
                  f"| {child} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
