"""Weight check: sampled rows of every GGUF tensor against the Hugging Face tensor it came from.

This catches what shape checks cannot: tensors swapped with others of the same shape, wrong
permutations, a conversion from the wrong file. Rows are sampled (a few per tensor), so even a
32B model is checked in seconds.
"""

from __future__ import annotations

import gguf
import numpy as np

from ..architectures import HParams, gguf_name, gguf_name_map, qk_row_order
from ..checkpoint import Checkpoint, TensorRef, gather_rows, read_rows
from .gguf_file import GGUFFile
from .report import CheckResult

Q = gguf.GGMLQuantizationType
# Largest relative RMS error each storage type can introduce (a swapped tensor gives ~1.4).
MAX_RELATIVE_ERROR = {
    Q.F32: 1e-6,
    Q.BF16: 0.01,
    Q.F16: 0.002,
    Q.Q8_0: 0.02,
    Q.Q6_K: 0.05,
    Q.Q5_K: 0.1,
    Q.Q5_0: 0.1,
    Q.Q5_1: 0.1,
    Q.Q4_K: 0.2,
    Q.Q4_0: 0.2,
    Q.Q4_1: 0.2,
    Q.IQ4_NL: 0.2,
    Q.IQ4_XS: 0.2,
}
FALLBACK_ERROR = 0.5
ROWS_PER_TENSOR = 8


def _sample_rows(n_rows: int) -> np.ndarray:
    return np.unique(np.linspace(0, n_rows - 1, min(n_rows, ROWS_PER_TENSOR)).astype(np.int64))


def _source_rows(
    ref: TensorRef, rows: np.ndarray, order: np.ndarray | None, one_d: bool
) -> np.ndarray:
    if one_d:
        values = read_rows(ref, 0, 1).reshape(1, -1)
        return values[:, order] if order is not None else values
    return gather_rows(ref, order[rows] if order is not None else rows)


def _relative_error(got: np.ndarray, want: np.ndarray) -> float:
    if got.shape != want.shape:
        return float("inf")
    scale = float(np.sqrt(np.mean(want.astype(np.float64) ** 2))) or 1.0
    return float(np.sqrt(np.mean((got.astype(np.float64) - want) ** 2))) / scale


def check_weights(g: GGUFFile, ckpt: Checkpoint, hp: HParams) -> CheckResult:
    """Compare sampled rows of each GGUF tensor with its source tensor."""
    name_map = gguf_name_map(hp)
    sources = {gguf_name(name_map, n): ref for n, ref in ckpt.tensors.items()}
    if hp.tie_embeddings:
        sources.pop("output.weight", None)
    problems, worst, compared = [], {}, 0
    for name in g.tensors:
        ref = sources.get(name)
        if ref is None:
            continue  # computed tensors (rope_freqs) and unknown ones: the structure check reports
        if g.shape(name) != ref.shape:
            problems.append(f"{name} has shape {list(g.shape(name))}, its source {list(ref.shape)}")
            continue
        one_d = len(ref.shape) == 1
        rows = np.array([0]) if one_d else _sample_rows(ref.n_rows)
        try:
            got = g.rows(name, rows)
        except Exception as exc:  # a type gguf-py cannot dequantise: report, do not crash
            problems.append(f"{name}: cannot read ({exc})")
            continue
        order = qk_row_order(hp, name)
        error = _relative_error(got, _source_rows(ref, rows, order, one_d))
        qtype = g.tensors[name].tensor_type
        worst[qtype.name] = max(worst.get(qtype.name, 0.0), error)
        compared += 1
        if error > MAX_RELATIVE_ERROR.get(qtype, FALLBACK_ERROR):
            problems.append(_explain(name, error, got, rows, sources, hp, one_d))
    if problems:
        return CheckResult(
            "weights",
            False,
            f"{len(problems)} tensor(s) differ from the source: {problems[0]}",
            {"problems": problems[:20], "worst_relative_error": worst},
        )
    return CheckResult(
        "weights",
        True,
        f"{compared} tensors match the source (worst relative error "
        + ", ".join(f"{k} {v:.3g}" for k, v in sorted(worst.items()))
        + ")",
        {"worst_relative_error": worst},
    )


def _explain(name, error, got, rows, sources, hp, one_d) -> str:
    """Describe a mismatch, naming the source tensor it matches instead when there is one."""
    for other, ref in sources.items():
        if other == name or ref.shape != sources[name].shape:
            continue
        candidate = _source_rows(ref, rows, qk_row_order(hp, other), one_d)
        if _relative_error(got, candidate) < min(0.25, error / 4):
            return f"{name} holds the data of {other} (swapped tensors?)"
    return f"{name} is off by {error:.0%} (relative RMS)"
