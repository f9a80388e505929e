"""What the `chat` and `info` commands share: expected errors printed for a person."""

from __future__ import annotations

import argparse

from app.engine import LoadOptions
from app.errors import UserFacingError
from quantize.errors import print_error


def report_error(error: UserFacingError) -> int:
    """Print an expected error for a person (no traceback): ``error: MESSAGE`` and, below it,
    ``  try: HINT``, from the error's fields. Returns the exit code."""
    print_error(error, hint_label="try")
    return 2


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that say how a chat model is loaded (chat and serve share them)."""
    parser.add_argument(
        "--ctx", type=int, default=None, help="context size (default: the planner's)"
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--gpu-layers", type=int, default=None)
    parser.add_argument("--kv-cache", choices=["f16", "q8_0"], default="f16")
    parser.add_argument(
        "--draft",
        default="lookup",
        metavar="none|lookup|FILE.gguf",
        help="speculative decoding (exact: the output is what plain decoding gives): drafts "
        "looked up in the conversation (default), none, or a small draft model of the same "
        "vocabulary (for QwQ-32B: Qwen2.5-0.5B-Instruct)",
    )


def load_options(args: argparse.Namespace, seed: int | None = None) -> LoadOptions:
    """LoadOptions from add_load_arguments' flags, for a process without a GUI."""
    return LoadOptions(
        n_ctx=args.ctx,
        n_gpu_layers=args.gpu_layers,
        kv_cache_type=args.kv_cache,
        n_threads=args.threads,
        for_gui=False,
        seed=seed,
        draft=args.draft,
    )
