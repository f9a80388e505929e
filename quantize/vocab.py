"""Carry a Hugging Face byte-level BPE tokenizer (tokenizer.json) over into GGUF metadata.

Tokens, token types, merges, the special token ids, the chat template and, crucially, which
pre-tokenizer llama.cpp must apply. The pre-tokenizer is identified from the split pattern the
tokenizer actually uses, so a tokenizer whose pattern llama.cpp does not implement is refused
instead of being converted into a GGUF that silently tokenises differently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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

    def add_to(self, writer: gguf.GGUFWriter) -> None:
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre(self.pre_tokenizer)
        writer.add_token_list(self.tokens)
        writer.add_token_types(self.token_types)
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
    if model.get("type") != "BPE" or model.get("byte_fallback"):
        raise TokenizerError(
            f"tokenizer model {model.get('type')!r} (byte_fallback={model.get('byte_fallback')}) "
            "is not a byte-level BPE",
            "Only byte-level BPE tokenizers (Qwen, Llama 3) are supported.",
        )
    pre = identify_pre_tokenizer(raw)
    vocab = tok.get_vocab(with_added_tokens=True)
    if max(vocab.values()) >= vocab_size:
        raise TokenizerError(
            f"the tokenizer has ids up to {max(vocab.values())} but config.json's vocab_size is "
            f"{vocab_size}",
            "tokenizer.json and config.json come from different models; download them again.",
        )
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
