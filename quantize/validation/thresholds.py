"""Pass/fail limits of the logit comparison, per quantisation type.

The statistics are those llama.cpp's perplexity tool reports with --kl-divergence: mean KL
divergence of the quantised model's next-token distribution from the reference's, how often
both pick the same most likely token, and the ratio of their perplexities on the text. Published
figures for 7-8B models put Q4_K_M near 0.03 mean KL and 92% top-1 agreement, Q8_0 near 0.001
and 99%; the limits leave room for a short evaluation text and differences between models while
catching a broken file (wrong RoPE, swapped tensors), which lands far beyond them.
"""

from __future__ import annotations

from dataclasses import dataclass

import gguf


@dataclass(frozen=True)
class Thresholds:
    max_mean_kl: float
    min_top1: float
    max_ppl_ratio: float


UNQUANTISED = Thresholds(max_mean_kl=0.002, min_top1=0.99, max_ppl_ratio=1.01)
THRESHOLDS: dict[str, Thresholds] = {
    "F32": UNQUANTISED,
    "F16": UNQUANTISED,
    "BF16": UNQUANTISED,
    "Q8_0": Thresholds(0.005, 0.97, 1.02),
    "Q6_K": Thresholds(0.015, 0.95, 1.03),
    "Q5_K_M": Thresholds(0.035, 0.92, 1.05),
    "Q4_K_M": Thresholds(0.07, 0.88, 1.08),
}
# Any other type: loose limits that still catch a broken model.
FALLBACK = Thresholds(0.15, 0.80, 1.20)


def file_type_name(file_type: int | None) -> str:
    """llama.cpp's short name for general.file_type (e.g. 15 -> "Q4_K_M")."""
    if file_type is None:
        return "unknown"
    try:
        name = gguf.LlamaFileType(file_type).name
    except ValueError:
        return f"type {file_type}"
    return name.removeprefix("MOSTLY_").removeprefix("ALL_")


def thresholds_for(type_name: str) -> Thresholds:
    return THRESHOLDS.get(type_name, FALLBACK)
