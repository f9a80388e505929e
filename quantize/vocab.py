"""Carry a Hugging Face tokenizer (tokenizer.json) over into GGUF metadata.

Byte-level BPE (Qwen, Llama 3) for chat models, and WordPiece (BERT) for embedding models.

Tokens, token types, merges, the special token ids, the chat template and, crucially, which
pre-tokenizer llama.cpp must apply. The pre-tokenizer is identified from the split pattern the
tokenizer actually uses, so a tokenizer whose pattern llama.cpp does not implement is refused
instead of being converted into a GGUF that silently tokenises differently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import gguf
from tokenizers import Tokenizer

from .errors import TokenizerError

# Split patterns of the pre-tokenizers llama.cpp implements, by llama.cpp's name for them.
KNOWN_SPLIT_PATTERNS = {
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+": "qwen2",
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+": "llama-bpe",
}
_FILES_HINT = "Fetch the tokenizer files (tokenizer.json, tokenizer_config.json) with the model."


@dataclass
class GGUFVocab:
    """Everything about the tokenizer that goes into the GGUF."""

    tokens: list[str]
    token_types: list[int]
    pre_tokenizer: str
    special: gguf.SpecialVocab
    model: str = "gpt2"  # llama.cpp's tokenizer: "gpt2" (byte-level BPE) or "bert" (WordPiece)
    extra: dict[str, bool | int] = field(default_factory=dict)  # further tokenizer.ggml.* keys

    def add_to(self, writer: gguf.GGUFWriter) -> None:
        writer.add_tokenizer_model(self.model)
        writer.add_tokenizer_pre(self.pre_tokenizer)
        writer.add_token_list(self.tokens)
        writer.add_token_types(self.token_types)
        for key, value in self.extra.items():
            if isinstance(value, bool):
                writer.add_bool(key, value)
            else:
                writer.add_uint32(key, value)
        self.special.add_to_gguf(writer, quiet=True)


def load_hf_tokenizer(folder: str | Path) -> tuple[Tokenizer, dict]:
    """The `tokenizers` object and the raw JSON of ``folder/tokenizer.json``."""
    path = Path(folder) / "tokenizer.json"
    if not path.is_file():
        raise TokenizerError(f"{folder} has no tokenizer.json", _FILES_HINT)
    try:
        return Tokenizer.from_file(str(path)), json.loads(path.read_text(encoding="utf-8"))
    except Exception as exc:  # tokenizers raises plain Exception subclasses
        raise TokenizerError(f"tokenizer.json is unreadable: {exc}", _FILES_HINT) from exc


def identify_pre_tokenizer(raw: dict) -> str:
    """llama.cpp's name for the pre-tokenizer of a byte-level BPE tokenizer.json."""
    pre = raw.get("pre_tokenizer") or {}
    parts = pre.get("pretokenizers", [pre]) if pre.get("type") == "Sequence" else [pre]
    patterns = [p.get("pattern", {}).get("Regex") for p in parts if p.get("type") == "Split"]
    byte_level = [p for p in parts if p.get("type") == "ByteLevel"]
    if not byte_level:
        raise TokenizerError(
            "tokenizer.json is not a byte-level BPE tokenizer (no ByteLevel pre-tokenizer)",
            "Only byte-level BPE tokenizers (Qwen, Llama 3) are supported.",
        )
    if len(patterns) == 1 and patterns[0] in KNOWN_SPLIT_PATTERNS:
        return KNOWN_SPLIT_PATTERNS[patterns[0]]
    if not patterns and byte_level[0].get("use_regex", True):
        return "gpt2"
    raise TokenizerError(
        f"tokenizer.json splits text with a pattern llama.cpp does not implement: {patterns}",
        "Converting it would tokenise differently from the original; this model is not supported.",
    )


def build_vocab(folder: str | Path, vocab_size: int) -> GGUFVocab:
    """Read the tokenizer files of ``folder`` into a GGUF vocabulary of ``vocab_size`` entries."""
    folder = Path(folder)
    tok, raw = load_hf_tokenizer(folder)
    if not (folder / "tokenizer_config.json").is_file():
        raise TokenizerError(
            f"{folder} has no tokenizer_config.json (special tokens and chat template)", _FILES_HINT
        )
    model = raw.get("model") or {}
    if model.get("type") == "WordPiece":
        return build_wordpiece_vocab(folder, vocab_size)
    if model.get("type") != "BPE" or model.get("byte_fallback"):
        raise TokenizerError(
            f"tokenizer model {model.get('type')!r} (byte_fallback={model.get('byte_fallback')}) "
            "is not a byte-level BPE",
            "Only byte-level BPE tokenizers (Qwen, Llama 3) are supported.",
        )
    pre = identify_pre_tokenizer(raw)
    vocab = tok.get_vocab(with_added_tokens=True)
    _check_vocab_size(vocab, vocab_size)
    added = {t["id"]: bool(t.get("special")) for t in raw.get("added_tokens", [])}
    tokens = [f"[PAD{i}]" for i in range(vocab_size)]
    types = [int(gguf.TokenType.UNUSED)] * vocab_size
    for text, idx in vocab.items():
        tokens[idx] = text
        if idx in added:
            types[idx] = int(gguf.TokenType.CONTROL if added[idx] else gguf.TokenType.USER_DEFINED)
        else:
            types[idx] = int(gguf.TokenType.NORMAL)
    special = gguf.SpecialVocab(folder, load_merges=True, n_vocab=vocab_size)
    if not special.merges:
        raise TokenizerError("tokenizer.json has no BPE merges", _FILES_HINT)
    # Whether BOS/EOS are added is what the HF tokenizer actually does, not what a flag claims.
    probe = tok.encode("a", add_special_tokens=True).ids
    plain = tok.encode("a", add_special_tokens=False).ids
    bos, eos = special.special_token_ids.get("bos"), special.special_token_ids.get("eos")
    special.add_special_token["bos"] = (
        bos is not None and len(probe) > len(plain) and probe[0] == bos
    )
    special.add_special_token["eos"] = (
        eos is not None and len(probe) > len(plain) and probe[-1] == eos
    )
    if special.chat_template is None:
        special.chat_template = _template_from_files(folder)
    return GGUFVocab(tokens=tokens, token_types=types, pre_tokenizer=pre, special=special)


