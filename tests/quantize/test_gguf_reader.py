"""The fast GGUF header reader gives what gguf.GGUFReader gives, and refuses broken files."""

from __future__ import annotations

import gguf
import numpy as np
import pytest

from quantize.errors import GGUFInputError
from quantize.gguf_reader import GGUFHeader


@pytest.mark.parametrize("fixture", ["quant_bf16", "quant_q4"])
def test_same_fields_tensors_and_data_as_gguf_reader(request, fixture):
    path = request.getfixturevalue(fixture)
    header, reader = GGUFHeader(path), gguf.GGUFReader(path)
    expected = {k: f.contents() for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    assert header.fields == expected
    assert len(header.fields["tokenizer.ggml.merges"]) > 100  # string arrays included
    assert list(header.tensors) == [t.name for t in reader.tensors]
    for t in reader.tensors:
        info = header.tensors[t.name]
        assert info.dims == tuple(t.shape.tolist())
        assert (info.tensor_type, info.n_elements, info.nbytes) == (
            t.tensor_type,
            t.n_elements,
            t.n_bytes,
        )
        data = header.tensor_data(t.name)
        assert data.dtype == t.data.dtype and data.shape == t.data.shape
        assert np.array_equal(np.asarray(data), t.data)


def test_truncated_and_foreign_files_are_refused(tmp_path, quant_q4):
    data = quant_q4.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: len(data) - 1000])
    with pytest.raises(GGUFInputError, match="truncated"):
        GGUFHeader(cut)
    head = tmp_path / "head.gguf"
    head.write_bytes(data[:5000])  # ends inside the metadata
    with pytest.raises(GGUFInputError, match="not a readable GGUF"):
        GGUFHeader(head)
    other = tmp_path / "other.gguf"
    other.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(GGUFInputError, match="magic"):
        GGUFHeader(other)
    with pytest.raises(GGUFInputError, match="does not exist"):
        GGUFHeader(tmp_path / "missing.gguf")
