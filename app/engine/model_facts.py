"""Facts about a GGUF model read from its header (quantize.gguf_reader), without the weights."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import ModelFileError

GGUF_MAGIC = b"GGUF"
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


@dataclass
class ModelFacts:
    """What the planner, the chat formatter and the UI need to know about a model."""

    path: str
    file_size: int
    name: str
    architecture: str
    parameters: int
    quant_type: str
    context_length: int
    n_layer: int
    n_embd: int
    n_head: int
    n_kv_head: int
    head_dim: int
    n_vocab: int
    n_ff: int
    tensor_bytes: int
    chat_template: str | None
    bos_token_id: int | None
    eos_token_id: int | None
    add_bos: bool
    bos_text: str = ""
    eos_text: str = ""
    special_tokens: dict[str, int] = field(default_factory=dict)
    tensor_types: dict[str, int] = field(default_factory=dict)
    rope_freq_base: float | None = None
    rope_scaling: str | None = None  # "yarn", "linear", ... when the GGUF sets one

    @property
    def is_reasoning(self) -> bool:
        """True for models that think in ``<think>`` blocks (QwQ, DeepSeek-R1 distills, Qwen3)."""
        return THINK_CLOSE in self.special_tokens or (
            self.chat_template is not None and THINK_OPEN in self.chat_template
        )

    @property
    def is_qwq_family(self) -> bool:
        return "qwq" in self.name.lower() or "qwq" in Path(self.path).name.lower()

    @property
    def layer_bytes(self) -> int:
        """Average bytes of one repeating block (what offloading one layer moves to a GPU)."""
        return self.tensor_bytes // max(1, self.n_layer)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["is_reasoning"] = self.is_reasoning
        data.pop("tensor_types")
        data["has_chat_template"] = self.chat_template is not None
        data.pop("chat_template")
        return data


def read_model_facts(path: str | os.PathLike[str]) -> ModelFacts:
    """Read a GGUF's header; raises ModelFileError for a missing, unreadable or non-GGUF file."""
    p = Path(path)
    return facts_from_header(p, open_header(p))


def open_header(p: Path):
    """The parsed header of a GGUF (quantize.gguf_reader.GGUFHeader), or ModelFileError."""
    if not p.exists():
        raise ModelFileError(f"Model file not found: {p}", "check the path or pick the file again")
    if not p.is_file():
        raise ModelFileError(f"Not a file: {p}", "choose a .gguf file, not a folder")
    try:
        with p.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ModelFileError(
            f"Cannot read {p}: {exc.strerror}", "check the file's permissions"
        ) from exc
    if magic != GGUF_MAGIC:
        raise ModelFileError(
            f"{p.name} is not a GGUF model file",
            "QwQ Desktop runs llama.cpp GGUF files; convert safetensors with `qwq-quantize`",
        )
    from quantize.errors import GGUFInputError
    from quantize.gguf_reader import GGUFHeader

    try:
        return GGUFHeader(p)
    except (GGUFInputError, OSError, ValueError) as exc:
        detail = getattr(exc, "detail", None) or str(exc)
        raise ModelFileError(
            f"{p.name} is a damaged or truncated GGUF file: {detail}",
            "download it again or verify its sha256",
        ) from exc


_WANTED_TOKENS = frozenset((THINK_OPEN, THINK_CLOSE, "<|im_start|>", "<|im_end|>", "<|endoftext|>"))


def facts_from_header(p: Path, header) -> ModelFacts:
    """ModelFacts from a parsed header; values of an unexpected type count as absent."""
    import gguf

    meta = header.fields
    arch = _text(meta.get("general.architecture")) or "unknown"

    def arch_int(key: str, default: int = 0) -> int:
        value = meta.get(f"{arch}.{key}")
        if isinstance(value, list):  # per-layer arrays (some architectures)
            value = max(value, default=None) if all(_is_number(v) for v in value) else None
        return int(value) if _is_number(value) else default

    n_embd = arch_int("embedding_length")
    n_head = arch_int("attention.head_count", 1)
    n_kv_head = arch_int("attention.head_count_kv", n_head)
    head_dim = arch_int("attention.key_length", n_embd // max(1, n_head))
    tokens = meta.get("tokenizer.ggml.tokens") or []
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens[:1]):
        tokens = []

    tensors = list(header.tensors.values())
    tensor_bytes = sum(t.nbytes for t in tensors)
    parameters = sum(t.n_elements for t in tensors)
    type_counts: dict[str, int] = {}
    for t in tensors:
        type_counts[t.tensor_type.name] = type_counts.get(t.tensor_type.name, 0) + t.nbytes

    quant = _quant_name(meta.get("general.file_type"), type_counts, gguf)
    special = {tok: i for i, tok in enumerate(tokens) if tok in _WANTED_TOKENS}
    bos = _int_or_none(meta.get("tokenizer.ggml.bos_token_id"))
    eos = _int_or_none(meta.get("tokenizer.ggml.eos_token_id"))
    add_bos = meta.get("tokenizer.ggml.add_bos_token")
    template = meta.get("tokenizer.chat_template")
    return ModelFacts(
        path=str(p),
        file_size=p.stat().st_size,
        name=_text(meta.get("general.name")) or p.stem,
        architecture=str(arch),
        parameters=parameters,
        quant_type=quant,
        context_length=arch_int("context_length", 2048),
        n_layer=arch_int("block_count"),
        n_embd=n_embd,
        n_head=n_head,
        n_kv_head=n_kv_head,
        head_dim=head_dim,
        n_vocab=len(tokens) or arch_int("vocab_size"),
        n_ff=arch_int("feed_forward_length"),
        tensor_bytes=tensor_bytes,
        chat_template=template if isinstance(template, str) else None,
        bos_token_id=bos,
        eos_token_id=eos,
        add_bos=bool(add_bos) if add_bos is not None else arch != "qwen2",
        bos_text=_token_at(tokens, bos),
        eos_text=_token_at(tokens, eos),
        special_tokens=special,
        tensor_types=type_counts,
        rope_freq_base=_float_or_none(meta.get(f"{arch}.rope.freq_base")),
        rope_scaling=_text(meta.get(f"{arch}.rope.scaling.type")) or None,
    )


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _int_or_none(value) -> int | None:
    return int(value) if _is_number(value) and abs(value) < 2**63 else None


def _float_or_none(value) -> float | None:
    return float(value) if _is_number(value) else None


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _token_at(tokens: list, index) -> str:
    if index is None or not 0 <= int(index) < len(tokens):
        return ""
    return str(tokens[int(index)])


def _quant_name(file_type, type_counts: dict[str, int], gguf) -> str:
    if _is_number(file_type):
        try:
            return (
                gguf.LlamaFileType(int(file_type)).name.replace("MOSTLY_", "").replace("ALL_", "")
            )
        except (ValueError, OverflowError):
            pass
    if not type_counts:
        return "unknown"
    return max(type_counts, key=type_counts.get)
