"""The Python GGUF check: every rule llama.cpp relies on refused with a typed, readable error,
from the header only and fast on big vocabularies."""

from __future__ import annotations

import time

import gguf
import pytest

from quantize.errors import GGUFInputError
from quantize.gguf_check import GGUFCheckError, check_gguf_file, describe
from quantize.gguf_reader import GGUFFormatError, GGUFHeader
from tests.gguf_variants import field_offsets, gguf_variant, patched, with_duplicate_token

V = gguf.GGUFValueType


def _tokens(path) -> list[str]:
    return list(GGUFHeader(path).fields["tokenizer.ggml.tokens"])


def test_valid_models_pass(tiny_answer_gguf, tiny_plain_gguf):
    for path in (tiny_answer_gguf, tiny_plain_gguf):
        header, check = check_gguf_file(path)
        assert check.architecture == "qwen2" and check.tokenizer == "gpt2"
        assert check.n_vocab == len(header.fields["tokenizer.ggml.tokens"])
        assert check.n_tensors == len(header.tensors) > 0
        assert "qwen2" in describe(check)


@pytest.mark.gemma
def test_gemma_262k_vocabulary_is_checked_well_under_a_second(gemma_gguf):
    check_gguf_file(gemma_gguf)  # warm the page cache
    started = time.perf_counter()
    _header, check = check_gguf_file(gemma_gguf)
    elapsed = time.perf_counter() - started
    assert check.n_vocab == 262144 and check.tokenizer == "llama"
    assert elapsed < 1.0, f"{elapsed:.2f} s"  # about 0.2 s on a 2-core laptop


def test_a_repeated_token_string_is_refused(tiny_answer_gguf, tmp_path):
    # The defect of issue 12: one flipped bit made a token equal another one, and llama.cpp
    # aborted (GGML_ASSERT in llama-vocab.cpp) with no message at all.
    bad = with_duplicate_token(tiny_answer_gguf, tmp_path / "dup.gguf")
    with pytest.raises(GGUFCheckError, match="tokens 350 and 408 are both 'hen'") as info:
        check_gguf_file(bad)
    assert info.value.problem == "vocab" and "download it again" in info.value.hint


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"values": {"tokenizer.ggml.token_type": [1] * 10}}, "token_type has 10 entries"),
        ({"values": {"tokenizer.ggml.scores": [0.0] * 5},
          "types": {"tokenizer.ggml.scores": (V.ARRAY, V.FLOAT32)}}, "scores has 5 entries"),
        ({"values": {"tokenizer.ggml.eos_token_id": 100000}}, "outside the 462-token vocabulary"),
        ({"values": {"tokenizer.ggml.bos_token_id": 462}}, "bos_token_id is 462"),
        ({"drop": ("tokenizer.ggml.merges",)}, "no merges"),
        ({"drop": ("tokenizer.ggml.tokens",)}, "vocabulary .* missing"),
        ({"values": {"tokenizer.ggml.model": "none"}}, "no vocabulary"),
        ({"values": {"qwen2.block_count": 0}}, "block_count must be 1..512"),
        ({"values": {"qwen2.block_count": 513}}, "block_count must be 1..512"),
        ({"values": {"qwen2.attention.head_count_kv": 3}}, "4 attention heads cannot share 3"),
        ({"values": {"qwen2.attention.head_count": [4, 4, 4]},
          "types": {"qwen2.attention.head_count": (V.ARRAY, V.UINT32)}}, "3 values instead of 2"),
        ({"values": {"qwen2.context_length": 0}}, "context_length is 0"),
        # Found by the fuzzer: llama-cpp-python sized a buffer by it (negative as an int32).
        ({"values": {"qwen2.context_length": 2**31}}, "context length of 2,147,483,648 tokens"),
        ({"values": {"qwen2.rope.scaling.type": "warp"},
          "types": {"qwen2.rope.scaling.type": (V.STRING, None)}}, "scaling type 'warp'"),
        ({"values": {"qwen2.expert_used_count": 2}}, "2 of 0 experts"),
        ({"values": {"qwen2.block_count": "two"},
          "types": {"qwen2.block_count": (V.STRING, None)}}, "not a whole number"),
        ({"values": {"tokenizer.chat_template": 7},
          "types": {"tokenizer.chat_template": (V.UINT32, None)}}, "chat template is not text"),
    ],
)  # fmt: skip
def test_metadata_llama_cpp_relies_on_is_checked(tiny_answer_gguf, tmp_path, change, message):
    bad = gguf_variant(tiny_answer_gguf, tmp_path / "bad.gguf", **change)
    with pytest.raises(GGUFCheckError, match=message):
        check_gguf_file(bad)


