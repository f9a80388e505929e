"""Tokenizer checks: the GGUF (as llama.cpp reads it) against the Hugging Face tokenizer.json,
or against the reference GGUF when no tokenizer.json is at hand."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer

from ..llama_log import captured_llama_log, error_lines
from ..llama_runtime import load_llama_backends
from .gguf_file import GGUFFile
from .report import CheckResult
from .texts import TOKENIZER_SAMPLES


def load_vocab_only(path: Path):
    """A llama.cpp model handle with only the vocabulary loaded (fast, no weights)."""
    from llama_cpp import Llama

    load_llama_backends()
    with captured_llama_log() as log:
        try:
            return Llama(str(path), vocab_only=True, verbose=False)
        except Exception as exc:
            raise RuntimeError(f"{exc} {error_lines(log)}".strip()) from exc


def check_vocabulary(g: GGUFFile, hf: Tokenizer, config: dict) -> CheckResult:
    """Token strings id by id, and the special token ids, against tokenizer.json/config.json."""
    tokens = g.value("tokenizer.ggml.tokens") or []
    hf_vocab = hf.get_vocab(with_added_tokens=True)
    problems = []
    if len(tokens) < len(hf_vocab):
        problems.append(f"the GGUF has {len(tokens)} tokens, tokenizer.json {len(hf_vocab)}")
    differing = [
        f"id {i}: {tokens[i]!r} vs {text!r}"
        for text, i in sorted(hf_vocab.items(), key=lambda kv: kv[1])
        if i < len(tokens) and tokens[i] != text
    ]
    if differing:
        problems.append(f"{len(differing)} token(s) differ, first {differing[0]}")
    eos = config.get("eos_token_id")
    eos_ids = eos if isinstance(eos, list) else [eos]
    gguf_eos = g.value("tokenizer.ggml.eos_token_id")
    if eos is not None and gguf_eos not in eos_ids:
        problems.append(f"end-of-sequence id is {gguf_eos}, config.json says {eos}")
    if problems:
        return CheckResult("vocabulary", False, "; ".join(problems))
    return CheckResult("vocabulary", True, f"{len(hf_vocab)} tokens and special ids match")


def _first_difference(a: list[int], b: list[int]) -> int:
    pairs = enumerate(zip(a, b, strict=False))
    return next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))


def check_tokenization(path: Path, hf: Tokenizer, extra_texts: list[str] = ()) -> CheckResult:
    """llama.cpp tokenises the built-in multilingual/code sample exactly like `tokenizers`."""
    try:
        llm = load_vocab_only(path)
    except Exception as exc:  # llama.cpp raises ValueError/RuntimeError variants
        return CheckResult("tokenization", False, f"llama.cpp cannot load the vocabulary: {exc}")
    try:
        mismatches, n_tokens = [], 0
        samples = list(TOKENIZER_SAMPLES) + list(extra_texts)
        for text in samples:
            want = hf.encode(text, add_special_tokens=False).ids
            got = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
            n_tokens += len(want)
            if got != want:
                at = _first_difference(got, want)
                mismatches.append(
                    f"{text[:24]!r}...: llama.cpp {got[at : at + 3]} vs "
                    f"tokenizers {want[at : at + 3]} "
                    f"at token {at}"
                )
                continue
            back = llm.detokenize(want, special=True).decode("utf-8", errors="replace")
            if back != hf.decode(want, skip_special_tokens=False):
                mismatches.append(f"{text[:24]!r}...: decoding differs")
    finally:
        llm.close()
    if mismatches:
        return CheckResult(
            "tokenization",
            False,
            f"{len(mismatches)} of {len(samples)} samples differ: {mismatches[0]}",
            {"mismatches": mismatches},
        )
    return CheckResult(
        "tokenization",
        True,
        f"{len(samples)} samples ({n_tokens} tokens, special tokens included) identical",
        {"samples": len(samples), "tokens": n_tokens},
    )


def _first_list_difference(have: list, want: list) -> str:
    if len(have) != len(want):
        return f"{len(have)} entries, the reference {len(want)}"
    at = _first_difference(have, want)
    return f"entry {at} is {have[at]!r}, the reference's {want[at]!r}"


def check_vocabulary_against_reference(g: GGUFFile, ref: GGUFFile) -> CheckResult:
    """Every tokenizer.ggml.* field (tokens, types, merges, pre-tokenizer, special token ids and
    flags) identical to the reference's."""
    keys = sorted(
        k for k in {*g.header.fields, *ref.header.fields} if k.startswith("tokenizer.ggml.")
    )
    problems = []
    for key in keys:
        have, want = g.value(key), ref.value(key)
        if have == want:
            continue
        if have is None or want is None:
            where = "the model" if have is None else "the reference"
            problems.append(f"{key} is missing in {where}")
        elif isinstance(have, list) and isinstance(want, list):
            problems.append(f"{key}: {_first_list_difference(have, want)}")
        else:
            problems.append(f"{key} is {have!r}, the reference's {want!r}")
    if problems:
        return CheckResult("vocabulary", False, "; ".join(problems[:5]))
    n_tokens = len(g.value("tokenizer.ggml.tokens") or [])
    n_merges = len(g.value("tokenizer.ggml.merges") or [])
    specials = [k.split(".")[-1] for k in keys if k.endswith("_token_id")]
    return CheckResult(
        "vocabulary",
        True,
        f"{n_tokens} tokens, {n_merges} merges, token types and special tokens "
        f"({', '.join(s.removesuffix('_token_id') for s in specials) or 'none'}) "
        "identical to the reference",
    )


