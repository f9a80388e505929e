"""Validate a GGUF against its Hugging Face source and/or an unquantised reference GGUF.

With the Hugging Face folder (``source``): metadata and tensor table against config.json,
vocabulary and tokenisation against tokenizer.json, the chat template against
tokenizer_config.json, sampled weights against the safetensors, and the logits against a numpy
forward pass of the original weights ("reference forward", independent of the converter).
Without it, the same checks run against the reference GGUF, and tokenizer.json parity runs if a
tokenizer.json is found beside the reference (else that check is reported as skipped); there is
no reference forward check then. With a reference, the logits of the model are compared with
the reference's on an evaluation text.
"""

from __future__ import annotations

from pathlib import Path

from ..architectures import hparams_from_config, load_config
from ..checkpoint import Checkpoint
from ..errors import GGUFInputError, ModelRepoError, TokenizerError
from ..vocab import load_hf_tokenizer, source_chat_template
from .gguf_file import GGUFFile
from .logits import check_logits
from .reference_check import DEFAULT_TOKENS, check_reference_forward
from .reference_forward import ProgressFn
from .report import CheckResult, ValidationReport
from .source_lookup import find_tokenizer_folder
from .structure import (
    check_metadata,
    check_metadata_against_reference,
    check_tensors,
    check_tensors_against_reference,
)
from .template_check import check_chat_template
from .texts import EVALUATION_TEXT
from .thresholds import Thresholds, thresholds_for
from .tokenizer_check import (
    check_hf_tokenizer,
    check_tokenization,
    check_tokenization_against_reference,
    check_vocabulary,
    check_vocabulary_against_reference,
)
from .weights import check_weights, checkpoint_sources, reference_sources

__all__ = ["CheckResult", "Thresholds", "ValidationReport", "validate"]

NO_TOKENIZER = "skipped: pass --source DIR to compare with tokenizer.json"


def validate(
    model: str | Path,
    source: str | Path | None = None,
    reference: str | Path | None = None,
    *,
    text: str | None = None,
    max_tokens: int = 512,
    reference_tokens: int = DEFAULT_TOKENS,
    threads: int | None = None,
    thresholds: Thresholds | None = None,
    progress: ProgressFn | None = None,
) -> ValidationReport:
    """Run every check on ``model``; the report's ``passed`` is True only if none failed.

    At least one of ``source`` (the Hugging Face folder) and ``reference`` (the unquantised GGUF)
    is needed; GGUFInputError otherwise. ``max_tokens`` is the length of the logit comparison
    with the reference, ``reference_tokens`` that of the forward pass of the original weights
    (0 skips it; its cost grows with it); ``progress`` gets (bytes read, bytes to read, where)
    during that pass.
    """
    model = Path(model)
    reference = Path(reference) if reference is not None else None
    if source is None and reference is None:
        raise GGUFInputError(
            "nothing to validate against",
            "Pass --reference with the unquantised GGUF convert wrote, and/or --source with the "
            "Hugging Face model folder.",
        )
    g = GGUFFile(model)
    report = ValidationReport(
        model=str(model),
        reference=str(reference) if reference else None,
        source=str(source) if source is not None else None,
    )
    limits = thresholds or thresholds_for(g.type_name)
    if source is not None:
        report.checks += _checks_against_source(g, Path(source))
        report.checks.append(
            check_reference_forward(
                model,
                Path(source),
                limits,
                text or EVALUATION_TEXT,
                n_tokens=reference_tokens,
                threads=threads,
                progress=progress,
            )
        )
    else:
        report.checks += _checks_against_reference(g, GGUFFile(reference))
    if reference is None:
        report.checks.append(CheckResult("logits", None, "no reference model given (--reference)"))
    else:
        report.checks.append(
            check_logits(
                model,
                reference,
                text or EVALUATION_TEXT,
                limits,
                max_tokens=max_tokens,
                threads=threads,
            )
        )
    return report


def _checks_against_source(g: GGUFFile, source: Path) -> list[CheckResult]:
    config = load_config(source)
    hp = hparams_from_config(config)
    checks = [check_metadata(g, hp), check_tensors(g, hp)]
    hf, _ = load_hf_tokenizer(source)
    checks.append(check_vocabulary(g, hf, config))
    template = check_chat_template(g, source_chat_template(source))
    rendered = template.metrics.pop("rendered", None)
    checks += [check_tokenization(g.path, hf, [rendered] if rendered else []), template]
    try:
        ckpt = Checkpoint(source)
    except ModelRepoError as exc:
        checks.append(CheckResult("weights", None, f"source weights unusable: {exc.message}"))
    else:
        checks.append(check_weights(g, checkpoint_sources(ckpt, hp), "the source"))
    return checks


def _checks_against_reference(g: GGUFFile, ref: GGUFFile) -> list[CheckResult]:
    template = check_chat_template(g, ref.value("tokenizer.chat_template"), "the reference")
    rendered = template.metrics.pop("rendered", None)
    extra = [rendered] if rendered else []
    return [
        check_metadata_against_reference(g, ref),
        check_tensors_against_reference(g, ref),
        check_vocabulary_against_reference(g, ref),
        check_tokenization_against_reference(g.path, ref.path, extra),
        _tokenizer_json_check(g, ref, extra),
        template,
        check_weights(g, reference_sources(ref), "the reference"),
    ]


def _tokenizer_json_check(g: GGUFFile, ref: GGUFFile, extra: list[str]) -> CheckResult:
    found = find_tokenizer_folder(g, ref)
    if found is None:
        return CheckResult("tokenizer.json", None, NO_TOKENIZER)
    folder, how = found
    try:
        hf, _ = load_hf_tokenizer(folder)
    except TokenizerError as exc:
        return CheckResult("tokenizer.json", False, f"{exc.message} ({how})")
    return check_hf_tokenizer(g.path, g, hf, folder, how, extra)
