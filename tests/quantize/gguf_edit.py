"""Make deliberately broken copies of a GGUF (test helper): changed metadata, swapped tensors,
a truncated vocabulary. Copies every key and tensor with gguf-py's reader and writer."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np


def copy_gguf(
    src: Path,
    dst: Path,
    *,
    set_values: dict[str, object] | None = None,
    swap: tuple[str, str] | None = None,
    keep_tokens: int | None = None,
    drop_keys: tuple[str, ...] = (),
) -> Path:
    """Copy ``src`` to ``dst``, overriding or dropping keys, swapping two tensors' data or cutting
    the vocabulary (token list and the embedding/output rows) to ``keep_tokens`` entries."""
    reader = gguf.GGUFReader(src)
    arch = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(dst, arch)
    set_values = set_values or {}
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture" or key in drop_keys:
            continue
        value = set_values.get(key, field.contents())
        if (
            keep_tokens is not None
            and key.startswith("tokenizer.ggml.token")
            and key != ("tokenizer.ggml.token_type_count")
        ):
            value = value[:keep_tokens]
        sub_type = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, value, field.types[0], sub_type=sub_type)
    tensors = {t.name: t for t in reader.tensors}
    names = list(tensors)
    if swap:
        a, b = names.index(swap[0]), names.index(swap[1])
        names[a], names[b] = names[b], names[a]
    for slot, source_name in zip(tensors, names, strict=True):
        t = tensors[source_name]
        data = np.array(t.data)
        if keep_tokens is not None and slot in ("token_embd.weight", "output.weight"):
            data = data[:keep_tokens]
        writer.add_tensor(slot, data, raw_dtype=t.tensor_type)  # shape follows the data
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return dst
