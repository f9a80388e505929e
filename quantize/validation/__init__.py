"""Validate a GGUF against its Hugging Face source and (optionally) an unquantised reference.

Checks, in order: metadata and tensor table against config.json, vocabulary and tokenisation
against tokenizer.json, the chat template, sampled weights against the safetensors, and the
logits of the model against the reference on an evaluation text.
"""

from __future__ import annotations

from pathlib import Path

from ..architectures import hparams_from_config, load_config
from ..checkpoint import Checkpoint
from ..errors import ModelRepoError
from ..vocab import load_hf_tokenizer, source_chat_template
from .gguf_file import GGUFFile
from .logits import check_logits
from .report import CheckResult, ValidationReport
from .structure import check_metadata, check_tensors
from .template_check import check_chat_template
from .texts import EVALUATION_TEXT
from .thresholds import Thresholds, thresholds_for
from .tokenizer_check import check_tokenization, check_vocabulary
from .weights import check_weights

__all__ = ["CheckResult", "Thresholds", "ValidationReport", "validate"]


def validate(
    model: str | Path,
    source: str | Path,
    reference: str | Path | None = None,
    *,
    text: str | None = None,
    max_tokens: int = 512,
    threads: int | None = None,
    thresholds: Thresholds | None = None,
) -> ValidationReport:
    """Run every check on ``model``; the report's ``passed`` is True only if none failed."""
    model, source = Path(model), Path(source)
    config = load_config(source)
    hp = hparams_from_config(config)
    g = GGUFFile(model)
    report = ValidationReport(
        model=str(model), reference=str(reference) if reference else None, source=str(source)
    )
    report.checks += [check_metadata(g, hp), check_tensors(g, hp)]
    hf, _ = load_hf_tokenizer(source)
    report.checks.append(check_vocabulary(g, hf, config))
    template = check_chat_template(g, source_chat_template(source))
    rendered = template.metrics.pop("rendered", None)
    report.checks.append(check_tokenization(model, hf, [rendered] if rendered else []))
    report.checks.append(template)
    try:
        ckpt = Checkpoint(source)
    except ModelRepoError as exc:
        report.checks.append(
            CheckResult("weights", None, f"source weights unusable: {exc.message}")
        )
    else:
        report.checks.append(check_weights(g, ckpt, hp))
    if reference is None:
        report.checks.append(CheckResult("logits", None, "no reference model given (--reference)"))
    else:
        limits = thresholds or thresholds_for(g.type_name)
        report.checks.append(
            check_logits(
                model,
                Path(reference),
                text or EVALUATION_TEXT,
                limits,
                max_tokens=max_tokens,
                threads=threads,
            )
        )
    return report
