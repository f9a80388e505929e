"""Read a Hugging Face safetensors checkpoint (one file or shards + index) without loading it.

Only the JSON headers are parsed up front; tensor data is memory-mapped a block of rows at a time
and each mapping is closed as soon as its rows were copied out, so resident memory stays at one
block whatever the model size. The index and the shard headers are cross-checked before any
conversion starts.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

import numpy as np

from .errors import ModelRepoError

INDEX_NAME = "model.safetensors.index.json"
SINGLE_NAME = "model.safetensors"
# Raw storage dtype of each supported safetensors dtype (bf16 is kept as its 16 raw bits).
RAW_DTYPES = {"BF16": np.dtype("<u2"), "F16": np.dtype("<f2"), "F32": np.dtype("<f4")}
T = TypeVar("T")
_REFETCH = "Download the model again (qwq-quantize fetch resumes and re-verifies files)."


@dataclass(frozen=True)
class TensorRef:
    """Where one tensor lives: file, absolute byte offset, dtype and shape."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    path: Path
    offset: int
    nbytes: int

    @property
    def n_rows(self) -> int:
        return self.shape[0] if self.shape else 1

    @property
    def row_elements(self) -> int:
        return math.prod(self.shape[1:]) if len(self.shape) > 1 else max(1, math.prod(self.shape))

    @property
    def n_elements(self) -> int:
        return math.prod(self.shape)


