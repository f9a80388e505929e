"""A fast, strict, read-only GGUF reader: metadata and tensor table parsed from a memory map.

gguf.GGUFReader builds several numpy views per array element, which takes about 13 s for a
262k-token vocabulary. This reader decodes each value once into plain Python values (what
gguf's ``field.contents()`` returns) and touches only the header pages; tensor data is mapped
on demand by ``tensor_data``.

It is also the first line of defence before a file reaches llama.cpp: every count and length
is checked against the bytes that are really there (a damaged count never makes it loop over
billions of entries or allocate gigabytes), and the structure follows the rules llama.cpp's
own reader (ggml/src/gguf.cpp) enforces: version, key and tensor-name rules, known value and
tensor types, dimensions, row sizes and contiguous, aligned tensor offsets inside the file.
A violation is a ``GGUFFormatError`` naming the problem and where it is.
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
MAX_VERSION = 3
# llama.cpp's limits (gguf.cpp, ggml.h).
MAX_STRING_BYTES = 1 << 30
MAX_ARRAY_ITEMS = 1 << 30
MAX_TENSOR_NAME = 63
MAX_DIMS = 4
_INT64_MAX = (1 << 63) - 1
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
_DAMAGED_HINT = "the file is damaged or incomplete: download it again or verify its sha256"


class GGUFFormatError(GGUFInputError):
    """The file is not a well-formed GGUF. ``problem`` names the rule it breaks (a short code
    such as "truncated", "version", "tensor-offset"), ``detail`` says what is wrong without
    the file's name, ``offset`` where in the file."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        problem: str,
        detail: str = "",
        offset: int | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.problem = problem
        self.detail = detail or message
        self.offset = offset


class _Bad(Exception):
    def __init__(self, problem: str, detail: str, offset: int | None = None) -> None:
        super().__init__(detail)
        self.problem, self.detail, self.offset = problem, detail, offset


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
    """Sequential, bounds-checked decoding of GGUF values from a buffer."""

    def __init__(self, buf: mmap.mmap, order: str) -> None:
        self.buf, self.order, self.pos, self.size = buf, order, 0, len(buf)
        self._u64 = struct.Struct(order + "Q").unpack_from

    def need(self, n: int, what: str) -> None:
        if n > self.size - self.pos:
            raise _Bad("truncated", f"{what} runs past the end of the file", self.pos)

    def scalar(self, fmt: str, what: str = "a value") -> Any:
        n = struct.calcsize(fmt)
        self.need(n, what)
        (value,) = struct.unpack_from(self.order + fmt, self.buf, self.pos)
        self.pos += n
        return value

    def string(self, what: str) -> str:
        n = self.scalar("Q", what)
        if n > MAX_STRING_BYTES:
            raise _Bad("string-length", f"{what} claims {n:,} bytes (the limit is 1 GiB)", self.pos)
        self.need(n, what)
        raw = self.buf[self.pos : self.pos + n]
        self.pos += n
        return raw.decode("utf-8", errors="surrogateescape")

    def value(self, vtype: int, what: str) -> Any:
        if vtype == _V.STRING:
            return self.string(what)
        if vtype == _V.ARRAY:
            return self.array(what)
        if vtype not in _SCALARS:
            raise _Bad("value-type", f"{what} has the unknown value type {vtype}", self.pos - 4)
        return self.scalar(_SCALARS[vtype][0], what)

    def array(self, what: str) -> tuple[int, list]:
        start = self.pos
        vtype, count = self.scalar("I", what), self.scalar("Q", what)
        if vtype == _V.ARRAY:
            raise _Bad("value-type", f"{what} is an array of arrays (llama.cpp has none)", start)
        if vtype != _V.STRING and vtype not in _SCALARS:
            raise _Bad("value-type", f"{what} is an array of the unknown type {vtype}", start)
        item = 8 if vtype == _V.STRING else struct.calcsize(_SCALARS[vtype][0])
        if count > MAX_ARRAY_ITEMS or count * item > self.size - self.pos:
            raise _Bad(
                "array-length",
                f"{what} claims {count:,} items, more than the file holds",
                start,
            )
        if vtype == _V.STRING:
            return vtype, self._strings(count, what)
        dtype = np.dtype(_SCALARS[vtype][1]).newbyteorder(self.order)
        values = np.frombuffer(self.buf, dtype, count, self.pos)
        self.pos += count * dtype.itemsize
        return vtype, values.tolist()

    def _strings(self, count: int, what: str) -> list[str]:
        buf, pos, size, u64 = self.buf, self.pos, self.size, self._u64
        out: list[str] = []
        append = out.append
        for i in range(count):
            if pos + 8 > size:
                raise _Bad("truncated", f"item {i} of {what} runs past the end of the file", pos)
            (n,) = u64(buf, pos)
            pos += 8
            if n > size - pos or n > MAX_STRING_BYTES:
                raise _Bad("string-length", f"item {i} of {what} claims {n:,} bytes", pos - 8)
            append(buf[pos : pos + n].decode("utf-8", errors="surrogateescape"))
            pos += n
        self.pos = pos
        return out


