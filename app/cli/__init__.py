"""`qwq-desktop`: the GUI (no subcommand), terminal chat, model info and the model manager.

One package for the whole command line: ``main`` (this module) parses the arguments and hands
each command to its module: ``chat`` (terminal chat), ``info`` (a model's facts and memory
plan), ``models`` (list, download, verify, remove, recommend, import, search, files), ``docs``
(document collections: add, update, search, list, remove), and
``quantize`` (the quantisation tool's own CLI, ``quantize.cli``). ``support`` prints errors.
No subcommand starts the desktop app (``app.ui.launch.run_gui``). ``python -m app.cli`` and
``python -m app`` are the same command.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from app import __version__
from app.paths import app_paths, private_files


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qwq-desktop",
        description="Private, offline chat with QwQ-32B and other GGUF models.",
    )
    parser.add_argument("--version", action="version", version=f"qwq-desktop {__version__}")
    parser.add_argument("--model", help="GGUF file to open in the desktop app")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation (llama.cpp, a tiny model, the store, the window); exit 0/1",
    )
    parser.add_argument(
        "--json", dest="self_test_json", action="store_true", help="with --self-test: JSON report"
    )
    parser.add_argument("--self-test-window", action="store_true", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    from .chat import add_chat_parser
    from .docs import add_docs_parser
    from .info import add_info_parser
    from .models import add_models_parser
    from .serve import add_serve_parser

    add_chat_parser(sub)
    add_docs_parser(sub)
    add_info_parser(sub)
    add_models_parser(sub)
    add_serve_parser(sub)
    quantize = sub.add_parser(
        "quantize",
        help="run the quantisation tool (same as qwq-quantize; works inside the packaged app)",
        add_help=False,
    )
    quantize.add_argument("quantize_args", nargs=argparse.REMAINDER)
    quantize.set_defaults(handler=_run_quantize)
    return parser


def _run_quantize(args: argparse.Namespace) -> int:
    from quantize.cli import main as quantize_main

    return int(quantize_main(args.quantize_args) or 0)


def desktop_argv(argv: list[str]) -> list[str]:
    """``qwq-desktop FILE.gguf`` (how the desktop entry opens a file) means ``--model FILE``."""
    if argv[:1] and argv[0].lower().endswith(".gguf") and not argv[0].startswith("-"):
        return ["--model", *argv]
    return argv


def _secure_folders() -> None:
    """The app's folders user-only (0700), looser ones tightened; one that cannot be created
    is reported by the command that needs it."""
    with contextlib.suppress(OSError):
        app_paths().ensure()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `qwq-desktop` command."""
    argv = desktop_argv(sys.argv[1:] if argv is None else argv)
    private_files()  # what this process writes is the user's alone (umask 077, POSIX)
    if argv[:1] == ["quantize"]:  # everything after it belongs to the quantisation tool
        return _run_quantize(argparse.Namespace(quantize_args=argv[1:]))
    parser = build_parser()
    args = parser.parse_args(argv)
    _secure_folders()
    if args.self_test:
        from app.selftest import run_self_test

        return run_self_test(as_json=args.self_test_json)
    if args.self_test_window:
        from app.ui.startup_check import run_window_check

        return run_window_check()
    if args.command is None:
        from app.ui.launch import run_gui

        return run_gui(argv, model=args.model)
    handler = getattr(args, "handler", None) or args.func
    try:
        return int(handler(args) or 0)
    except BrokenPipeError:  # e.g. `qwq-desktop info --json | head`
        sys.stderr.close()
        return 0