def check_tokenization_against_reference(
    path: Path, reference: Path, extra_texts: list[str] = ()
) -> CheckResult:
    """llama.cpp tokenises (and detokenises) the built-in sample with the model's vocabulary
    exactly as with the reference's."""
    try:
        llm = load_vocab_only(path)
    except Exception as exc:
        return CheckResult("tokenization", False, f"llama.cpp cannot load the vocabulary: {exc}")
    try:
        ref = load_vocab_only(reference)
    except Exception as exc:
        llm.close()
        return CheckResult("tokenization", False, f"llama.cpp cannot load the reference: {exc}")
    try:
        mismatches, n_tokens = [], 0
        samples = list(TOKENIZER_SAMPLES) + list(extra_texts)
        for text in samples:
            raw = text.encode("utf-8")
            want = ref.tokenize(raw, add_bos=False, special=True)
            got = llm.tokenize(raw, add_bos=False, special=True)
            n_tokens += len(want)
            if got != want:
                at = _first_difference(got, want)
                mismatches.append(
                    f"{text[:24]!r}...: {got[at : at + 3]} vs the reference's "
                    f"{want[at : at + 3]} at token {at}"
                )
            elif llm.detokenize(want, special=True) != ref.detokenize(want, special=True):
                mismatches.append(f"{text[:24]!r}...: decoding differs")
    finally:
        llm.close()
        ref.close()
    if mismatches:
        return CheckResult(
            "tokenization",
            False,
            f"{len(mismatches)} of {len(samples)} samples differ from the reference: "
            f"{mismatches[0]}",
            {"mismatches": mismatches},
        )
    return CheckResult(
        "tokenization",
        True,
        f"{len(samples)} samples ({n_tokens} tokens, special tokens included) tokenised as the "
        "reference does",
        {"samples": len(samples), "tokens": n_tokens},
    )


def check_hf_tokenizer(
    path: Path, g: GGUFFile, hf: Tokenizer, folder: Path, how: str, extra_texts: list[str] = ()
) -> CheckResult:
    """Token strings and llama.cpp's tokenisation of the sample against a tokenizer.json found
    without --source; ``how`` says where it was found."""
    vocab = check_vocabulary(g, hf, {})
    tokens = check_tokenization(path, hf, extra_texts)
    where = f"{folder / 'tokenizer.json'} ({how})"
    failures = [c.detail for c in (vocab, tokens) if not c.passed]
    if failures:
        return CheckResult("tokenizer.json", False, f"{'; '.join(failures)} — {where}")
    return CheckResult(
        "tokenizer.json",
        True,
        f"token strings and {tokens.detail} with {where}",
        {**tokens.metrics, "tokenizer_json": str(folder / "tokenizer.json")},
    )
