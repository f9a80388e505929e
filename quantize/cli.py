"""qwq-quantize: Hugging Face safetensors -> GGUF -> Q4_K_M (or Q5_K_M, Q6_K, Q8_0), validated.

Exit codes: 0 success, 1 validation failed, 2 bad input or a step failed (the message says why
and what to do), 130 stopped on request (SIGTERM, Ctrl+C, Ctrl+Break, the cancel file) or
interrupted. validate exits 0 when no check failed: a skipped check is shown as SKIP and listed
in the report, but does not fail the run.

``--progress jsonl`` replaces the human output on stdout (or ``--progress-file``) by one JSON
event per line (schema in quantize.events). ``--cancel-file PATH`` stops the run gracefully
when PATH appears, like SIGTERM (the tool deletes PATH once it has taken the request): the way
to stop it from a program on Windows, where SIGTERM would kill it outright. A stopped run
removes its temporary files, keeps the steps it finished and exits with 130; a run that was
killed outright leaves temporary files that the next run removes on start (and reports).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

from .errors import InsufficientDiskError, QuantizeToolError
from .events import Cancelled, ErrorInfo, Event, Failed, Result, Started, StepFinished, StepStarted
from .reporting import JsonLinesReporter, Reporter, TerminalReporter
from .run_control import CancelToken, RunCancelled, cancellation

EXIT_OK, EXIT_INVALID, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_CANCELLED = EXIT_INTERRUPTED


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
    p.add_argument(
        "--max-tokens",
        type=int,
        default=512,
        help="length of the logit comparison with --reference",
    )
    _add_reference_tokens(p, "with --source: ")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", type=Path, default=None, help="also write the report as JSON here")
    p.add_argument("--max-kl", type=float, default=None, help="override the mean KL limit")
    p.add_argument("--min-top1", type=float, default=None, help="override the top-1 limit (0-1)")
    p.add_argument("--max-ppl-ratio", type=float, default=None, help="override the ratio limit")
    p.set_defaults(run=_run_validate)


def _add_reference_tokens(p: argparse.ArgumentParser, when: str = "") -> None:
    from .validation.reference_check import DEFAULT_TOKENS

    p.add_argument(
        "--tokens",
        type=int,
        default=DEFAULT_TOKENS,
        metavar="N",
        help=f"{when}tokens of the forward pass of the original weights (reference forward "
        "check, default %(default)s); its time grows with N (QwQ-32B: see "
        "docs/performance.md); 0 skips it",
    )


class _RefuseTokenValue(argparse.Action):
    """``--token VALUE``, refused with the reason and what to use instead."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        parser.error(
            "--token is not accepted: a token on the command line is visible to every user of "
            "this computer; pipe it to --token-stdin or set HF_TOKEN"
        )


def add_token_arguments(p: argparse.ArgumentParser, help_text: str) -> None:
    """``--token-stdin`` (help: ``help_text``), and ``--token VALUE`` refused with a reason."""
    p.add_argument("--token-stdin", action="store_true", help=help_text)
    p.add_argument("--token", action=_RefuseTokenValue, help=argparse.SUPPRESS)


def _add_token(p: argparse.ArgumentParser) -> None:
    add_token_arguments(
        p,
        "read a Hub token for gated repos from standard input (default: $HF_TOKEN); a "
        "token on the command line would be visible to every user of the computer",
    )


def _token(args) -> str | None:
    """The token piped in with --token-stdin, or None ($HF_TOKEN, huggingface_hub's login)."""
    if not args.token_stdin:
        return None
    token = sys.stdin.readline().strip()
    if not token:
        raise QuantizeToolError(
            "--token-stdin was given but standard input held no token",
            "pipe the token in, or set HF_TOKEN instead",
        )
    return token


def _add_fetch(sub) -> None:
    p = sub.add_parser("fetch", help="download a model from the Hugging Face Hub (resumable)")
    p.add_argument("repo_id", help="e.g. Qwen/QwQ-32B")
    p.add_argument("--revision", default="main", help="branch, tag or commit (pinned on start)")
    p.add_argument("--dir", type=Path, default=None, help="target folder (default: ./<name>)")
    _add_token(p)
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
    _add_token(p)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--imatrix", type=Path, default=None)
    p.add_argument("--estimate-only", action="store_true", help="show the estimate and stop")
    _add_reference_tokens(p)
    p.set_defaults(run=_run_all)


def _add_probe(sub) -> None:
    p = sub.add_parser(
        "probe-gguf",
        help="open a GGUF with llama.cpp and report on stdout (the app's child-process check)",
        description="Run by the app in a child process (quantize.gguf_probe): a native crash "
        "ends this process, not the app. Prints JSON lines; exit 0 (opened), 65 (refused).",
    )
    p.add_argument("path", help="GGUF file to open")
    p.add_argument("--vocab-only", action="store_true", help="load the vocabulary only")


PROBE_COMMAND = "probe-gguf"


