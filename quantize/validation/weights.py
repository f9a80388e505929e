"""Weight check: sampled rows of every GGUF tensor against the Hugging Face tensor it came from
(or, without the Hugging Face folder, against the same tensor of the reference GGUF).

This catches what shape checks cannot: tensors swapped with others of the same shape, wrong
permutations, a conversion from the wrong file. Rows are sampled (a few per tensor), so even a
32B model is checked in seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

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


@dataclass
class RowSource:
    """Where the true values of one GGUF tensor come from: ``read(rows)`` gives those rows as
    float32, shape (len(rows), row length) (a 1-D tensor is one row); ``error`` is the relative
    error the source itself may carry (0 for the safetensors)."""

    shape: tuple[int, ...]
    read: Callable[[np.ndarray], np.ndarray]
    error: float = 0.0


def checkpoint_sources(ckpt: Checkpoint, hp: HParams) -> dict[str, RowSource]:
    """Each GGUF tensor's rows from the Hugging Face checkpoint (q/k rows permuted as convert
    permutes them)."""
    name_map = gguf_name_map(hp)
    sources = {}
    for hf_name, ref in ckpt.tensors.items():
        name = gguf_name(name_map, hf_name)
        if name is None or (name == "output.weight" and hp.tie_embeddings):
            continue
        sources[name] = RowSource(ref.shape, partial(_checkpoint_rows, ref, qk_row_order(hp, name)))
    return sources


def _checkpoint_rows(ref: TensorRef, order: np.ndarray | None, rows: np.ndarray) -> np.ndarray:
    if len(ref.shape) == 1:
        values = read_rows(ref, 0, 1).reshape(1, -1)
        return values[:, order] if order is not None else values
    return gather_rows(ref, order[rows] if order is not None else rows)


def reference_sources(ref: GGUFFile) -> dict[str, RowSource]:
    """Each tensor's rows from the reference GGUF (dequantised)."""
    return {
        name: RowSource(
            ref.shape(name),
            partial(ref.rows, name),
            MAX_RELATIVE_ERROR.get(info.tensor_type, FALLBACK_ERROR),
        )
        for name, info in ref.tensors.items()
    }


def _relative_error(got: np.ndarray, want: np.ndarray) -> float:
    if got.shape != want.shape:
        return float("inf")
    scale = float(np.sqrt(np.mean(want.astype(np.float64) ** 2))) or 1.0
    return float(np.sqrt(np.mean((got.astype(np.float64) - want) ** 2))) / scale


def check_weights(g: GGUFFile, sources: dict[str, RowSource], against: str) -> CheckResult:
    """Compare sampled rows of each GGUF tensor with its true values from ``sources`` (taken
    from ``against``: "the source" or "the reference")."""
    problems, worst, compared = [], {}, 0
    for name in g.tensors:
        source = sources.get(name)
        if source is None:
            continue  # computed tensors (rope_freqs) and unknown ones: the structure check reports
        if g.shape(name) != source.shape:
            problems.append(
                f"{name} has shape {list(g.shape(name))}, in {against} {list(source.shape)}"
            )
            continue
        rows = np.array([0]) if len(source.shape) == 1 else _sample_rows(source.shape[0])
        try:
            got = g.rows(name, rows)
        except Exception as exc:  # a type gguf-py cannot dequantise: report, do not crash
            problems.append(f"{name}: cannot read ({exc})")
            continue
        error = _relative_error(got, source.read(rows))
        qtype = g.tensors[name].tensor_type
        worst[qtype.name] = max(worst.get(qtype.name, 0.0), error)
        compared += 1
        if error > MAX_RELATIVE_ERROR.get(qtype, FALLBACK_ERROR) + source.error:
            problems.append(_explain(name, error, got, rows, sources))
    if problems:
        return CheckResult(
            "weights",
            False,
            f"{len(problems)} tensor(s) differ from {against}: {problems[0]}",
            {"problems": problems[:20], "worst_relative_error": worst},
        )
    return CheckResult(
        "weights",
        True,
        f"{compared} tensors match {against} (worst relative error "
        + ", ".join(f"{k} {v:.3g}" for k, v in sorted(worst.items()))
        + ")",
        {"worst_relative_error": worst},
    )


def _explain(name, error, got, rows, sources) -> str:
    """Describe a mismatch, naming the tensor it matches instead when there is one."""
    for other, source in sources.items():
        if other == name or source.shape != sources[name].shape:
            continue
        if _relative_error(got, source.read(rows)) < min(0.25, error / 4):
            return f"{name} holds the data of {other} (swapped tensors?)"
    return f"{name} is off by {error:.0%} (relative RMS)"