def test_token_types_and_byte_tokens(tiny_answer_gguf, tmp_path):
    header = GGUFHeader(tiny_answer_gguf)
    types = list(header.fields["tokenizer.ggml.token_type"])
    types[7] = 9
    bad = gguf_variant(
        tiny_answer_gguf, tmp_path / "t.gguf", values={"tokenizer.ggml.token_type": types}
    )
    with pytest.raises(GGUFCheckError, match="token 7 has the unknown token type 9"):
        check_gguf_file(bad)
    types[7] = 6  # BYTE: llama.cpp reads the byte out of "<0xXX>"
    bad = gguf_variant(
        tiny_answer_gguf, tmp_path / "b.gguf", values={"tokenizer.ggml.token_type": types}
    )
    with pytest.raises(GGUFCheckError, match="byte token 7 is .* not of the form <0xXX>"):
        check_gguf_file(bad)


def test_byte_level_bpe_needs_its_256_byte_tokens(tiny_answer_gguf, tmp_path):
    tokens = _tokens(tiny_answer_gguf)
    i = tokens.index("Ġ")  # the space byte
    tokens[i] = "Ġspace-gone"
    bad = gguf_variant(
        tiny_answer_gguf, tmp_path / "b.gguf", values={"tokenizer.ggml.tokens": tokens}
    )
    with pytest.raises(GGUFCheckError, match=r"lacks 1 of the 256 byte tokens \(0x20\)"):
        check_gguf_file(bad)


def test_an_architecture_gguf_py_does_not_know_is_left_to_llama_cpp(tiny_answer_gguf, tmp_path):
    odd = gguf_variant(
        tiny_answer_gguf, tmp_path / "odd.gguf", values={"general.architecture": "futurenet"}
    )
    _header, check = check_gguf_file(odd)
    assert not check.known_architecture and "left to llama.cpp" in check.notes[0]


def _refused(path, problem: str, match: str) -> None:
    started = time.perf_counter()
    with pytest.raises(GGUFFormatError, match=match) as info:
        GGUFHeader(path)
    assert info.value.problem == problem
    assert time.perf_counter() - started < 0.5  # a damaged count never makes it loop long


def test_structure_rules_of_llama_cpps_reader(tiny_answer_gguf, tmp_path):
    src, m = tiny_answer_gguf, field_offsets(tiny_answer_gguf)
    t0 = m.tensors[0]
    tokens = m.kv("tokenizer.ggml.tokens")
    cases = [
        ([(4, "<I", 1)], "version", "version 1 is not supported"),
        ([(4, "<I", 4)], "version", "version 4 is not supported"),
        ([(8, "<Q", 2**63)], "count", "tensors, more than the file holds"),
        ([(16, "<Q", 2**64 - 1)], "count", "metadata keys, more than the file holds"),
        ([(tokens.value_off + 4, "<Q", 2**40)], "array-length", "claims 1,099,511,627,776 items"),
        ([(tokens.items[5][0], "<Q", 2**62)], "string-length", "item 5 of 'tokenizer.ggml.tokens'"),
        ([(m.kvs[1].key_off, "<Q", 2**64 - 1)], "string-length", "limit is 1 GiB"),
        ([(m.kvs[1].type_off, "<I", 13)], "value-type", "unknown value type 13"),
        ([(t0.ndims_off, "<I", 5)], "tensor-shape", "5 dimensions"),
        ([(t0.type_off, "<I", 4)], "tensor-type", "unknown tensor type 4"),
        ([(t0.type_off, "<I", 12)], "tensor-shape", "not whole blocks"),  # Q4_K: 256 wide
        ([(t0.offset_off, "<Q", 64)], "tensor-offset", "starts at data offset 64, expected 0"),
        ([(m.tensors[-1].offset_off, "<Q", 2**63)], "tensor-offset", "expected"),
        ([(t0.dim_offs[0], "<Q", 2**62)], "tensor-shape", "impossible shape"),
    ]  # fmt: skip
    for i, (edits, problem, match) in enumerate(cases):
        _refused(patched(src, tmp_path / f"{i}.gguf", edits), problem, match)


