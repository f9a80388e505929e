"""A fast reader for a GGUF file's header: metadata and tensor infos, never the weights.

gguf.GGUFReader builds Python objects for every element of every array, which takes ~13 s for a
262k-token vocabulary. This reader walks the header with struct and keeps only what the app
needs: scalar values, the token strings, and each tensor's name, shape, type and size.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
# GGUF value types
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
_SCALAR = {
    U8: "<B",
    I8: "<b",
    U16: "<H",
    I16: "<h",
    U32: "<I",
    I32: "<i",
    F32: "<f",
    BOOL: "<?",
    U64: "<Q",
    I64: "<q",
    F64: "<d",
}
# Arrays whose elements the app reads; others are skipped.
KEEP_ARRAYS = {"tokenizer.ggml.tokens"}


class GGUFFormatError(ValueError):
    """The file is not a well-formed GGUF (truncated, wrong version, corrupt header)."""


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    type_id: int
    type_name: str
    n_elements: int
    n_bytes: int
    offset: int


@dataclass
class GGUFHeader:
    version: int
    metadata: dict
    tensors: list[TensorInfo]
    data_offset: int


class _Cursor:
    def __init__(self, buf) -> None:
        self.buf = buf
        self.pos = 0

    def unpack(self, fmt: str):
        value = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        n = self.unpack("<Q")
        if self.pos + n > len(self.buf):
            raise GGUFFormatError("string runs past the end of the file")
        raw = self.buf[self.pos : self.pos + n]
        self.pos += n
        return bytes(raw).decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        n = self.unpack("<Q")
        self.pos += n

    def value(self, vtype: int, keep: bool = True):
        if vtype in _SCALAR:
            return self.unpack(_SCALAR[vtype])
        if vtype == STRING:
            return self.string()
        if vtype == ARRAY:
            etype = self.unpack("<I")
            count = self.unpack("<Q")
            if not keep:
                self._skip_array(etype, count)
                return None
            return [self.value(etype) for _ in range(count)]
        raise GGUFFormatError(f"unknown GGUF value type {vtype}")

    def _skip_array(self, etype: int, count: int) -> None:
        if etype in _SCALAR:
            self.pos += struct.calcsize(_SCALAR[etype]) * count
        elif etype == STRING:
            for _ in range(count):
                self.skip_string()
        else:
            for _ in range(count):
                self.value(etype, keep=False)
        if self.pos > len(self.buf):
            raise GGUFFormatError("array runs past the end of the file")


def read_gguf_header(path: str | Path) -> GGUFHeader:
    """Read metadata and tensor infos of a GGUF file; raises GGUFFormatError if malformed."""
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        try:
            return _parse(buf)
        except (struct.error, IndexError, OverflowError, MemoryError) as exc:
            raise GGUFFormatError(f"truncated or corrupt header ({exc})") from exc


def _parse(buf) -> GGUFHeader:
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    cur = _Cursor(buf)
    if bytes(buf[:4]) != MAGIC:
        raise GGUFFormatError("not a GGUF file")
    cur.pos = 4
    version = cur.unpack("<I")
    if version not in (2, 3):
        raise GGUFFormatError(f"unsupported GGUF version {version}")
    n_tensors = cur.unpack("<Q")
    n_kv = cur.unpack("<Q")
    metadata: dict = {}
    for _ in range(n_kv):
        key = cur.string()
        vtype = cur.unpack("<I")
        metadata[key] = cur.value(vtype, keep=vtype != ARRAY or key in KEEP_ARRAYS)
    tensors = []
    for _ in range(n_tensors):
        name = cur.string()
        n_dims = cur.unpack("<I")
        shape = tuple(cur.unpack("<Q") for _ in range(n_dims))
        type_id = cur.unpack("<I")
        offset = cur.unpack("<Q")
        try:
            qtype = GGMLQuantizationType(type_id)
            block, type_size = GGML_QUANT_SIZES[qtype]
        except (ValueError, KeyError) as exc:
            raise GGUFFormatError(f"tensor {name} has unknown type {type_id}") from exc
        n_elements = 1
        for d in shape:
            n_elements *= d
        n_bytes = n_elements // block * type_size
        tensors.append(TensorInfo(name, shape, type_id, qtype.name, n_elements, n_bytes, offset))
    alignment = int(metadata.get("general.alignment", DEFAULT_ALIGNMENT)) or DEFAULT_ALIGNMENT
    data_offset = -(-cur.pos // alignment) * alignment
    end = max((t.offset + t.n_bytes for t in tensors), default=0) + data_offset
    if end > len(buf):
        raise GGUFFormatError(
            f"tensor data is cut short ({len(buf)} bytes, the header describes {end})"
        )
    return GGUFHeader(version, metadata, tensors, data_offset)