def read_header(path: Path) -> tuple[dict, int]:
    """Return (header dict without __metadata__, absolute offset of the data section)."""
    try:
        with open(path, "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            if length > 100_000_000:
                raise ValueError(f"header length {length} is implausible")
            header = json.loads(f.read(length))
    except (OSError, ValueError, struct.error) as exc:
        raise ModelRepoError(
            f"{path.name} is not a readable safetensors file: {exc}", _REFETCH
        ) from exc
    header.pop("__metadata__", None)
    return header, 8 + length


def _shard_tensors(path: Path) -> dict[str, TensorRef]:
    header, data_start = read_header(path)
    file_size = path.stat().st_size
    refs = {}
    for name, entry in header.items():
        dtype, shape = entry.get("dtype"), tuple(entry.get("shape", ()))
        begin, end = entry.get("data_offsets", (0, 0))
        if dtype not in RAW_DTYPES:
            raise ModelRepoError(
                f"tensor {name} in {path.name} has dtype {dtype}; "
                "only BF16, F16 and F32 are supported",
                "Convert from the original unquantised release of the model.",
            )
        nbytes = math.prod(shape) * RAW_DTYPES[dtype].itemsize
        if end - begin != nbytes:
            raise ModelRepoError(
                f"tensor {name} in {path.name} spans {end - begin} bytes "
                f"but its shape needs {nbytes}",
                _REFETCH,
            )
        if data_start + end > file_size:
            raise ModelRepoError(
                f"{path.name} is truncated: tensor {name} ends at byte {data_start + end} "
                f"but the file has {file_size} bytes",
                _REFETCH,
            )
        refs[name] = TensorRef(name, dtype, shape, path, data_start + begin, nbytes)
    return refs


class Checkpoint:
    """All tensors of a safetensors checkpoint, cross-checked against its index."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.tensors: dict[str, TensorRef] = {}
        index_path = self.folder / INDEX_NAME
        if index_path.is_file():
            self._load_sharded(index_path)
        elif (self.folder / SINGLE_NAME).is_file():
            self.tensors = _shard_tensors(self.folder / SINGLE_NAME)
        else:
            found = sorted(p.name for p in self.folder.glob("*.safetensors"))
            detail = f"found only {', '.join(found)}" if found else "no .safetensors files at all"
            raise ModelRepoError(
                f"{self.folder} has neither {INDEX_NAME} nor {SINGLE_NAME} ({detail})", _REFETCH
            )

    def _load_sharded(self, index_path: Path) -> None:
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
            weight_map: dict[str, str] = index["weight_map"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelRepoError(f"{INDEX_NAME} is unreadable: {exc}", _REFETCH) from exc
        shards: dict[str, dict[str, TensorRef]] = {}
        for shard in sorted(set(weight_map.values())):
            path = self.folder / shard
            if not path.is_file():
                raise ModelRepoError(f"shard {shard} named in {INDEX_NAME} is missing", _REFETCH)
            shards[shard] = _shard_tensors(path)
        for name, shard in weight_map.items():
            if name not in shards[shard]:
                raise ModelRepoError(
                    f"{INDEX_NAME} places tensor {name} in {shard}, "
                    "but that shard does not hold it",
                    _REFETCH,
                )
            self.tensors[name] = shards[shard][name]
        for shard, refs in shards.items():
            unindexed = sorted(set(refs) - {n for n, s in weight_map.items() if s == shard})
            if unindexed:
                raise ModelRepoError(
                    f"{shard} holds tensors the index does not list: {', '.join(unindexed[:5])}",
                    _REFETCH,
                )
        total = index.get("metadata", {}).get("total_size")
        actual = sum(ref.nbytes for ref in self.tensors.values())
        if total is not None and int(total) != actual:
            raise ModelRepoError(
                f"{INDEX_NAME} declares total_size {total} bytes but the shards hold {actual}",
                _REFETCH,
            )

    @property
    def total_bytes(self) -> int:
        return sum(ref.nbytes for ref in self.tensors.values())


def with_mapped_rows(ref: TensorRef, start: int, stop: int, use: Callable[[np.ndarray], T]) -> T:
    """Call ``use`` with rows ``start:stop`` of ``ref`` as a read-only view of a memory mapping
    of just those rows, and return its result (which must not keep the view).

    The mapping is closed afterwards, so its pages leave this process's resident set again:
    memory stays bounded by one block.
    """
    raw = RAW_DTYPES[ref.dtype]
    row_bytes = ref.row_elements * raw.itemsize
    begin = ref.offset + start * row_bytes
    aligned = begin - begin % mmap.ALLOCATIONGRANULARITY
    length = ref.offset + stop * row_bytes - aligned
    with open(ref.path, "rb") as f:
        mm = mmap.mmap(f.fileno(), length, access=mmap.ACCESS_READ, offset=aligned)
    try:
        if hasattr(mm, "madvise") and hasattr(mmap, "MADV_WILLNEED"):
            mm.madvise(mmap.MADV_WILLNEED)  # read the whole block ahead
        view = np.frombuffer(mm, raw, (stop - start) * ref.row_elements, begin - aligned)
        result = use(view.reshape(stop - start, ref.row_elements))
        del view
        return result
    finally:
        try:
            mm.close()
        except BufferError:  # an exception's traceback still holds the view: GC unmaps it
            pass


def read_rows(ref: TensorRef, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of ``ref`` as a new float32 array (stop-start, row_elements)."""
    return with_mapped_rows(ref, start, stop, lambda view: to_float32(view, ref.dtype))


def gather_rows(ref: TensorRef, rows: np.ndarray) -> np.ndarray:
    """The rows at indices ``rows`` of ``ref`` as a new float32 array (a 1-D tensor is one
    row). Only the byte range spanning them is mapped."""
    lo, hi = int(rows.min()), int(rows.max()) + 1
    return with_mapped_rows(ref, lo, hi, lambda view: to_float32(view[rows - lo], ref.dtype))


def copy_rows(ref: TensorRef, start: int, stop: int, out: BinaryIO) -> None:
    """Write rows ``start:stop`` of ``ref`` unchanged to ``out``, straight from the mapping."""

    def write(view: np.ndarray) -> None:
        with memoryview(view) as data, data.cast("B") as flat:
            out.write(flat)

    with_mapped_rows(ref, start, stop, write)


def to_float32(raw: np.ndarray, dtype: str) -> np.ndarray:
    """Widen raw safetensors storage (BF16 bits, F16, F32) to a new float32 array."""
    if dtype == "BF16":
        return (raw.astype(np.uint32) << 16).view(np.float32)
    return raw.astype(np.float32, copy=True)