class GGUFHeader:
    """Metadata (``fields``: key -> Python value) and tensor table of a GGUF file.

    ``field_types`` gives each key's value type, ``array_types`` the item type of array keys.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise GGUFInputError(f"{self.path} does not exist")
        try:
            with open(self.path, "rb") as f:
                self.file_size = size = f.seek(0, 2)
                if size == 0:
                    raise _Bad("truncated", "it is empty", 0)
                with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                    self._parse(m)
        except _Bad as bad:
            raise GGUFFormatError(
                f"{self.path} is not a readable GGUF file: {bad.detail}",
                _DAMAGED_HINT if bad.problem != "magic" else "check the path: it is not a GGUF",
                problem=bad.problem,
                detail=bad.detail,
                offset=bad.offset,
            ) from None
        except (ValueError, OSError) as exc:
            raise GGUFInputError(
                f"{self.path} is not a readable GGUF file: {exc}",
                "Check the path; the file may be truncated or not a GGUF at all.",
            ) from exc
        self._data: np.memmap | None = None

    def _parse(self, buf: mmap.mmap) -> None:
        if buf[:4] != GGUF_MAGIC:
            raise _Bad("magic", "it does not start with the GGUF magic bytes", 0)
        if len(buf) < 24:
            raise _Bad("truncated", f"it is only {len(buf)} bytes long", 0)
        version = struct.unpack_from("<I", buf, 4)[0]
        order = "<" if version & 0xFFFF else ">"  # a byte-swapped version means big-endian
        self.byte_order = order
        cur = _Cursor(buf, order)
        cur.pos = 4
        self.version = cur.scalar("I")
        if not 2 <= self.version <= MAX_VERSION:
            raise _Bad("version", f"GGUF version {self.version} is not supported (2 or 3)", 4)
        n_tensors, n_kv = cur.scalar("Q"), cur.scalar("Q")
        # Smallest possible entries: a key/value takes 13 bytes, a tensor-table entry 24.
        room = cur.size - cur.pos
        if n_kv * 13 > room:
            raise _Bad("count", f"it claims {n_kv:,} metadata keys, more than the file holds", 16)
        if n_tensors * 24 > room:
            raise _Bad("count", f"it claims {n_tensors:,} tensors, more than the file holds", 8)
        self.fields: dict[str, Any] = {}
        self.field_types: dict[str, int] = {}
        self.array_types: dict[str, int] = {}
        for i in range(n_kv):
            start = cur.pos
            key = cur.string(f"metadata key {i}")
            if not key or key in self.fields:
                problem = "empty" if not key else f"duplicate ({key!r})"
                raise _Bad("key", f"metadata key {i} is {problem}", start)
            vtype = cur.scalar("I", key)
            self.field_types[key] = vtype
            if vtype == _V.ARRAY:
                self.array_types[key], self.fields[key] = cur.array(repr(key))
            else:
                self.fields[key] = cur.value(vtype, repr(key))
        self.alignment = self._alignment()
        infos = [self._tensor_info(cur, i) for i in range(n_tensors)]
        self.data_offset = -(-cur.pos // self.alignment) * self.alignment
        self.tensors: dict[str, TensorInfo] = {}
        expected = 0
        for name, dims, qtype, offset, at in infos:
            if name in self.tensors:
                raise _Bad("tensor-name", f"the tensor name {name!r} appears twice", at)
            if offset != expected:
                raise _Bad(
                    "tensor-offset",
                    f"tensor {name!r} starts at data offset {offset:,}, expected {expected:,}",
                    at,
                )
            info = TensorInfo(name, dims, qtype, self.data_offset + offset)
            self.tensors[name] = info
            expected += -(-info.nbytes // self.alignment) * self.alignment
            if info.offset + info.nbytes > cur.size:
                raise _Bad(
                    "truncated",
                    f"the tensor data runs past the end of the file (truncated?): {name!r}",
                    at,
                )

    def _alignment(self) -> int:
        value = self.fields.get("general.alignment", DEFAULT_ALIGNMENT)
        if "general.alignment" in self.fields and self.field_types["general.alignment"] != int(
            _V.UINT32
        ):
            raise _Bad("alignment", "general.alignment is not a 32-bit unsigned integer")
        if value <= 0 or value & (value - 1):
            raise _Bad("alignment", f"the alignment {value} is not a power of two")
        return int(value)

    @staticmethod
    def _tensor_info(cur: _Cursor, i: int) -> tuple:
        at = cur.pos
        name = cur.string(f"tensor name {i}")
        what = f"tensor {name!r}"
        if len(name.encode("utf-8", errors="surrogateescape")) > MAX_TENSOR_NAME:
            raise _Bad("tensor-name", f"tensor name {i} is longer than 63 bytes", at)
        n_dims = cur.scalar("I", what)
        if n_dims > MAX_DIMS:
            raise _Bad("tensor-shape", f"{what} has {n_dims:,} dimensions (at most 4)", at)
        dims = tuple(cur.scalar("Q", what) for _ in range(n_dims))
        if any(d > _INT64_MAX for d in dims) or math.prod(dims) > _INT64_MAX:
            raise _Bad("tensor-shape", f"{what} has an impossible shape {dims}", at)
        raw_type = cur.scalar("I", what)
        try:
            qtype = gguf.GGMLQuantizationType(raw_type)
            block, _size = gguf.GGML_QUANT_SIZES[qtype]
        except (ValueError, KeyError):
            raise _Bad(
                "tensor-type", f"{what} has the unknown tensor type {raw_type}", at
            ) from None
        if dims and dims[0] % block:
            raise _Bad("tensor-shape", f"{what} has rows of {dims[0]} values, not whole blocks", at)
        return name, dims, qtype, cur.scalar("Q", what), at

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
