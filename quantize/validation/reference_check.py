"""The "reference forward" check: the GGUF through llama.cpp against a forward pass of the
original Hugging Face weights (reference_forward), on the same token ids.

Nothing here comes from the converter: config.json, the tensor names and the safetensors are
read by hf_source, the text is tokenised with tokenizer.json by `tokenizers`, so a wrong name
map, q/k row order or RoPE setting in the converter shows up as a difference instead of being
repeated by the check. The logits are judged like the reference GGUF's (mean KL, top-1 on
confident positions, perplexity ratio), and each block is compared given llama.cpp's own input:
a failure names the first block that diverges and, when one fits, the mistake.
"""

from __future__ import annotations

import time
from pathlib import Path

from tokenizers import Tokenizer

from .diagnose import describe, explain, first_divergence, worst
from .gguf_file import GGUFFile
from .hf_source import HFSource, SourceError
from .llama_trace import run_traced
from .logits import logit_stats
from .reference_forward import ProgressFn, ReferenceModel, Teacher
from .report import CheckResult
from .thresholds import Thresholds

NAME = "reference forward"
DEFAULT_TOKENS = 256
MIN_TOKENS = 16
# Positions whose residual stream llama.cpp hands over for the per-block comparison: enough
# for RoPE to matter, few enough to cost a small fraction of the pass.
BLOCK_POSITIONS = 32


def evaluation_tokens(source: HFSource, text: str, limit: int) -> tuple[list[int], str]:
    """The first ``limit`` token ids of ``text`` by tokenizer.json (with the tokenizer's own
    special tokens, e.g. Llama's BOS), capped where the model would attend differently (a
    sliding window); and a note when capped."""
    try:
        tokenizer = Tokenizer.from_file(str(source.folder / "tokenizer.json"))
    except Exception as exc:
        raise SourceError(f"tokenizer.json cannot be read: {exc}", "Download it again.") from exc
    tokens = tokenizer.encode(text).ids[:limit]
    window = source.config.sliding_window
    if window and len(tokens) > window:
        return tokens[:window], f" (capped at the sliding window of {window})"
    return tokens, ""


def check_reference_forward(
    model: Path,
    source: Path,
    limits: Thresholds,
    text: str,
    *,
    n_tokens: int = DEFAULT_TOKENS,
    threads: int | None = None,
    progress: ProgressFn | None = None,
) -> CheckResult:
    """Compare ``model`` with the forward pass of the checkpoint in ``source``."""
    if n_tokens <= 0:
        return CheckResult(NAME, None, "skipped: --tokens 0")
    try:
        hf = HFSource(source)
        tokens, capped = evaluation_tokens(hf, text, n_tokens)
    except SourceError as exc:
        return CheckResult(NAME, None, f"skipped: {exc.message}")
    if len(tokens) < MIN_TOKENS:
        return CheckResult(NAME, False, f"the evaluation text is only {len(tokens)} tokens")
    config, gguf = hf.config, GGUFFile(model)
    shape = (len(gguf.value("tokenizer.ggml.tokens") or []), gguf.arch_value("embedding_length"))
    if shape != (config.vocab_size, config.hidden):
        return CheckResult(
            NAME,
            False,
            f"the GGUF has {shape[0]} tokens x {shape[1]} dimensions, config.json "
            f"{config.vocab_size} x {config.hidden}",
        )
    started = time.perf_counter()
    try:
        trace = run_traced(model, tokens, positions=BLOCK_POSITIONS, threads=threads)
    except RuntimeError as exc:
        return CheckResult(NAME, False, f"llama.cpp could not run the model: {exc}")
    llama_seconds = time.perf_counter() - started
    residuals = trace.residuals(config.n_layer)
    teacher = None
    if residuals is not None:
        n = min(BLOCK_POSITIONS, len(tokens))
        teacher = Teacher(trace.embedding, *residuals, trace.logits[:n])
    reference = ReferenceModel(hf, progress=progress)
    result = reference.forward(tokens, teacher)
    stats = logit_stats(result.logits, trace.logits, tokens)
    problems = stats.problems(limits)
    diverged = first_divergence(result.deviations, limits.max_block_error)
    metrics = {
        **stats.metrics(limits),
        "tokens": len(tokens),
        "block_positions": teacher.n_positions if teacher else 0,
        "worst_block_error": worst(result.deviations),
        "first_divergence": diverged.where if diverged else None,
        "reference_seconds": sum(result.layer_seconds) + result.head_seconds,
        "reference_seconds_per_layer": sum(result.layer_seconds) / max(1, config.n_layer),
        "llama_seconds": llama_seconds,
        "bytes_read": result.bytes_read,
    }
    summary = stats.summary() + capped
    if diverged is not None:
        finding = describe(diverged, limits.max_block_error)
        why = explain(reference, teacher, tokens, diverged, gguf, limits.max_block_error)
        metrics["diagnosis"] = why
        problems.append(f"{finding}: {why}" if why else finding)
    elif teacher is None:
        summary += "; blocks not compared (llama.cpp's graph names its tensors differently)"
    elif problems:
        top = max(result.deviations, key=lambda d: d.error)
        problems.append(f"largest block difference: {top.where} {top.error:.0%}")
    if problems:
        return CheckResult(NAME, False, f"{'; '.join(problems)} — {summary}", metrics)
    return CheckResult(NAME, True, summary, metrics)
