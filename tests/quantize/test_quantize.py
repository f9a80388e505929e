"""Quantisation through llama.cpp: types, importance matrix, atomic output, errors."""

from __future__ import annotations

import struct

import gguf
import numpy as np
import pytest

from quantize.errors import GGUFInputError, QuantizationError
from quantize.imatrix import load_imatrix
from quantize.quantizer import quantize

Q = gguf.GGMLQuantizationType


def tensor_types(path) -> dict[str, Q]:
    return {t.name: t.tensor_type for t in gguf.GGUFReader(path).tensors}


def test_q4_k_m_recipe(quant_bf16, quant_q4):
    types = tensor_types(quant_q4)
    reader = gguf.GGUFReader(quant_q4)
    assert reader.fields["general.file_type"].contents() == gguf.LlamaFileType.MOSTLY_Q4_K_M
    assert types["blk.0.ffn_gate.weight"] == Q.Q4_K
    assert types["output.weight"] == Q.Q6_K  # llama.cpp's recipe keeps the output in Q6_K
    assert types["blk.0.attn_norm.weight"] == Q.F32
    assert quant_q4.stat().st_size < 0.45 * quant_bf16.stat().st_size


@pytest.mark.parametrize(("qtype", "main"), [("Q8_0", Q.Q8_0), ("Q6_K", Q.Q6_K)])
def test_other_types(tmp_path, quant_bf16, qtype, main):
    calls = []
    result = quantize(
        quant_bf16,
        tmp_path / "out.gguf",
        qtype,
        threads=1,
        progress=lambda i, n, name: calls.append((i, n, name)),
    )
    types = tensor_types(result.path)
    assert types["blk.1.ffn_up.weight"] == main
    assert [c[0] for c in calls] == list(range(1, len(types) + 1))
    assert {c[2] for c in calls} == set(types)


@pytest.mark.parametrize("qtype", ["Q4_K_M", "Q8_0"])
def test_requantizing_is_refused_and_leaves_no_file(tmp_path, quant_q4, qtype):
    out = tmp_path / "again.gguf"
    with pytest.raises(GGUFInputError, match="already quantised") as info:
        quantize(quant_q4, out, qtype)
    assert "unquantised" in info.value.hint
    assert list(tmp_path.iterdir()) == []


def test_not_a_gguf(tmp_path):
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"not a gguf at all" * 100)
    with pytest.raises(GGUFInputError):
        quantize(bad, tmp_path / "out.gguf")
    assert not (tmp_path / "out.gguf").exists()


def test_same_input_and_output(quant_bf16):
    with pytest.raises(QuantizationError, match="same file"):
        quantize(quant_bf16, quant_bf16)


def write_gguf_imatrix(path, weights: dict[str, int], seed: int = 0) -> None:
    """An importance matrix in llama.cpp's GGUF format: per tensor, sums of squared
    activations per input column (``.in_sum2``) and the number of tokens (``.counts``)."""
    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(path, "imatrix")
    writer.add_array("imatrix.datasets", ["test.txt"])
    writer.add_uint32("imatrix.chunk_count", 4)
    writer.add_uint32("imatrix.chunk_size", 512)
    for name, columns in weights.items():
        importance = rng.gamma(0.5, size=columns).astype(np.float32) ** 3  # a few columns matter
        writer.add_tensor(name + ".in_sum2", importance * 2048)
        writer.add_tensor(name + ".counts", np.array([2048.0], np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def write_legacy_imatrix(path, entries: dict[str, np.ndarray], ncall: int) -> None:
    blob = struct.pack("<i", len(entries))
    for name, values in entries.items():
        blob += struct.pack("<i", len(name)) + name.encode()
        blob += struct.pack("<ii", ncall, len(values)) + values.astype("<f4").tobytes()
    path.write_bytes(blob + struct.pack("<i", 7))


def two_d_weights(path) -> dict[str, int]:
    return {t.name: int(t.shape[0]) for t in gguf.GGUFReader(path).tensors if len(t.shape) == 2}


def test_imatrix_changes_the_quantisation(tmp_path, quant_bf16, quant_q4):
    matrix = tmp_path / "imatrix.gguf"
    write_gguf_imatrix(matrix, two_d_weights(quant_bf16))
    result = quantize(quant_bf16, tmp_path / "with-imatrix.gguf", "Q4_K_M", imatrix=matrix)
    assert result.imatrix_entries == len(two_d_weights(quant_bf16))
    reader = gguf.GGUFReader(result.path)
    assert reader.fields["quantize.imatrix.entries_count"].contents() == result.imatrix_entries
    assert reader.fields["quantize.imatrix.file"].contents() == "imatrix.gguf"
    plain = {t.name: np.array(t.data) for t in gguf.GGUFReader(quant_q4).tensors}
    weighted = {t.name: np.array(t.data) for t in reader.tensors}
    assert not np.array_equal(plain["blk.0.ffn_up.weight"], weighted["blk.0.ffn_up.weight"])


def test_imatrix_of_another_model_is_refused(tmp_path, quant_bf16):
    matrix = tmp_path / "imatrix.gguf"
    write_gguf_imatrix(matrix, {n: c * 2 for n, c in two_d_weights(quant_bf16).items()})
    with pytest.raises(QuantizationError, match="imatrix size"):
        quantize(quant_bf16, tmp_path / "out.gguf", "Q4_K_M", imatrix=matrix)
    assert not (tmp_path / "out.gguf").exists()


def test_legacy_and_gguf_imatrix_formats_agree(tmp_path):
    sums = np.array([4.0, 8.0, 12.0], np.float32)
    write_legacy_imatrix(tmp_path / "old.dat", {"blk.0.attn_q.weight": sums}, ncall=4)
    legacy = load_imatrix(tmp_path / "old.dat")
    np.testing.assert_allclose(legacy.entries["blk.0.attn_q.weight"], sums / 4)
    assert legacy.chunk_count == 7
    write_gguf_imatrix(tmp_path / "new.gguf", {"blk.0.attn_q.weight": 3})
    modern = load_imatrix(tmp_path / "new.gguf")
    assert modern.entries["blk.0.attn_q.weight"].shape == (3,)
    assert modern.chunk_count == 4 and modern.datasets == ["test.txt"]


def test_unreadable_imatrix(tmp_path, quant_bf16):
    bad = tmp_path / "bad.dat"
    bad.write_bytes(b"\x01\x00")
    with pytest.raises(GGUFInputError, match="imatrix"):
        quantize(quant_bf16, tmp_path / "out.gguf", imatrix=bad)
