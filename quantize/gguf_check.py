"""Is a GGUF safe to hand to llama.cpp? Checked in Python, from the header and metadata only.

``GGUFHeader`` (gguf_reader.py) already enforces the file's structure: version, counts and
lengths against the bytes really there, key and tensor-name rules, known value and tensor
types, dimensions, whole blocks per row, contiguous aligned tensor offsets inside the file.
This module adds what llama.cpp insists on when it builds the model and its vocabulary, some
of which it asserts (aborting the whole process, with no way to catch it) instead of
reporting: hyper-parameters in range, a vocabulary whose token, score and type arrays agree,
no duplicate token strings, the 256 byte tokens of byte-level BPE and of SentencePiece byte
fallback, well-formed byte tokens and special token ids inside the vocabulary.

Tensor data is never read: the check of QwQ's 152k-token or Gemma's 262k-token header takes
a small fraction of a second. What Python cannot foresee is left to a child process that opens
the file with llama.cpp itself (gguf_probe.py).
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import gguf

from .gguf_reader import GGUFFormatError, GGUFHeader

_V = gguf.GGUFValueType
_INTS = frozenset(int(t) for t in (_V.UINT8, _V.INT8, _V.UINT16, _V.INT16, _V.UINT32, _V.INT32,
                                   _V.UINT64, _V.INT64))  # fmt: skip
MAX_LAYERS = 512  # llama.cpp's LLAMA_MAX_LAYERS
MAX_EXPERTS = 1024  # LLAMA_MAX_EXPERTS
# Llama 4 Scout's 10M is the longest real context. llama-cpp-python sizes every tokenisation
# buffer by it (an int32: 2**31 or more makes a negative array length).
MAX_CONTEXT = 1 << 24
MAX_VOCAB = 2**31 - 1  # token ids are int32
TOKEN_TYPES = range(0, 7)  # undefined, normal, unknown, control, user-defined, unused, byte
BYTE_TYPE = 6
ROPE_SCALING_TYPES = frozenset({"none", "linear", "yarn", "longrope"})
_BYTE_TOKEN = re.compile(r"<0x[0-9A-Fa-f]{2}>\Z")
_DAMAGED = "download it again, or check it against its published sha256"


class GGUFCheckError(GGUFFormatError):
    """The GGUF is readable but breaks a rule llama.cpp relies on (``problem`` names it)."""


@dataclass(frozen=True)
class GGUFCheck:
    """What the check saw; ``notes`` are oddities that are not worth refusing the file for."""

    path: str
    file_size: int
    version: int
    n_kv: int
    n_tensors: int
    architecture: str
    tokenizer: str
    n_vocab: int
    data_offset: int  # where the header ends
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    known_architecture: bool = True  # False: left to llama.cpp (gguf-py does not know it)


def check_gguf_file(path: str | os.PathLike[str]) -> tuple[GGUFHeader, GGUFCheck]:
    """Read and check a GGUF: (header, check). GGUFFormatError when the structure is broken
    (GGUFCheckError for a rule of llama.cpp's), GGUFInputError when the file is missing."""
    start = time.perf_counter()
    header = GGUFHeader(path)
    return header, check_header(header, start)


def check_header(header: GGUFHeader, started: float | None = None) -> GGUFCheck:
    """Check a parsed header against what llama.cpp needs (GGUFCheckError otherwise)."""
    started = time.perf_counter() if started is None else started
    name = header.path.name
    notes: list[str] = []
    if header.byte_order != ("<" if sys.byteorder == "little" else ">"):
        _fail(name, "byte-order", "it was written for machines of the other byte order")
    arch = _string(header, name, "general.architecture")
    if not arch:
        _fail(name, "architecture", "it does not say which model architecture it holds")
    known = arch in gguf.MODEL_ARCH_NAMES.values()
    tokenizer, n_vocab = "", 0
    if known:
        if not header.tensors:
            _fail(name, "tensors", "it holds no weights (a vocabulary-only file?)")
        _check_tensor_types(header, name)
        _check_hparams(header, name, arch)
        tokenizer, n_vocab = _check_vocab(header, name, notes)
    else:
        notes.append(f"architecture {arch!r} is unknown to gguf-py: left to llama.cpp")
    template = header.fields.get("tokenizer.chat_template")
    if template is not None and not isinstance(template, str):
        _fail(name, "chat-template", "its chat template is not text")
    return GGUFCheck(
        path=str(header.path),
        file_size=header.file_size,
        version=header.version,
        n_kv=len(header.fields),
        n_tensors=len(header.tensors),
        architecture=arch,
        tokenizer=tokenizer,
        n_vocab=n_vocab,
        data_offset=header.data_offset,
        notes=tuple(notes),
        seconds=time.perf_counter() - started,
        known_architecture=known,
    )


def _fail(name: str, problem: str, detail: str, hint: str = _DAMAGED):
    raise GGUFCheckError(f"{name} is damaged: {detail}", hint, problem=problem, detail=detail)


def _string(header: GGUFHeader, name: str, key: str) -> str:
    value = header.fields.get(key)
    if value is not None and not isinstance(value, str):
        _fail(name, "value-type", f"{key} is not text")
    return value or ""


def _ints(header: GGUFHeader, name: str, key: str, n_layer: int | None) -> list[int] | None:
    """An integer key (or, where llama.cpp allows it, one integer per layer) as a list."""
    if key not in header.fields:
        return None
    value = header.fields[key]
    vtype = header.field_types[key]
    if vtype == _V.ARRAY:
        vtype = header.array_types[key]
        if n_layer is None or len(value) != n_layer:
            expected = "a number" if n_layer is None else f"{n_layer} numbers (one per layer)"
            _fail(name, "hparams", f"{key} has {len(value)} values instead of {expected}")
    else:
        value = [value]
    if vtype not in _INTS:
        _fail(name, "hparams", f"{key} is not a whole number")
    if any(v < 0 or v > 2**32 - 1 for v in value):
        _fail(name, "hparams", f"{key} is out of range ({min(value)}..{max(value)})")
    return value


def _check_hparams(header: GGUFHeader, name: str, arch: str) -> None:
    def key(suffix: str) -> str:
        return f"{arch}.{suffix}"

    layers = _ints(header, name, key("block_count"), None)
    if layers is None or not 0 < layers[0] <= MAX_LAYERS:
        got = "missing" if layers is None else layers[0]
        _fail(name, "hparams", f"{key('block_count')} must be 1..{MAX_LAYERS} ({got})")
    n_layer = layers[0]
    for suffix in ("context_length", "embedding_length"):
        values = _ints(header, name, key(suffix), None)
        if values is not None and values[0] == 0:
            _fail(name, "hparams", f"{key(suffix)} is 0")
    context = (_ints(header, name, key("context_length"), None) or [0])[0]
    if context > MAX_CONTEXT:
        _fail(name, "hparams", f"its context length of {context:,} tokens is impossible")
    for suffix in ("attention.key_length", "attention.value_length"):
        values = _ints(header, name, key(suffix), None)
        if values is not None and values[0] == 0:
            _fail(name, "hparams", f"{key(suffix)} is 0")
    _ints(header, name, key("feed_forward_length"), n_layer)
    heads = _ints(header, name, key("attention.head_count"), n_layer)
    kv_heads = _ints(header, name, key("attention.head_count_kv"), n_layer)
    if heads is not None and kv_heads is not None:
        heads = heads * n_layer if len(heads) == 1 else heads
        kv_heads = kv_heads * n_layer if len(kv_heads) == 1 else kv_heads
        for h, kv in zip(heads, kv_heads, strict=True):
            if kv > h or (kv and h % kv):
                _fail(name, "hparams", f"{h} attention heads cannot share {kv} key/value heads")
    nextn = _ints(header, name, key("nextn_predict_layers"), None)
    if nextn is not None and nextn[0] > n_layer:
        _fail(name, "hparams", f"{key('nextn_predict_layers')} exceeds the layer count")
    experts = (_ints(header, name, key("expert_count"), None) or [0])[0]
    used = max(_ints(header, name, key("expert_used_count"), n_layer) or [0])
    if experts > MAX_EXPERTS or used > experts or (experts > 0) != (used > 0):
        _fail(name, "hparams", f"{used} of {experts} experts per token is impossible")
    scaling = _string(header, name, key("rope.scaling.type"))
    if scaling and scaling not in ROPE_SCALING_TYPES:
        _fail(name, "hparams", f"the RoPE scaling type {scaling!r} is unknown")


# Integer and float64 tensors hold no model weights; one in place of an F32 tensor of the same
# size passes every size check and then crashes llama.cpp's compute (found by the fuzzer).
_NOT_WEIGHTS = frozenset(
    int(getattr(gguf.GGMLQuantizationType, t))
    for t in ("I8", "I16", "I32", "I64", "F64")
    if hasattr(gguf.GGMLQuantizationType, t)
)


def _check_tensor_types(header: GGUFHeader, name: str) -> None:
    for tensor in header.tensors.values():
        if tensor.tensor_type in _NOT_WEIGHTS:
            _fail(
                name,
                "tensor-type",
                f"tensor {tensor.name!r} has the type {tensor.tensor_type.name}, "
                "which no model weight has",
            )


def _array(header: GGUFHeader, name: str, key: str, types: tuple[int, ...]) -> list | None:
    if key not in header.fields:
        return None
    if header.field_types[key] != _V.ARRAY or header.array_types[key] not in types:
        _fail(name, "vocab", f"{key} has the wrong type")
    return header.fields[key]


def _check_vocab(header: GGUFHeader, name: str, notes: list[str]) -> tuple[str, int]:
    model = _string(header, name, "tokenizer.ggml.model")
    if not model or model in ("none", "no_vocab"):
        _fail(name, "vocab", "it has no vocabulary, so it cannot chat", "choose a chat model")
    tokens = _array(header, name, "tokenizer.ggml.tokens", (_V.STRING,))
    if not tokens:
        _fail(name, "vocab", "its vocabulary (tokenizer.ggml.tokens) is missing or empty")
    n = len(tokens)
    if n > MAX_VOCAB:
        _fail(name, "vocab", f"its vocabulary has {n:,} tokens, more than llama.cpp can address")
    for key, types in (
        ("tokenizer.ggml.scores", (_V.FLOAT32, _V.INT32)),
        ("tokenizer.ggml.token_type", (_V.INT32,)),
    ):
        values = _array(header, name, key, types)
        if values is not None and len(values) != n:
            _fail(name, "vocab", f"{key} has {len(values):,} entries for {n:,} tokens")
    types = header.fields.get("tokenizer.ggml.token_type")
    if types is not None and (min(types) < TOKEN_TYPES.start or max(types) >= TOKEN_TYPES.stop):
        bad = next(i for i, t in enumerate(types) if t not in TOKEN_TYPES)
        _fail(name, "vocab", f"token {bad} has the unknown token type {types[bad]}")
    vocab = _unique_tokens(tokens, name)
    if types is not None and BYTE_TYPE in types:
        for i, t in enumerate(types):
            if t == BYTE_TYPE and not _BYTE_TOKEN.match(tokens[i]):
                _fail(name, "vocab", f"byte token {i} is {tokens[i]!r}, not of the form <0xXX>")
    if model == "gpt2":
        if (
            "tokenizer.ggml.merges" not in header.fields
            and header.fields.get("tokenizer.ggml.pre") != "kimi-k2"
        ):
            _fail(name, "vocab", "its byte-level BPE vocabulary has no merges")
        _array(header, name, "tokenizer.ggml.merges", (_V.STRING,))
        missing = [b for b, ch in enumerate(_BPE_BYTE_CHARS) if ch not in vocab]
        if missing:
            _fail(name, "vocab", _missing_bytes("byte-level BPE", missing))
    elif model == "llama":
        missing = [b for b in range(256) if not _spm_byte_present(vocab, b)]
        if missing:
            _fail(name, "vocab", _missing_bytes("SentencePiece", missing))
    _check_special_ids(header, name, n, notes)
    return model, n


def _unique_tokens(tokens: list[str], name: str) -> set[str]:
    """The set of token strings as llama.cpp sees them; it asserts that none repeats. It reads
    each as a C string (cut at a NUL byte) and names an empty one "[EMPTY_<id>]"."""
    if "\x00" in "\x01".join(tokens):
        tokens = [t.split("\x00", 1)[0] for t in tokens]
    vocab = set(tokens)
    if "" in vocab:
        vocab.discard("")
        vocab.update(f"[EMPTY_{i}]" for i, t in enumerate(tokens) if not t)
    if len(vocab) != len(tokens):
        seen: dict[str, int] = {}
        for i, t in enumerate(tokens):
            t = t or f"[EMPTY_{i}]"
            if t in seen:
                _fail(name, "vocab", f"tokens {seen[t]} and {i} are both {t!r} for llama.cpp")
            seen[t] = i
    return vocab


def _missing_bytes(kind: str, missing: list[int]) -> str:
    shown = ", ".join(f"0x{b:02X}" for b in missing[:4]) + (", ..." if len(missing) > 4 else "")
    return f"its {kind} vocabulary lacks {len(missing)} of the 256 byte tokens ({shown})"


def _spm_byte_present(vocab: set[str], b: int) -> bool:
    raw = bytes([b]).decode("utf-8", errors="surrogateescape")
    return f"<0x{b:02X}>" in vocab or raw in vocab


def _bpe_byte_chars() -> list[str]:
    """GPT-2's byte -> printable character table, as llama.cpp's unicode_byte_to_utf8."""
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table, extra = {b: chr(b) for b in printable}, 0
    for b in range(256):
        if b not in table:
            table[b], extra = chr(256 + extra), extra + 1
    return [table[b] for b in range(256)]


_BPE_BYTE_CHARS = _bpe_byte_chars()
_SPECIAL = re.compile(r"tokenizer\.ggml\.\w+_token_id\Z")


def _check_special_ids(header: GGUFHeader, name: str, n: int, notes: list[str]) -> None:
    for key, value in header.fields.items():
        if not _SPECIAL.match(key):
            continue
        if header.field_types[key] not in _INTS:
            _fail(name, "vocab", f"{key} is not a token id")
        if value < 0 or value == 2**32 - 1:
            notes.append(f"{key} is unset ({value})")
        elif value >= n:
            if key == "tokenizer.ggml.padding_token_id":  # llama.cpp ignores it; common
                notes.append(f"{key} {value} is outside the vocabulary (ignored)")
            else:
                _fail(name, "vocab", f"{key} is {value}, outside the {n:,}-token vocabulary")


def describe(check: GGUFCheck) -> str:
    """One line for a report: version, counts, vocabulary and time taken."""
    return (
        f"{Path(check.path).name}: GGUF v{check.version}, {check.n_kv} keys, "
        f"{check.n_tensors} tensors, {check.architecture}, {check.tokenizer or 'no'} vocabulary "
        f"of {check.n_vocab:,} tokens, checked in {check.seconds * 1000:.0f} ms"
    )
