"""Logit comparison of a (quantised) model against its reference on an evaluation text, through
llama.cpp: mean KL divergence, top-1 agreement and the perplexity ratio."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..llama_log import captured_llama_log, error_lines
from ..llama_runtime import load_llama_backends
from .report import CheckResult
from .thresholds import CONFIDENT_MARGIN, MIN_CONFIDENT_POSITIONS, Thresholds


@dataclass
class LogitStats:
    """``top1_agreement`` is over every position (reported); ``top1_confident`` over the
    ``n_confident`` positions where the reference is confident (judged; None when none)."""

    n_positions: int
    mean_kl: float
    max_kl: float
    top1_agreement: float
    ppl_reference: float
    ppl_model: float
    n_confident: int = 0
    top1_confident: float | None = None

    @property
    def ppl_ratio(self) -> float:
        return self.ppl_model / self.ppl_reference

    def metrics(self, limits: Thresholds) -> dict:
        return {**self.__dict__, "ppl_ratio": self.ppl_ratio, "limits": limits.__dict__}

    def summary(self) -> str:
        if self.top1_confident is None:
            top1 = "top-1 not judged: no confident position"
        else:
            top1 = f"top-1 {self.top1_confident:.1%} of {self.n_confident} confident positions"
            if self.n_confident < MIN_CONFIDENT_POSITIONS:
                top1 += f" (too few to judge, {MIN_CONFIDENT_POSITIONS} needed)"
        return (
            f"{self.n_positions} positions: mean KL {self.mean_kl:.4f}, {top1} "
            f"({self.top1_agreement:.1%} of all), perplexity {self.ppl_model:.3g} vs "
            f"{self.ppl_reference:.3g} (ratio {self.ppl_ratio:.3f})"
        )

    def problems(self, limits: Thresholds) -> list[str]:
        """What exceeds ``limits``; top-1 only when enough positions were confident."""
        problems = []
        if not self.mean_kl <= limits.max_mean_kl:
            problems.append(f"mean KL {self.mean_kl:.4f} > {limits.max_mean_kl}")
        judged = self.n_confident >= MIN_CONFIDENT_POSITIONS and self.top1_confident is not None
        if judged and not self.top1_confident >= limits.min_top1:
            problems.append(
                f"top-1 agreement {self.top1_confident:.1%} < {limits.min_top1:.0%} on "
                f"{self.n_confident} confident positions"
            )
        if not self.ppl_ratio <= limits.max_ppl_ratio:
            problems.append(f"perplexity ratio {self.ppl_ratio:.3f} > {limits.max_ppl_ratio}")
        return problems


def model_logits(path: Path, tokens: list[int], threads: int | None) -> np.ndarray:
    """Logits (len(tokens), n_vocab) of every position, one llama.cpp pass."""
    from llama_cpp import Llama

    load_llama_backends()
    n = len(tokens)
    with captured_llama_log() as log:
        try:
            llm = Llama(
                str(path),
                n_ctx=n,
                n_batch=n,
                n_ubatch=min(n, 512),
                logits_all=True,
                n_threads=threads,
                n_gpu_layers=0,
                verbose=False,
            )
        except Exception as exc:
            raise RuntimeError(f"cannot load {path.name}: {exc} {error_lines(log)}") from exc
        try:
            llm.eval(tokens)
            return np.array(llm.scores[:n], dtype=np.float32)
        except Exception as exc:
            raise RuntimeError(f"{path.name}: {exc} {error_lines(log)}") from exc
        finally:
            llm.close()
            del llm
            gc.collect()


def tokenize_for_eval(path: Path, text: str, max_tokens: int) -> tuple[list[int], int]:
    """The first ``max_tokens`` tokens of ``text`` and the vocabulary size of the model."""
    from .tokenizer_check import load_vocab_only

    llm = load_vocab_only(path)
    try:
        tokens = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        return tokens[:max_tokens], llm.n_vocab()
    finally:
        llm.close()


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    x -= x.max(axis=1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def logit_stats(
    reference: np.ndarray, model: np.ndarray, tokens: list[int], block: int = 64
) -> LogitStats:
    """The statistics of llama.cpp's perplexity --kl-divergence, over every position, and
    top-1 agreement over the positions where the reference is confident (its top token at
    least CONFIDENT_MARGIN nats above the runner-up).

    Works through ``block`` positions at a time so float64 copies stay small for big vocabularies.
    """
    n = len(tokens)
    kl = np.empty(n)
    nll_p, nll_q = np.zeros(n), np.zeros(n)
    for start in range(0, n, block):
        stop = min(n, start + block)
        log_p, log_q = _log_softmax(reference[start:stop]), _log_softmax(model[start:stop])
        kl[start:stop] = (np.exp(log_p) * (log_p - log_q)).sum(axis=1)
        for i in range(start, min(stop, n - 1)):
            nll_p[i], nll_q[i] = -log_p[i - start, tokens[i + 1]], -log_q[i - start, tokens[i + 1]]
    agree = reference.argmax(axis=1) == model.argmax(axis=1)
    top2 = np.partition(reference, -2, axis=1)[:, -2:]
    confident = (top2[:, 1] - top2[:, 0]) >= CONFIDENT_MARGIN
    n_confident = int(confident.sum())
    return LogitStats(
        n_positions=n,
        mean_kl=float(kl.mean()),
        max_kl=float(kl.max()),
        top1_agreement=float(agree.mean()),
        ppl_reference=float(np.exp(nll_p[: n - 1].mean())),
        ppl_model=float(np.exp(nll_q[: n - 1].mean())),
        n_confident=n_confident,
        top1_confident=float(agree[confident].mean()) if n_confident else None,
    )


def check_logits(
    model: Path,
    reference: Path,
    text: str,
    limits: Thresholds,
    *,
    max_tokens: int = 512,
    threads: int | None = None,
) -> CheckResult:
    """Run both models on ``text`` and judge the statistics against ``limits``."""
    try:
        tokens, n_vocab = tokenize_for_eval(reference, text, max_tokens)
        if len(tokens) < 16:
            return CheckResult("logits", False, f"the evaluation text is only {len(tokens)} tokens")
        model_vocab = tokenize_for_eval(model, "", 0)[1]
        if model_vocab != n_vocab:
            return CheckResult(
                "logits",
                False,
                f"vocabularies differ: {model_vocab} tokens vs {n_vocab} in the reference",
            )
        ref_logits = model_logits(reference, tokens, threads)
        got_logits = model_logits(model, tokens, threads)
    except Exception as exc:  # llama.cpp load/eval failures are validation failures
        return CheckResult("logits", False, f"llama.cpp could not run the models: {exc}")
    if ref_logits.shape != got_logits.shape:
        return CheckResult(
            "logits",
            False,
            f"vocabularies differ: {got_logits.shape[1]} logits vs "
            f"{ref_logits.shape[1]} in the reference",
        )
    stats = logit_stats(ref_logits, got_logits, tokens)
    metrics = stats.metrics(limits)
    problems = stats.problems(limits)
    summary = stats.summary()
    if problems:
        return CheckResult("logits", False, f"{'; '.join(problems)} — {summary}", metrics)
    return CheckResult("logits", True, summary, metrics)
