"""qwq-quantize: Hugging Face safetensors -> GGUF -> Q4_K_M (or Q5_K_M, Q6_K, Q8_0), validated.

Exit codes: 0 success, 1 validation failed, 2 bad input or a step failed (the message says why
and what to do), 130 interrupted. validate exits 0 when no check failed: a skipped check is shown
as SKIP and listed in the report, but does not fail the run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import QuantizeToolError

EXIT_OK, EXIT_INVALID, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


def _add_convert(sub) -> None:
    p = sub.add_parser("convert", help="safetensors folder -> unquantised GGUF")
    p.add_argument("model_dir", type=Path, help="Hugging Face model folder")
    p.add_argument("--outtype", choices=["bf16", "f16", "f32"], default="bf16")
    p.add_argument("-o", "--output", type=Path, required=True, help="GGUF file to write")
    p.add_argument("--chunk-mb", type=int, default=32, help="memory per streamed block (MiB)")
    p.set_defaults(run=_run_convert)


def _add_quantize(sub) -> None:
    from .quantizer import DEFAULT_TYPE, QUANT_TYPES

    p = sub.add_parser("quantize", help="unquantised GGUF -> quantised GGUF (llama.cpp)")
    p.add_argument("model", type=Path, help="GGUF from convert (bf16/f16/f32)")
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--type", dest="qtype", choices=list(QUANT_TYPES), default=DEFAULT_TYPE)
    p.add_argument("--threads", type=int, default=None, help="default: all cores")
    p.add_argument("--imatrix", type=Path, default=None, help="importance matrix (llama-imatrix)")
    p.set_defaults(run=_run_quantize)


def _add_validate(sub) -> None:
    p = sub.add_parser(
        "validate",
        help="check a GGUF against a reference GGUF and/or its Hugging Face source",
        description="Exit code 0 when no check failed; a skipped check (shown as SKIP and "
        "listed under 'skipped' in the JSON) does not fail the run but is not a pass.",
    )
    p.add_argument("model", type=Path, help="GGUF to validate")
    p.add_argument("--reference", type=Path, default=None, help="unquantised GGUF to compare with")
    p.add_argument(
        "--source",
        type=Path,
        default=None,
        help="the Hugging Face model folder: check against config.json, tokenizer.json and "
        "the safetensors instead of the reference's metadata and weights",
    )
    p.add_argument("--text", type=Path, default=None, help="evaluation text file (UTF-8)")
    p.add_argument("--max-tokens", type=int, default=512, help="evaluation length in tokens")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", type=Path, default=None, help="also write the report as JSON here")
    p.add_argument("--max-kl", type=float, default=None, help="override the mean KL limit")
    p.add_argument("--min-top1", type=float, default=None, help="override the top-1 limit (0-1)")
    p.add_argument("--max-ppl-ratio", type=float, default=None, help="override the ratio limit")
    p.set_defaults(run=_run_validate)


def _add_fetch(sub) -> None:
    p = sub.add_parser("fetch", help="download a model from the Hugging Face Hub (resumable)")
    p.add_argument("repo_id", help="e.g. Qwen/QwQ-32B")
    p.add_argument("--revision", default="main", help="branch, tag or commit (pinned on start)")
    p.add_argument("--dir", type=Path, default=None, help="target folder (default: ./<name>)")
    p.add_argument("--token", default=None, help="Hub token for gated repos (default: $HF_TOKEN)")
    p.set_defaults(run=_run_fetch)


def _add_all(sub) -> None:
    from .quantizer import DEFAULT_TYPE, QUANT_TYPES

    p = sub.add_parser("all", help="fetch, convert, quantize and validate (resumable)")
    p.add_argument("repo_id", help="e.g. Qwen/QwQ-32B")
    p.add_argument("--type", dest="qtype", choices=list(QUANT_TYPES), default=DEFAULT_TYPE)
    p.add_argument(
        "--outtype",
        choices=["bf16", "f16", "f32"],
        default="bf16",
        help="type of the intermediate (reference) GGUF",
    )
    p.add_argument("--dir", type=Path, default=None, help="work folder (default: ./<name>-gguf)")
    p.add_argument("--revision", default="main")
    p.add_argument("--token", default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--imatrix", type=Path, default=None)
    p.add_argument("--estimate-only", action="store_true", help="show the estimate and stop")
    p.set_defaults(run=_run_all)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qwq-quantize",
        description="Convert Hugging Face safetensors to GGUF, quantise and validate the result.",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_convert(sub)
    _add_quantize(sub)
    _add_validate(sub)
    _add_fetch(sub)
    _add_all(sub)
    return parser


def _run_convert(args) -> int:
    from .convert import convert
    from .progress import byte_progress

    with byte_progress("convert", not args.quiet) as progress:
        result = convert(
            args.model_dir,
            args.output,
            args.outtype,
            chunk_bytes=args.chunk_mb * 1024 * 1024,
            progress=progress,
        )
    print(
        f"wrote {result.path} ({result.architecture}, {result.outtype}, "
        f"{result.n_tensors} tensors, "
        f"{result.bytes_written / 1e9:.2f} GB) in {result.seconds:.1f} s"
    )
    return EXIT_OK


def _run_quantize(args) -> int:
    from .progress import count_progress
    from .quantizer import quantize

    with count_progress(f"quantize {args.qtype}", not args.quiet) as progress:
        result = quantize(
            args.model,
            args.output,
            args.qtype,
            threads=args.threads,
            imatrix=args.imatrix,
            progress=progress,
        )
    extra = (
        f", importance matrix with {result.imatrix_entries} entries"
        if result.imatrix_entries
        else ""
    )
    print(
        f"wrote {result.path} ({result.qtype}, {result.output_bytes / 1e9:.2f} GB{extra}) "
        f"in {result.seconds:.1f} s"
    )
    return EXIT_OK


def _run_validate(args) -> int:
    from .atomic import atomic_write_text
    from .validation import validate
    from .validation.gguf_file import GGUFFile
    from .validation.thresholds import Thresholds, thresholds_for

    limits = None
    overrides = (args.max_kl, args.min_top1, args.max_ppl_ratio)
    if args.reference and any(value is not None for value in overrides):
        base = thresholds_for(GGUFFile(args.model).type_name)
        limits = Thresholds(
            max_mean_kl=args.max_kl if args.max_kl is not None else base.max_mean_kl,
            min_top1=args.min_top1 if args.min_top1 is not None else base.min_top1,
            max_ppl_ratio=args.max_ppl_ratio
            if args.max_ppl_ratio is not None
            else base.max_ppl_ratio,
        )
    text = args.text.read_text(encoding="utf-8") if args.text else None
    report = validate(
        args.model,
        args.source,
        args.reference,
        text=text,
        max_tokens=args.max_tokens,
        threads=args.threads,
        thresholds=limits,
    )
    print(report.to_table())
    if args.json:
        atomic_write_text(args.json, report.to_json())
    return EXIT_OK if report.passed else EXIT_INVALID


def _run_fetch(args) -> int:
    from .fetch import fetch
    from .progress import download_progress

    folder = args.dir or Path(args.repo_id.split("/")[-1])
    with download_progress(not args.quiet) as progress:
        result = fetch(
            args.repo_id, folder, revision=args.revision, token=args.token, progress=progress
        )
    print(
        f"fetched {result.repo_id}@{result.commit_sha[:12]} into {result.folder} "
        f"({len(result.files)} files, {result.total_bytes / 1e9:.2f} GB, sha256 verified)"
    )
    return EXIT_OK


def _run_all(args) -> int:
    from .pipeline import RunPlan, run_all

    work = args.dir or Path(args.repo_id.split("/")[-1] + "-gguf")
    plan = RunPlan(args.repo_id, work, qtype=args.qtype, outtype=args.outtype)
    result = run_all(
        plan,
        revision=args.revision,
        token=args.token,
        threads=args.threads,
        imatrix=args.imatrix,
        estimate_only=args.estimate_only,
        show_progress=not args.quiet,
    )
    if args.estimate_only:
        return EXIT_OK
    if result.validation_passed:
        print(f"done: {plan.quantized} (validated, report {plan.report})")
        return EXIT_OK
    print(f"validation FAILED: see {plan.report}", file=sys.stderr)
    return EXIT_INVALID


def main(argv: list[str] | None = None) -> int:
    """Entry point of the qwq-quantize command."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except QuantizeToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted; no partial output was left behind", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
