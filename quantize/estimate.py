"""What a full run (fetch, convert, quantize, validate) will cost: disk, time and memory.

Sizes are exact where the files are known (shard sizes from the Hub) and computed from
config.json otherwise. Times are rough: they assume the throughputs benchmarks/bench_convert.py
measured on a 2-core virtual machine (docs/performance.md); a faster machine finishes sooner.
Downloads depend on the network and are shown at a stated speed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .architectures import HParams, expected_tensors
from .quantizer import QUANT_TYPES

GB = 1e9
ASSUMED_DOWNLOAD_BPS = 50e6  # 50 MB/s, a good home connection
CONVERT_BPS = 0.5e9  # safetensors bytes per second, bf16 -> bf16 from a cold page cache
QUANTIZE_PARAMS_PER_S_PER_THREAD = 7e6  # llama.cpp Q4_K_M from bf16, per thread
EVAL_FLOPS = 50e9  # sustained CPU matmul rate of llama.cpp on a laptop, FLOP/s
CONVERT_MEMORY = 0.4e9  # peak RSS of convert with a 152k-token vocabulary, any model size
BYTES_PER_OUTTYPE = {"f32": 4, "f16": 2, "bf16": 2}


@dataclass
class Estimate:
    """The cost of each remaining step; bytes and seconds."""

    n_params: int
    largest_tensor: int  # elements
    download_bytes: int
    shard_bytes: int
    converted_bytes: int
    quantized_bytes: int
    convert_seconds: float
    quantize_seconds: float
    validate_seconds: float
    quantize_memory: int
    validate_memory: int
    free_bytes: int

    def disk_needed(self, done: set[str]) -> int:
        """Bytes the run still writes: remaining downloads and the GGUF files not yet made."""
        return (
            self.download_bytes
            + (0 if "convert" in done else self.converted_bytes)
            + (0 if "quantize" in done else self.quantized_bytes)
        )

    def render(self, qtype: str, outtype: str, done: set[str]) -> str:
        def gb(n: float) -> str:
            return f"{n / GB:,.1f} GB"

        def mins(s: float) -> str:
            return f"{s / 60:,.0f} min" if s >= 90 else f"{s:,.0f} s"

        def step(name: str, text: str) -> str:
            return f"  {name:<9} {'done, skipped' if name in done else text}"

        lines = [
            f"Estimate for {self.n_params / 1e9:,.2f}B parameters "
            f"(largest tensor {self.largest_tensor / 1e6:,.0f}M):",
            step(
                "fetch",
                f"{gb(self.download_bytes)} to download of {gb(self.shard_bytes)} "
                f"(~{mins(self.download_bytes / ASSUMED_DOWNLOAD_BPS)} at 50 MB/s)",
            ),
            step(
                "convert",
                f"{gb(self.converted_bytes)} {outtype} GGUF, "
                f"~{mins(self.convert_seconds)}, memory < {gb(CONVERT_MEMORY)}",
            ),
            step(
                "quantize",
                f"{gb(self.quantized_bytes)} {qtype} GGUF, "
                f"~{mins(self.quantize_seconds)}, memory ~{gb(self.quantize_memory)}",
            ),
            step(
                "validate",
                f"~{mins(self.validate_seconds)}, ~{gb(self.validate_memory)} of RAM for full "
                "speed (the models are memory-mapped one after the other; with less RAM they "
                "are read from disk, slowly)",
            ),
            f"  disk      {gb(self.disk_needed(done))} still to write, {gb(self.free_bytes)} free",
        ]
        return "\n".join(lines)


def estimate(
    hp: HParams,
    qtype: str,
    outtype: str,
    *,
    shard_bytes: int,
    download_bytes: int,
    free_bytes: int,
    threads: int,
    eval_tokens: int = 512,
) -> Estimate:
    """Estimate the remaining work of a full run for the model ``hp`` describes."""
    shapes = expected_tensors(hp)
    n_params = sum(math.prod(s) for s in shapes.values())
    largest = max(math.prod(s) for s in shapes.values())
    converted = n_params * BYTES_PER_OUTTYPE[outtype]
    quantized = int(n_params * QUANT_TYPES[qtype][1] / 8)
    eval_flops = 2 * n_params * eval_tokens * 2  # two models, one pass each
    logits = 2 * eval_tokens * hp.vocab_size * 4
    return Estimate(
        n_params=n_params,
        largest_tensor=largest,
        download_bytes=download_bytes,
        shard_bytes=shard_bytes,
        converted_bytes=converted,
        quantized_bytes=quantized,
        convert_seconds=shard_bytes / CONVERT_BPS,
        quantize_seconds=n_params / (QUANTIZE_PARAMS_PER_S_PER_THREAD * max(1, threads)),
        validate_seconds=eval_flops / EVAL_FLOPS,
        quantize_memory=largest * 7,  # f32 copy + source + quantised rows of the largest tensor
        validate_memory=max(converted, quantized) + logits,
        free_bytes=free_bytes,
    )
