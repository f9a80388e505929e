"""Pass/fail limits of the logit comparisons, per quantisation type.

The statistics are those llama.cpp's perplexity tool reports with --kl-divergence: mean KL
divergence of the quantised model's next-token distribution from the reference's, how often
both pick the same most likely token, and the ratio of their perplexities on the text. Published
figures for 7-8B models put Q4_K_M near 0.03 mean KL and 92% top-1 agreement, Q8_0 near 0.001
and 99%; the limits leave room for a short evaluation text and differences between models while
catching a broken file (wrong RoPE, swapped tensors), which lands far beyond them.

Top-1 agreement is judged only on confident positions (see CONFIDENT_MARGIN): where the
reference hesitates between tokens, a flip says nothing about the file.

``max_block_error`` limits the reference forward check's per-block comparison: the relative
difference of one attention or feed-forward block's output from the original weights' given
the same input. That is about the relative error of the block's quantised weights (weights.py
allows 0.02 for Q8_0, 0.05 for Q6_K, 0.1 for Q5_K, 0.2 for Q4_K); the limits are 2.5 times that
(several matrices in series). Measured on a small random-weight Qwen2: Q8_0 blocks 0.015,
Q4_K_M 0.13; a swapped tensor, a wrong q/k row order or RoPE base gives 0.25 to 1.5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gguf


@dataclass(frozen=True)
class Thresholds:
    max_mean_kl: float
    min_top1: float
    max_ppl_ratio: float
    max_block_error: float = 0.5


UNQUANTISED = Thresholds(max_mean_kl=0.002, min_top1=0.99, max_ppl_ratio=1.01, max_block_error=0.05)
THRESHOLDS: dict[str, Thresholds] = {
    "F32": UNQUANTISED,
    "F16": UNQUANTISED,
    "BF16": UNQUANTISED,
    "Q8_0": Thresholds(0.005, 0.97, 1.02, 0.05),
    "Q6_K": Thresholds(0.015, 0.95, 1.03, 0.125),
    "Q5_K_M": Thresholds(0.035, 0.92, 1.05, 0.25),
    "Q4_K_M": Thresholds(0.07, 0.88, 1.08, 0.5),
}
# Any other type: loose limits that still catch a broken model.
FALLBACK = Thresholds(0.15, 0.80, 1.20, 0.6)

# A position is confident when the reference's top token is at least 4 times as likely as the
# runner-up (log-probability margin ln 4 = 1.39 nats). Quantisation perturbs logits by delta
# with mean KL ~ Var(delta)/2, so at the loosest type's KL limit (0.15) two logits move apart by
# ~0.77 nats (standard deviation) and at Q4_K_M's (0.07) by ~0.53: a margin of 1.39 is 1.8 and
# 2.6 standard deviations, so a correct file flips at most a few percent of confident positions
# (well within min_top1), while on flat distributions (a margin of a few hundredths, as in a
# random-weight model) any noise flips the top token and top-1 agreement means nothing.
CONFIDENT_MARGIN = math.log(4.0)
# Fewer confident positions than this: top-1 agreement is reported but not judged (one flip in
# a handful of positions would swing it by tens of percent); KL and perplexity still apply.
MIN_CONFIDENT_POSITIONS = 10


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
