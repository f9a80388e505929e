"""The fast GGUF header reader agrees with gguf's own reader and rejects damaged files."""

import gguf
import pytest

from app.engine.gguf_header import GGUFFormatError, read_gguf_header
from tests.fixtures.tiny_gguf import TinyModelSpec, write_tiny_gguf


def test_matches_gguf_reader_on_a_real_file(tiny_answer_gguf):
    ours = read_gguf_header(tiny_answer_gguf)
    theirs = gguf.GGUFReader(str(tiny_answer_gguf))
    assert [t.name for t in ours.tensors] == [t.name for t in theirs.tensors]
    assert [t.n_bytes for t in ours.tensors] == [int(t.n_bytes) for t in theirs.tensors]
    assert [t.n_elements for t in ours.tensors] == [int(t.n_elements) for t in theirs.tensors]
    assert ours.data_offset == theirs.data_offset
    for key, field in theirs.fields.items():
        if key.startswith("GGUF.") or key not in ours.metadata:
            continue
        value = ours.metadata[key]
        if value is None:  # arrays the app does not need are skipped
            continue
        assert value == field.contents(), key
    assert (
        ours.metadata["tokenizer.ggml.tokens"] == theirs.fields["tokenizer.ggml.tokens"].contents()
    )


def test_quantised_tensor_sizes(gemma_gguf):
    header = read_gguf_header(gemma_gguf)
    types = {t.type_name for t in header.tensors}
    assert {"Q4_K", "Q6_K"} <= types
    assert sum(t.n_bytes for t in header.tensors) + header.data_offset <= gemma_gguf.stat().st_size
    assert len(header.metadata["tokenizer.ggml.tokens"]) == 262144


def test_truncated_tensor_data_is_detected(tmp_path):
    path = write_tiny_gguf(tmp_path / "m.gguf", TinyModelSpec())
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(GGUFFormatError, match="cut short"):
        read_gguf_header(path)


def test_truncated_header_is_detected(tmp_path):
    path = write_tiny_gguf(tmp_path / "m.gguf", TinyModelSpec())
    path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(GGUFFormatError):
        read_gguf_header(path)


def test_not_gguf(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"GGML" + bytes(100))
    with pytest.raises(GGUFFormatError, match="not a GGUF"):
        read_gguf_header(path)