def _check_vocab_size(vocab: dict[str, int], vocab_size: int) -> None:
    if max(vocab.values()) >= vocab_size:
        raise TokenizerError(
            f"the tokenizer has ids up to {max(vocab.values())} but config.json's vocab_size is "
            f"{vocab_size}",
            "tokenizer.json and config.json come from different models; download them again.",
        )


def _template_from_files(folder: Path) -> str | None:
    """A chat template kept beside tokenizer_config.json (newer Hub layouts), if any."""
    jinja = folder / "chat_template.jinja"
    return jinja.read_text(encoding="utf-8") if jinja.is_file() else None


def source_chat_template(folder: str | Path) -> str | None:
    """The chat template a Hugging Face folder defines (tokenizer_config.json or .jinja)."""
    folder = Path(folder)
    config = folder / "tokenizer_config.json"
    if config.is_file():
        template = json.loads(config.read_text(encoding="utf-8")).get("chat_template")
        if isinstance(template, str):
            return template
        if isinstance(template, list):
            named = {t.get("name"): t.get("template") for t in template}
            return named.get("default") or next(iter(named.values()), None)
    return _template_from_files(folder)


# WordPiece (BERT): llama.cpp's WPM tokenizer lower-cases, splits on spaces and punctuation
# itself, then matches the longest vocabulary entries of each word with a "phantom space" (U+2581)
# marking the word's start, where Hugging Face marks continuations with "##" instead.
PHANTOM_SPACE = "\u2581"
NORMALIZER_LOWERCASE = "tokenizer.ggml.normalizer.lowercase"
NORMALIZER_STRIP_ACCENTS = "tokenizer.ggml.normalizer.strip_accents"
TOKEN_TYPE_COUNT = "tokenizer.ggml.token_type_count"
_WORDPIECE_HINT = (
    "Only BERT's own WordPiece set-up (BertNormalizer, BertPreTokenizer) is supported."
)


def _bert_normalizer(raw: dict) -> dict:
    """The BertNormalizer of a tokenizer.json (alone or inside a Sequence)."""
    norm = raw.get("normalizer") or {}
    parts = norm.get("normalizers", []) if norm.get("type") == "Sequence" else [norm]
    found = next((p for p in parts if p.get("type") == "BertNormalizer"), None)
    if found is None:
        raise TokenizerError(
            f"tokenizer.json's WordPiece normalizer is {norm.get('type')!r}, not BertNormalizer",
            _WORDPIECE_HINT,
        )
    return found


def build_wordpiece_vocab(folder: str | Path, vocab_size: int) -> GGUFVocab:
    """A BERT WordPiece tokenizer as llama.cpp's WPM vocabulary (tokenizer model "bert")."""
    folder = Path(folder)
    tok, raw = load_hf_tokenizer(folder)
    model = raw.get("model") or {}
    if model.get("continuing_subword_prefix", "##") != "##":
        raise TokenizerError(
            f"WordPiece continuation prefix {model.get('continuing_subword_prefix')!r} is not '##'",
            _WORDPIECE_HINT,
        )
    pre = (raw.get("pre_tokenizer") or {}).get("type")
    if pre != "BertPreTokenizer":
        raise TokenizerError(
            f"WordPiece pre-tokenizer {pre!r} is not BertPreTokenizer", _WORDPIECE_HINT
        )
    normalizer = _bert_normalizer(raw)
    vocab = tok.get_vocab(with_added_tokens=True)
    _check_vocab_size(vocab, vocab_size)
    special_ids = {t["id"] for t in raw.get("added_tokens", []) if t.get("special")}
    tokens = [f"[PAD{i}]" for i in range(vocab_size)]
    types = [int(gguf.TokenType.UNUSED)] * vocab_size
    for text, idx in vocab.items():
        if idx in special_ids:
            tokens[idx], types[idx] = text, int(gguf.TokenType.CONTROL)
        else:
            tokens[idx] = text[2:] if text.startswith("##") else PHANTOM_SPACE + text
            types[idx] = int(gguf.TokenType.NORMAL)
    lowercase = bool(normalizer.get("lowercase", True))
    strip = normalizer.get("strip_accents")  # None: follow lowercase, as Hugging Face does
    extra: dict[str, bool | int] = {
        NORMALIZER_LOWERCASE: lowercase,
        NORMALIZER_STRIP_ACCENTS: lowercase if strip is None else bool(strip),
    }
    config = folder / "config.json"
    if config.is_file():
        types_count = json.loads(config.read_text(encoding="utf-8")).get("type_vocab_size")
        if types_count:
            extra[TOKEN_TYPE_COUNT] = int(types_count)
    special = gguf.SpecialVocab(folder, load_merges=False, n_vocab=vocab_size)
    return GGUFVocab(tokens, types, "default", special, model="bert", extra=extra)