def _same_length_pair(items, name):
    by_length: dict[int, list] = {}
    for item in items:
        by_length.setdefault(len(name(item)), []).append(item)
    return next(group[:2] for group in by_length.values() if len(group) > 1)


def test_duplicate_keys_and_tensor_names_and_alignment(tiny_answer_gguf, tmp_path):
    src, m = tiny_answer_gguf, field_offsets(tiny_answer_gguf)
    a, b = _same_length_pair(m.kvs, lambda kv: kv.key)
    data = bytearray(src.read_bytes())
    data[b.key_off + 8 : b.key_off + 8 + len(b.key)] = a.key.encode()
    (tmp_path / "k.gguf").write_bytes(bytes(data))
    _refused(tmp_path / "k.gguf", "key", f"is duplicate \\('{a.key}'\\)")
    t1, t2 = _same_length_pair(m.tensors, lambda t: t.name)
    data = bytearray(src.read_bytes())
    data[t2.name_off + 8 : t2.name_off + 8 + len(t2.name)] = t1.name.encode()
    (tmp_path / "t.gguf").write_bytes(bytes(data))
    _refused(tmp_path / "t.gguf", "tensor-name", f"'{t1.name}' appears twice")
    odd = gguf_variant(src, tmp_path / "a.gguf", values={"general.alignment": 24})
    _refused(odd, "alignment", "not a power of two")


def test_truncated_files_name_what_is_cut(tiny_answer_gguf, tmp_path):
    data = tiny_answer_gguf.read_bytes()
    for cut, match in (
        (0, "empty"),
        (10, "only 10 bytes"),
        (3000, "runs past the end|more than the file holds"),
    ):
        (tmp_path / "c.gguf").write_bytes(data[:cut])
        with pytest.raises(GGUFInputError, match=match):
            GGUFHeader(tmp_path / "c.gguf")


def test_what_the_fuzzer_found_llama_cpp_crashing_on(tiny_answer_gguf, tmp_path):
    # A NUL byte inside a token: llama.cpp reads the text up to it, so "he\0n" repeats "he"
    # (GGML_ASSERT, abort).
    tokens = _tokens(tiny_answer_gguf)
    i, j = tokens.index("hen"), tokens.index("he")
    tokens[i] = "he\x00n"
    bad = gguf_variant(
        tiny_answer_gguf, tmp_path / "nul.gguf", values={"tokenizer.ggml.tokens": tokens}
    )
    with pytest.raises(GGUFCheckError, match=f"tokens {min(i, j)} and {max(i, j)} are both 'he'"):
        check_gguf_file(bad)
    # An F32 weight retyped I32 (the same size): llama.cpp crashed computing with it.
    m = field_offsets(tiny_answer_gguf)
    t = next(t for t in m.tensors if t.name == "blk.0.attn_q.bias")
    bad = patched(tiny_answer_gguf, tmp_path / "i32.gguf", [(t.type_off, "<I", 26)])
    with pytest.raises(GGUFCheckError, match="'blk.0.attn_q.bias' has the type I32"):
        check_gguf_file(bad)
