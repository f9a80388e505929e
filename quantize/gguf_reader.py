"""A fast read-only GGUF reader: metadata and tensor table parsed straight from a memory map.

gguf.GGUFReader builds several numpy views per array element, which takes about 13 s for a
262k-token vocabulary. This reader decodes each value once into plain Python values (what
gguf's ``field.contents()`` returns) and touches only the header pages; tensor data is mapped
on demand by ``tensor_data``.
"""

from __future__ import annotations

import math
import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf
import numpy as np

from .errors import GGUFInputError

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
_V = gguf.GGUFValueType
# struct format and numpy dtype of every scalar value type.
_SCALARS: dict[int, tuple[str, str]] = {
    _V.UINT8: ("B", "u1"),
    _V.INT8: ("b", "i1"),
    _V.UINT16: ("H", "u2"),
    _V.INT16: ("h", "i2"),
    _V.UINT32: ("I", "u4"),
    _V.INT32: ("i", "i4"),
    _V.FLOAT32: ("f", "f4"),
    _V.BOOL: ("?", "?"),
    _V.UINT64: ("Q", "u8"),
    _V.INT64: ("q", "i8"),
    _V.FLOAT64: ("d", "f8"),
}


@dataclass(frozen=True)
class TensorInfo:
    """One entry of the tensor table. ``dims`` are in GGUF order (innermost first)."""

    name: str
    dims: tuple[int, ...]
    tensor_type: gguf.GGMLQuantizationType
    offset: int  # absolute position of the data in the file

    @property
    def shape(self) -> tuple[int, ...]:
        """Row-major (numpy-order) shape."""
        return tuple(reversed(self.dims))

    @property
    def n_elements(self) -> int:
        return math.prod(self.dims)

    @property
    def nbytes(self) -> int:
        block, size = gguf.GGML_QUANT_SIZES[self.tensor_type]
        return self.n_elements // block * size


class _Cursor:
    """Sequential decoding of GGUF values from a buffer."""

    def __init__(self, buf: mmap.mmap, order: str) -> None:
        self.buf, self.order, self.pos = buf, order, 0

    def scalar(self, fmt: str) -> Any:
        (value,) = struct.unpack_from(self.order + fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        n = self.scalar("Q")
        raw = self.buf[self.pos : self.pos + n]
        if len(raw) != n:
            raise ValueError("a string runs past the end of the file")
        self.pos += n
        return raw.decode("utf-8", errors="surrogateescape")

    def value(self, vtype: int) -> Any:
        if vtype == _V.STRING:
            return self.string()
        if vtype == _V.ARRAY:
            return self.array()
        if vtype not in _SCALARS:
            raise ValueError(f"unknown value type {vtype}")
        return self.scalar(_SCALARS[vtype][0])

    def array(self) -> list:
        vtype, count = self.scalar("I"), self.scalar("Q")
        if vtype in _SCALARS:
            dtype = np.dtype(_SCALARS[vtype][1]).newbyteorder(self.order)
            if self.pos + count * dtype.itemsize > len(self.buf):
                raise ValueError("an array runs past the end of the file")
            values = np.frombuffer(self.buf, dtype, count, self.pos)
            self.pos += count * dtype.itemsize
            return values.tolist()
        return [self.value(vtype) for _ in range(count)]


class GGUFHeader:
    """Metadata (``fields``: key -> Python value) and tensor table of a GGUF file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise GGUFInputError(f"{self.path} does not exist")
        try:
            with open(self.path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                self._parse(m)
        except (ValueError, struct.error, OSError) as exc:
            raise GGUFInputError(
                f"{self.path} is not a readable GGUF file: {exc}",
                "Check the path; the file may be truncated or not a GGUF at all.",
            ) from exc
        self._data: np.memmap | None = None

    def _parse(self, buf: mmap.mmap) -> None:
        if buf[:4] != GGUF_MAGIC:
            raise ValueError("it does not start with the GGUF magic bytes")
        version = struct.unpack_from("<I", buf, 4)[0]
        order = "<" if version & 0xFFFF else ">"  # a byte-swapped version means big-endian
        self.byte_order = order
        cur = _Cursor(buf, order)
        cur.pos = 4
        self.version = cur.scalar("I")
        if self.version < 2:
            raise ValueError(f"GGUF version {self.version} is too old (2 or later is supported)")
        n_tensors, n_kv = cur.scalar("Q"), cur.scalar("Q")
        self.fields: dict[str, Any] = {}
        self.field_types: dict[str, int] = {}
        for _ in range(n_kv):
            key = cur.string()
            vtype = cur.scalar("I")
            self.fields[key] = cur.value(vtype)
            self.field_types[key] = vtype
        infos = []
        for _ in range(n_tensors):
            name = cur.string()
            dims = tuple(cur.scalar("Q") for _ in range(cur.scalar("I")))
            infos.append((name, dims, gguf.GGMLQuantizationType(cur.scalar("I")), cur.scalar("Q")))
        alignment = int(self.fields.get("general.alignment", DEFAULT_ALIGNMENT))
        self.data_offset = -(-cur.pos // alignment) * alignment
        self.tensors: dict[str, TensorInfo] = {
            name: TensorInfo(name, dims, qtype, self.data_offset + offset)
            for name, dims, qtype, offset in infos
        }
        ends = [t.offset + t.nbytes for t in self.tensors.values()]
        if ends and max(ends) > len(buf):
            raise ValueError("the tensor data runs past the end of the file (truncated?)")

    def value(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    def tensor_data(self, name: str) -> np.ndarray:
        """The stored data of a tensor, memory-mapped: float32/float16 elements in numpy shape,
        any other type as raw bytes shaped (..., bytes per row), as gguf.GGUFReader gives it."""
        info = self.tensors[name]
        if self._data is None:
            self._data = np.memmap(self.path, np.uint8, mode="r")
        raw = self._data[info.offset : info.offset + info.nbytes]
        Q = gguf.GGMLQuantizationType
        if info.tensor_type in (Q.F32, Q.F16):
            dtype = np.dtype("f4" if info.tensor_type == Q.F32 else "f2")
            return raw.view(dtype.newbyteorder(self.byte_order)).reshape(info.shape)
        return raw.reshape(gguf.quant_shape_to_byte_shape(info.shape, info.tensor_type))
