"""Test helpers: copies of a valid GGUF with metadata changed, added or dropped (a file that is
well-formed but wrong), and byte patches at named header fields (a file that is not)."""

from __future__ import annotations

import struct
from pathlib import Path

import gguf
import numpy as np

from tests.gguf_mutations import header_map


def gguf_variant(
    src: Path,
    dst: Path,
    *,
    values: dict[str, object] | None = None,
    drop: tuple[str, ...] = (),
    types: dict[str, tuple[gguf.GGUFValueType, gguf.GGUFValueType | None]] | None = None,
) -> Path:
    """Copy ``src`` to ``dst`` with ``values`` set (new keys added: give their ``types`` as
    (value type, array item type) unless they are uint32) and ``drop`` left out."""
    reader = gguf.GGUFReader(src)
    arch = reader.fields["general.architecture"].contents()
    values, types = dict(values or {}), dict(types or {})
    writer = gguf.GGUFWriter(dst, values.pop("general.architecture", arch))
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture" or key in drop:
            continue
        sub = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        vtype, sub = types.get(key, (field.types[0], sub))
        writer.add_key_value(key, values.pop(key, field.contents()), vtype, sub_type=sub)
    for key, value in values.items():
        vtype, sub = types.get(key, (gguf.GGUFValueType.UINT32, None))
        writer.add_key_value(key, value, vtype, sub_type=sub)
    for t in reader.tensors:
        writer.add_tensor(t.name, np.array(t.data), raw_dtype=t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return dst


def patched(src: Path, dst: Path, edits: list[tuple[int, str, int]]) -> Path:
    """Copy ``src`` with (offset, struct format, value) written over it."""
    data = bytearray(src.read_bytes())
    for offset, fmt, value in edits:
        struct.pack_into(fmt, data, offset, value)
    dst.write_bytes(bytes(data))
    return dst


def field_offsets(path: Path):
    """Where the header's fields lie (tests.gguf_mutations.HeaderMap)."""
    return header_map(path.read_bytes())


def with_duplicate_token(src: Path, dst: Path, a: int = 350, b: int = 408) -> Path:
    """A copy whose token ``a`` has the text of token ``b``: what one flipped bit did in issue
    12, and what makes llama.cpp abort (GGML_ASSERT in llama-vocab.cpp)."""
    from quantize.gguf_reader import GGUFHeader

    tokens = list(GGUFHeader(src).fields["tokenizer.ggml.tokens"])
    tokens[a] = tokens[b]
    return gguf_variant(src, dst, values={"tokenizer.ggml.tokens": tokens})
