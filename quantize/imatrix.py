"""Read importance-matrix files (llama.cpp's GGUF format or its legacy .dat format).

The result is what llama.cpp's quantizer consumes: for each weight tensor, the mean squared
activation of each input column (per expert for MoE tensors).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import gguf
import numpy as np

from .errors import GGUFInputError

_HINT = "Create it with llama.cpp's llama-imatrix tool for this very model."


@dataclass
class ImportanceMatrix:
    """Per-tensor importance values plus where they came from."""

    path: Path
    entries: dict[str, np.ndarray]
    chunk_count: int = 0
    datasets: list[str] = field(default_factory=list)


def load_imatrix(path: str | Path) -> ImportanceMatrix:
    """Load an imatrix file, GGUF or legacy; raise GGUFInputError if it is unusable."""
    path = Path(path)
    if not path.is_file():
        raise GGUFInputError(f"importance matrix {path} does not exist", _HINT)
    with open(path, "rb") as f:
        magic = f.read(4)
    matrix = _load_gguf(path) if magic == b"GGUF" else _load_legacy(path)
    if not matrix.entries:
        raise GGUFInputError(f"importance matrix {path} holds no entries", _HINT)
    for name, values in matrix.entries.items():
        if not np.all(np.isfinite(values)):
            raise GGUFInputError(f"importance matrix entry {name} has non-finite values", _HINT)
    return matrix


def _load_gguf(path: Path) -> ImportanceMatrix:
    try:
        reader = gguf.GGUFReader(path)
    except Exception as exc:
        raise GGUFInputError(f"{path} is not a readable GGUF imatrix: {exc}", _HINT) from exc
    tensors = {t.name: np.asarray(t.data, np.float32).reshape(-1) for t in reader.tensors}
    entries = {}
    for name, sums in tensors.items():
        if not name.endswith(".in_sum2"):
            continue
        base = name[: -len(".in_sum2")]
        counts = tensors.get(base + ".counts")
        if counts is None:
            raise GGUFInputError(f"{path}: {base} has sums but no counts", _HINT)
        per_expert = sums.reshape(len(counts), -1)
        mean = np.where(counts[:, None] > 0, per_expert / np.maximum(counts[:, None], 1), 1.0)
        entries[base] = mean.reshape(-1).astype(np.float32)
    chunks = reader.fields.get("imatrix.chunk_count")
    datasets = reader.fields.get("imatrix.datasets")
    return ImportanceMatrix(
        path=path,
        entries=entries,
        chunk_count=int(chunks.contents()) if chunks else 0,
        datasets=list(datasets.contents()) if datasets else [],
    )


def _load_legacy(path: Path) -> ImportanceMatrix:
    data = path.read_bytes()
    try:
        (n_entries,) = struct.unpack_from("<i", data, 0)
        pos, entries = 4, {}
        for _ in range(n_entries):
            (length,) = struct.unpack_from("<i", data, pos)
            name = data[pos + 4 : pos + 4 + length].decode()
            pos += 4 + length
            ncall, nval = struct.unpack_from("<ii", data, pos)
            pos += 8
            values = np.frombuffer(data, np.float32, nval, pos).copy()
            if len(values) != nval:
                raise ValueError("truncated")
            pos += 4 * nval
            entries[name] = values / ncall if ncall > 0 else values
        chunk_count = struct.unpack_from("<i", data, pos)[0] if pos + 4 <= len(data) else 0
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise GGUFInputError(f"{path} is neither a GGUF nor a legacy imatrix file", _HINT) from exc
    if n_entries < 1:
        raise GGUFInputError(f"importance matrix {path} holds no entries", _HINT)
    return ImportanceMatrix(path=path, entries=entries, chunk_count=chunk_count)
