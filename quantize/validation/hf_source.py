"""The Hugging Face checkpoint as the reference forward pass reads it.

Its own reading of config.json and of the safetensors headers, written apart from the converter
(quantize.architectures, quantize.checkpoint) on purpose: a misunderstanding there must not
repeat itself here. Tensors are read on demand, a block of rows at a time, with plain file reads
(no mapping stays open), so memory holds only the rows asked for.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelRepoError

# Hugging Face classes whose decoder the reference pass implements: RMSNorm, rotate-half RoPE,
# grouped-query attention, SwiGLU. Biases and q/k norms are used when the checkpoint has them.
SUPPORTED = ("Qwen2ForCausalLM", "Qwen3ForCausalLM", "LlamaForCausalLM", "MistralForCausalLM")
ROPE_TYPES = (None, "default", "linear", "dynamic", "llama3", "yarn")
_RAW = {"BF16": np.dtype("<u2"), "F16": np.dtype("<f2"), "F32": np.dtype("<f4")}
_AGAIN = "Download the model again."


class SourceError(ModelRepoError):
    """The Hugging Face folder cannot be read by the reference forward pass."""


@dataclass(frozen=True)
class SourceConfig:
    """The fields of config.json the forward pass needs."""

    architecture: str
    n_layer: int
    hidden: int
    n_head: int
    n_kv_head: int
    head_dim: int
    n_ff: int
    vocab_size: int
    max_positions: int
    rope_theta: float
    rope_scaling: dict | None
    rms_eps: float
    tie_embeddings: bool
    sliding_window: int | None

    @property
    def rope_type(self) -> str | None:
        scaling = self.rope_scaling or {}
        return scaling.get("rope_type") or scaling.get("type")


def read_config(folder: Path) -> SourceConfig:
    """Parse config.json; SourceError when it is missing, malformed or of another family."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SourceError(f"config.json cannot be read: {exc}", "Download it again.") from exc
    arch = next((a for a in config.get("architectures") or [] if a in SUPPORTED), None)
    if arch is None:
        raise SourceError(
            f"no reference forward pass for {config.get('architectures')}",
            f"It covers {', '.join(SUPPORTED)}.",
        )
    if config.get("hidden_act", "silu") != "silu":
        raise SourceError(f"activation {config['hidden_act']!r} is not SiLU", "Unsupported.")
    try:
        n_head, hidden = int(config["num_attention_heads"]), int(config["hidden_size"])
        window = config.get("sliding_window") if config.get("use_sliding_window", True) else None
        parsed = SourceConfig(
            architecture=arch,
            n_layer=int(config["num_hidden_layers"]),
            hidden=hidden,
            n_head=n_head,
            n_kv_head=int(config.get("num_key_value_heads") or n_head),
            head_dim=int(config.get("head_dim") or hidden // n_head),
            n_ff=int(config["intermediate_size"]),
            vocab_size=int(config["vocab_size"]),
            max_positions=int(config.get("max_position_embeddings") or 0),
            rope_theta=float(config.get("rope_theta", 10000.0)),
            rope_scaling=config.get("rope_scaling") or None,
            rms_eps=float(config["rms_norm_eps"]),
            tie_embeddings=bool(config.get("tie_word_embeddings", False)),
            sliding_window=int(window) if window else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceError(f"config.json lacks a field: {exc}", "Download it again.") from exc
    if parsed.rope_type not in ROPE_TYPES:
        raise SourceError(f"rope_scaling {parsed.rope_type!r} is not implemented", "Unsupported.")
    return parsed


@dataclass(frozen=True)
class StoredTensor:
    """One tensor in a shard: read rows of it as float32 without loading the rest."""

    name: str
    path: Path
    dtype: str
    shape: tuple[int, ...]
    offset: int  # absolute byte offset in the file

    @property
    def row_size(self) -> int:
        return math.prod(self.shape[1:]) if len(self.shape) > 1 else math.prod(self.shape)

    @property
    def n_rows(self) -> int:
        return self.shape[0] if len(self.shape) > 1 else 1

    @property
    def nbytes(self) -> int:
        return self.n_rows * self.row_size * _RAW[self.dtype].itemsize

    def rows(self, start: int, stop: int, scratch: Scratch | None = None) -> np.ndarray:
        """Rows ``start:stop`` as float32, shape (stop - start, row_size); with ``scratch``,
        in its reused buffers (valid until the next read): no allocation, no page faults."""
        raw, count = _RAW[self.dtype], (stop - start) * self.row_size
        data, out = scratch.take(count, raw) if scratch else (np.empty(count, raw), None)
        with open(self.path, "rb") as f:
            f.seek(self.offset + start * self.row_size * raw.itemsize)
            if f.readinto(memoryview(data).cast("B")) != data.nbytes:
                raise SourceError(f"{self.path.name} ends inside {self.name}", _AGAIN)
        return _widen(data, self.dtype, out).reshape(stop - start, self.row_size)

    def take(self, rows: Sequence[int]) -> np.ndarray:
        """The given rows (any order, repeats allowed) as float32."""
        unique, where = np.unique(np.asarray(rows, dtype=np.int64), return_inverse=True)
        raw, size = _RAW[self.dtype], self.row_size
        out = np.empty((len(unique), size), raw)
        with open(self.path, "rb") as f:
            for i, row in enumerate(unique):
                f.seek(self.offset + int(row) * size * raw.itemsize)
                if f.readinto(memoryview(out[i]).cast("B")) != size * raw.itemsize:
                    raise SourceError(f"{self.path.name} ends inside {self.name}", _AGAIN)
        return _widen(out, self.dtype)[where]

    def vector(self) -> np.ndarray:
        """A 1-D tensor (norm weight, bias) as float32."""
        return self.rows(0, 1).reshape(-1)

    def blocks(self, block_bytes: int) -> Iterator[tuple[int, int]]:
        """(start, stop) row ranges whose float32 copy is at most ``block_bytes`` (one row
        at least)."""
        step = max(1, block_bytes // (4 * self.row_size))
        for start in range(0, self.n_rows, step):
            yield start, min(self.n_rows, start + step)


class Scratch:
    """Two buffers reused for every block read: the raw bytes and their float32 values."""

    def __init__(self, block_bytes: int) -> None:
        self.limit = block_bytes // 4  # float32 values
        self.raw = np.empty(0, np.uint8)
        self.values = np.empty(0, np.float32)

    def take(self, count: int, raw: np.dtype) -> tuple[np.ndarray, np.ndarray | None]:
        if count > self.limit:  # a single row larger than a block: a one-off array
            return np.empty(count, raw), None
        if count > self.values.size:  # grown to the largest block asked for, at most the limit
            self.raw, self.values = np.empty(4 * count, np.uint8), np.empty(count, np.float32)
        return self.raw[: count * raw.itemsize].view(raw), self.values[:count]


def _widen(data: np.ndarray, dtype: str, out: np.ndarray | None = None) -> np.ndarray:
    if dtype == "BF16":  # the upper half of a float32 (one pass: twice as fast as astype)
        bits = None if out is None else out.view(np.uint32)
        return np.left_shift(data, 16, dtype=np.uint32, out=bits).view(np.float32)
    if out is None:
        return data.astype(np.float32)
    out[...] = data
    return out


def _read_shard(path: Path) -> dict[str, StoredTensor]:
    try:
        with open(path, "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(length))
    except (OSError, ValueError, struct.error) as exc:
        raise SourceError(f"{path.name} is not a safetensors file: {exc}", "Download it.") from exc
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] not in _RAW:
            raise SourceError(f"{name} is stored as {entry['dtype']}", "Use the bf16 release.")
        start = 8 + length + int(entry["data_offsets"][0])
        tensors[name] = StoredTensor(name, path, entry["dtype"], tuple(entry["shape"]), start)
    return tensors


class HFSource:
    """config.json and every tensor of a Hugging Face folder (headers only, read lazily)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.config = read_config(self.folder)
        index = self.folder / "model.safetensors.index.json"
        if index.is_file():
            try:
                files = sorted(set(json.loads(index.read_text("utf-8"))["weight_map"].values()))
            except (OSError, ValueError, KeyError) as exc:
                raise SourceError(f"{index.name} is unreadable: {exc}", "Download it.") from exc
        else:
            files = sorted(p.name for p in self.folder.glob("*.safetensors"))
        if not files:
            raise SourceError(f"{self.folder} holds no safetensors", "Download the weights.")
        self.tensors: dict[str, StoredTensor] = {}
        for file in files:
            if not (self.folder / file).is_file():
                raise SourceError(f"shard {file} is missing", "Download the model again.")
            self.tensors.update(_read_shard(self.folder / file))

    def __contains__(self, name: str) -> bool:
        return name in self.tensors

    def tensor(self, name: str) -> StoredTensor:
        try:
            return self.tensors[name]
        except KeyError:
            raise SourceError(f"the checkpoint has no {name}", "Download it again.") from None

    @property
    def total_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors.values())