def _add_run_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """Options of every command, accepted before and after the command's name."""

    def default(value):
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "--progress",
        choices=["bars", "jsonl"],
        default=default("bars"),
        help="bars: human output, progress bars on stderr; jsonl: one JSON event per line "
        "instead (schema in quantize/events.py)",
    )
    parser.add_argument(
        "--progress-file",
        type=Path,
        default=default(None),
        help="write the jsonl events to this file instead of stdout",
    )
    parser.add_argument(
        "--cancel-file",
        type=Path,
        default=default(None),
        help="stop gracefully, as on SIGTERM, when this file appears (how a program stops a "
        "run on Windows); exit code 130",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qwq-quantize",
        description="Convert Hugging Face safetensors to GGUF, quantise and validate the result.",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    _add_run_options(parser, defaults=True)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_convert(sub)
    _add_quantize(sub)
    _add_validate(sub)
    _add_fetch(sub)
    _add_all(sub)
    for command in sub.choices.values():
        _add_run_options(command, defaults=False)
    _add_probe(sub)  # its own protocol on stdout: none of the run options
    return parser


def _sweep(reporter: Reporter, output: Path) -> None:
    """Remove this output's temporary files that a killed earlier run left beside it."""
    from .run_control import sweep_partials

    reporter.emit(sweep_partials(output.parent, target=output.name))


def _run_convert(args, reporter: Reporter, cancel: CancelToken) -> int:
    from .convert import convert
    from .reporting import progress_callback

    _sweep(reporter, args.output)
    reporter.emit(StepStarted("convert", "convert"))
    result = convert(
        args.model_dir,
        args.output,
        args.outtype,
        chunk_bytes=args.chunk_mb * 1024 * 1024,
        progress=progress_callback(reporter, "convert", "bytes"),
        cancel=cancel.event,
    )
    reporter.emit(StepFinished("convert", str(result.path), result.bytes_written, result.seconds))
    message = (
        f"wrote {result.path} ({result.architecture}, {result.outtype}, "
        f"{result.n_tensors} tensors, "
        f"{result.bytes_written / 1e9:.2f} GB) in {result.seconds:.1f} s"
    )
    reporter.emit(Result("convert", True, EXIT_OK, output=str(result.path), message=message))
    return EXIT_OK


def _run_quantize(args, reporter: Reporter, cancel: CancelToken) -> int:
    from .quantizer import quantize
    from .reporting import progress_callback

    _sweep(reporter, args.output)
    reporter.emit(StepStarted("quantize", f"quantize {args.qtype}"))
    result = quantize(
        args.model,
        args.output,
        args.qtype,
        threads=args.threads,
        imatrix=args.imatrix,
        progress=progress_callback(reporter, "quantize", "tensors"),
        cancel=cancel.event,
    )
    reporter.emit(StepFinished("quantize", str(result.path), result.output_bytes, result.seconds))
    extra = (
        f", importance matrix with {result.imatrix_entries} entries"
        if result.imatrix_entries
        else ""
    )
    message = (
        f"wrote {result.path} ({result.qtype}, {result.output_bytes / 1e9:.2f} GB{extra}) "
        f"in {result.seconds:.1f} s"
    )
    reporter.emit(Result("quantize", True, EXIT_OK, output=str(result.path), message=message))
    return EXIT_OK


def _run_validate(args, reporter: Reporter, cancel: CancelToken) -> int:
    from dataclasses import replace

    from .atomic import atomic_write_text
    from .events import Log
    from .reporting import progress_callback
    from .validation import validate
    from .validation.gguf_file import GGUFFile
    from .validation.thresholds import thresholds_for

    limits = None
    overrides = {
        "max_mean_kl": args.max_kl,
        "min_top1": args.min_top1,
        "max_ppl_ratio": args.max_ppl_ratio,
    }
    overrides = {key: value for key, value in overrides.items() if value is not None}
    if (args.reference or args.source) and overrides:
        limits = replace(thresholds_for(GGUFFile(args.model).type_name), **overrides)
    text = args.text.read_text(encoding="utf-8") if args.text else None
    reporter.emit(StepStarted("validate", "validate"))
    with cancel.interruptible():  # writes nothing until the report: stops at once
        report = validate(
            args.model,
            args.source,
            args.reference,
            text=text,
            max_tokens=args.max_tokens,
            reference_tokens=args.tokens,
            threads=args.threads,
            thresholds=limits,
            progress=progress_callback(reporter, "validate", "bytes"),
        )
    reporter.emit(Log(report.to_table()))
    if args.json:
        atomic_write_text(args.json, report.to_json())
    reporter.emit(StepFinished("validate", str(args.json) if args.json else None))
    code = EXIT_OK if report.passed else EXIT_INVALID
    reporter.emit(
        Result(
            "validate",
            report.passed,
            code,
            report=str(args.json) if args.json else None,
            validation_passed=report.passed,
        )
    )
    return code


def _run_fetch(args, reporter: Reporter, cancel: CancelToken) -> int:
    from .fetch import fetch
    from .reporting import download_callback

    folder = args.dir or Path(args.repo_id.split("/")[-1])
    reporter.emit(StepStarted("fetch", f"fetch {args.repo_id}"))
    with cancel.interruptible():  # partial downloads are kept and resume: no boundary needed
        result = fetch(
            args.repo_id,
            folder,
            revision=args.revision,
            token=_token(args),
            progress=download_callback(reporter),
        )
    reporter.emit(StepFinished("fetch", str(result.folder), result.total_bytes))
    message = (
        f"fetched {result.repo_id}@{result.commit_sha[:12]} into {result.folder} "
        f"({len(result.files)} files, {result.total_bytes / 1e9:.2f} GB, sha256 verified)"
    )
    reporter.emit(Result("fetch", True, EXIT_OK, output=str(result.folder), message=message))
    return EXIT_OK


def _run_all(args, reporter: Reporter, cancel: CancelToken) -> int:
    from .pipeline import RunPlan, run_all

    work = args.dir or Path(args.repo_id.split("/")[-1] + "-gguf")
    plan = RunPlan(
        args.repo_id, work, qtype=args.qtype, outtype=args.outtype, reference_tokens=args.tokens
    )
    result = run_all(
        plan,
        revision=args.revision,
        token=_token(args),
        threads=args.threads,
        imatrix=args.imatrix,
        estimate_only=args.estimate_only,
        reporter=reporter,
        cancel=cancel,
    )
    if args.estimate_only:
        reporter.emit(Result("all", True, EXIT_OK, ran=result.ran, skipped=result.skipped))
        return EXIT_OK
    passed = bool(result.validation_passed)
    message = (
        f"done: {plan.quantized} (validated, report {plan.report})"
        if passed
        else f"validation FAILED: see {plan.report}"
    )
    code = EXIT_OK if passed else EXIT_INVALID
    reporter.emit(
        Result(
            "all",
            passed,
            code,
            output=str(plan.quantized),
            report=str(plan.report),
            validation_passed=passed,
            ran=result.ran,
            skipped=result.skipped,
            message=message,
        )
    )
    return code


def file_error(exc: OSError) -> QuantizeToolError:
    """A failed file operation as the tool's error: the disk filling up in the middle of a
    write (after the free-space check passed), a folder that cannot be written, a file gone."""
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        error: QuantizeToolError = InsufficientDiskError(
            f"The disk filled up while writing{where}",
            "free some space (or write the output to another disk with -o) and run the "
            "command again; unfinished output files are removed, finished steps are kept",
        )
    else:
        error = QuantizeToolError(
            f"A file operation failed: {exc.strerror or exc}{where}",
            "check that the folder exists, can be written to and the disk has room",
        )
    error.__cause__ = exc
    return error


class _StepTracker:
    """Passes events on and remembers the step in progress (for an error's report)."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.step: str | None = None

    def emit(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            self.step = event.step
        elif isinstance(event, StepFinished):
            self.step = None
        self.reporter.emit(event)


@contextlib.contextmanager
def _reporter(args) -> Iterator[Reporter]:
    if args.progress != "jsonl":
        yield TerminalReporter(bars=not args.quiet)
    elif args.progress_file is None:
        yield JsonLinesReporter(sys.stdout)
    else:
        with open(args.progress_file, "w", encoding="utf-8") as stream:
            yield JsonLinesReporter(stream)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the qwq-quantize command."""
    from .hub import DownloadCancelled

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == [PROBE_COMMAND]:  # the child of quantize.gguf_probe: JSON lines, no reporter
        from .gguf_probe import main as probe_main

        return probe_main(argv[1:])
    args = build_parser().parse_args(argv)
    with _reporter(args) as sink, cancellation(args.cancel_file) as cancel:
        if isinstance(sink, JsonLinesReporter):
            sink.on_broken = cancel.request  # the parent stopped listening: stop the run
        reporter = _StepTracker(sink)
        reporter.emit(Started(args.command))
        try:
            return args.run(args, reporter, cancel)
        except RunCancelled as exc:
            message = f"{exc.message}. {exc.hint}"
            reporter.emit(
                Cancelled(exc.step or reporter.step, exc.finished, EXIT_CANCELLED, message)
            )
        except DownloadCancelled as exc:  # a fetch stopped on request: the partial file stays
            message = f"{exc.message}; {exc.hint}"
            reporter.emit(Cancelled(reporter.step, [], EXIT_CANCELLED, message))
        except KeyboardInterrupt:
            message = "interrupted; no partial output was left behind"
            reporter.emit(Cancelled(reporter.step, [], EXIT_INTERRUPTED, message))
        except (QuantizeToolError, OSError) as exc:  # OSError: disk full, no permission...
            error = exc if isinstance(exc, QuantizeToolError) else file_error(exc)
            reporter.emit(Failed(reporter.step, ErrorInfo.from_exception(error), EXIT_ERROR))
            return EXIT_ERROR
        except Exception as exc:  # a bug: the stream says so, with the traceback on stderr
            if args.progress != "jsonl":
                raise
            reporter.emit(Failed(reporter.step, ErrorInfo.from_exception(exc), EXIT_ERROR))
            traceback.print_exc()
            return EXIT_ERROR
        return EXIT_CANCELLED


if __name__ == "__main__":
    sys.exit(main())
