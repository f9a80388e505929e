"""``qwq-desktop models ...``: list, download, verify, remove, recommend, import, search, login.

Wire into the main parser with ``add_models_parser(subparsers)``; the parsed namespace's
``func(args)`` runs the command and returns the exit code (expected errors are printed to
stderr as one readable line, not raised). Standalone: ``python -m app.cli.models list``.
The work is the model manager's (``app.models``); this module parses and prints.
Progress goes to stderr, results to stdout. Exit codes: 0 success (for ``download`` only
when the sha256 matched), 1 other error, 3 offline, 4 checksum mismatch, 5 disk full,
6 access denied (gated/private), 7 not found, 130 interrupted (a download is kept to resume).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from app.docs.catalogue import find_embedder_entry
from app.engine import probe_hardware
from app.errors import UserFacingError, as_user_error
from app.models.catalogue import load_catalogue
from app.models.drafts import draft_to_offer, installed_as
from app.models.errors import ModelNotInstalledError, ModelsError, VerificationFailedError
from app.models.hub_token import (
    TokenInputError,
    forget_token,
    hub_token,
    read_token,
    remember_token,
)
from app.models.install import adopt_found_models, import_gguf, install_download, verify_model
from app.models.recommend import hypothetical_hardware, recommend
from app.models.registry import ModelRegistry
from app.sizes import format_bytes
from quantize.cli import add_token_arguments
from quantize.errors import print_error
from quantize.hub import (
    ChecksumMismatchError,
    DownloadProgress,
    HubAuthError,
    HubNotFoundError,
    HubOfflineError,
    InsufficientDiskSpaceError,
    list_repo_files,
    search_models,
)

EXIT_OK, EXIT_ERROR, EXIT_OFFLINE, EXIT_CHECKSUM = 0, 1, 3, 4
EXIT_DISK, EXIT_AUTH, EXIT_NOT_FOUND, EXIT_INTERRUPTED = 5, 6, 7, 130


def add_models_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``models`` command (with its sub-commands) to a main parser's subparsers."""
    models = subparsers.add_parser(
        "models",
        help="list, download, verify, remove and recommend models",
        description="Manage GGUF models. Honours HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE; a "
        "token given to `models login` is kept in the system keyring.",
    )
    sub = models.add_subparsers(dest="models_command", metavar="COMMAND", required=True)

    p = sub.add_parser("list", help="installed models")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=guarded(cmd_list))

    p = sub.add_parser("download", help="download a GGUF file from the Hub, verified by sha256")
    p.add_argument(
        "repo",
        help="repository, e.g. Qwen/QwQ-32B-GGUF, or a catalogue id such as qwq-32b (or the "
        "embedding model bge-small-en-v1.5-f16)",
    )
    p.add_argument(
        "file", nargs="?", help="file in the repository, e.g. qwq-32b-q4_k_m.gguf (not with an id)"
    )
    p.add_argument(
        "--with-draft",
        action="store_true",
        help="also download the catalogue's draft model for it (faster replies: --draft FILE)",
    )
    p.add_argument("--revision", default="main", help="branch, tag or commit (default main)")
    p.add_argument("--sha256", help="expected sha256 (must agree with the Hub's)")
    add_token_arguments(
        p,
        "read a Hugging Face token for this download from standard input (default: "
        "$HF_TOKEN, else the one kept by `models login`)",
    )
    p.set_defaults(func=guarded(cmd_download))

    p = sub.add_parser(
        "login", help="keep a Hugging Face token in the system keyring (read from stdin)"
    )
    p.set_defaults(func=guarded(cmd_login))
    p = sub.add_parser("logout", help="forget the Hugging Face token kept in the keyring")
    p.set_defaults(func=guarded(cmd_logout))

    p = sub.add_parser("verify", help="re-check an installed model's file and sha256")
    p.add_argument("name")
    p.set_defaults(func=guarded(cmd_verify))

    p = sub.add_parser("remove", help="remove an installed model (deletes files the app owns)")
    p.add_argument("name")
    p.add_argument("--keep-file", action="store_true", help="only forget it; keep the file")
    p.set_defaults(func=guarded(cmd_remove))

    p = sub.add_parser("recommend", help="the catalogue model and settings for this machine")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--ram-gb", type=float, help="plan for a machine with this much RAM instead")
    p.add_argument(
        "--gpu",
        choices=["cpu", "metal", "cuda", "rocm", "vulkan"],
        help="with --ram-gb: the GPU of that machine",
    )
    p.add_argument("--vram-gb", type=float, help="with --gpu cuda/rocm/vulkan: its memory")
    p.set_defaults(func=guarded(cmd_recommend))

    p = sub.add_parser("import", help="add a GGUF file you already have (checked first)")
    p.add_argument("path")
    p.add_argument(
        "--copy",
        action="store_true",
        help="copy it into the models folder (default: use it where it is)",
    )
    p.add_argument("--name", help="name to list it under")
    p.set_defaults(func=guarded(cmd_import))

    p = sub.add_parser("search", help="search the Hub for GGUF repositories by name")
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=guarded(cmd_search))

    p = sub.add_parser("files", help="the GGUF files of a Hub repository")
    p.add_argument("repo")
    p.add_argument("--revision", default="main")
    p.set_defaults(func=guarded(cmd_files))
    return models


# -- commands ------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    registry = ModelRegistry()
    adopt_found_models(registry)  # verified files a crash left unrecorded
    models = registry.list()
    if args.json:
        print(json.dumps([m.to_dict() | {"exists": m.exists} for m in models], indent=2))
        return EXIT_OK
    if not models:
        print("No models installed. Try `qwq-desktop models recommend`.")
        return EXIT_OK
    print(f"{'NAME':28} {'QUANT':8} {'SIZE':>9} {'CONTEXT':>8}  PATH")
    for m in models:
        missing = "  (file missing)" if not m.exists else ""
        print(
            f"{m.name:28} {m.quant:8} {format_bytes(m.size_bytes):>9} {m.context_length:>8}  "
            f"{m.path}{missing}"
        )
    catalogue = load_catalogue()
    for m in models:
        draft = draft_to_offer(catalogue, models, m)
        if draft is not None:
            print(f"Faster replies from {m.name}: {draft_offer(draft)}")
    return EXIT_OK


def cmd_download(args: argparse.Namespace) -> int:
    catalogue = load_catalogue()
    repo, file = args.repo, args.file
    sha256 = args.sha256
    if file is None:
        entry = catalogue.resolve(repo) or find_embedder_entry(repo)
        if entry is None:
            raise ModelsError(
                f"{repo!r} is not in the catalogue; name a repository and a file",
                "qwq-desktop models download REPO FILE, or an id from `qwq-desktop models "
                "recommend`",
            )
        repo, file = entry.repo_id, entry.filename
        sha256 = sha256 or entry.sha256
    token = read_token(sys.stdin) if args.token_stdin else None  # None: hub_token()
    registry = ModelRegistry()
    model = _download(registry, repo, file, args.revision, token, sha256)
    if model is None:
        return EXIT_INTERRUPTED
    print(f"Installed {model.name}: {model.path} (sha256 {model.sha256})")
    if not args.with_draft:
        return EXIT_OK
    entry = catalogue.find_file(repo, file)
    draft = catalogue.draft_for(entry.id) if entry is not None else None
    if draft is None:
        print(f"No draft model is known for {model.name}: replies use prompt lookup drafts.")
        return EXIT_OK
    ready = installed_as(registry.list(), draft)
    if ready is None:
        ready = _download(registry, draft.repo_id, draft.filename, "main", token, draft.sha256)
        if ready is None:
            return EXIT_INTERRUPTED
    print(f"Draft model {ready.name}: {ready.path} (use it with --draft {ready.path})")
    return EXIT_OK


def _download(registry, repo, file, revision, token, sha256):
    """install_download with a progress line; None when Ctrl+C stopped it (the part kept)."""
    printer = ProgressPrinter(sys.stderr)
    try:
        model = install_download(
            registry,
            repo,
            file,
            revision=revision,
            token=token,
            expected_sha256=sha256,
            progress=printer,
        )
    except KeyboardInterrupt:
        printer.finish()
        print(
            "Interrupted: the partial download is kept; run the same command to resume.",
            file=sys.stderr,
        )
        return None
    printer.finish()
    return model


def cmd_login(args: argparse.Namespace) -> int:
    if sys.stdin.isatty():
        import getpass

        token = getpass.getpass("Hugging Face token (not shown): ")
    else:
        token = read_token(sys.stdin)
    if not remember_token(token):
        raise TokenInputError(
            "No system keyring is available, so the token cannot be kept",
            "set HF_TOKEN in the environment, or pass it to each download with --token-stdin",
        )
    print("The Hugging Face token is kept in the system keyring.")
    return EXIT_OK


def cmd_logout(args: argparse.Namespace) -> int:
    forget_token()
    print("No Hugging Face token is kept any more.")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    printer = ProgressPrinter(sys.stderr)
    result = verify_model(
        ModelRegistry(),
        args.name,
        on_bytes=lambda done, total: printer(DownloadProgress(args.name, "checking", done, total)),
    )
    printer.finish()
    if result.recorded_now:
        print(
            f"{args.name}: readable; no published checksum was known, sha256 {result.sha256} "
            "recorded for later checks"
        )
    else:
        print(f"{args.name}: OK (sha256 {result.sha256})")
    return EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    registry = ModelRegistry()
    model = registry.remove(args.name, delete_file=False if args.keep_file else None)
    deleted = model.owns_file and not args.keep_file
    print(
        f"Removed {model.name}"
        + (f" and deleted {model.path}" if deleted else f" (file kept: {model.path})")
    )
    return EXIT_OK


def cmd_recommend(args: argparse.Namespace) -> int:
    if args.ram_gb:
        hardware = hypothetical_hardware(args.ram_gb, gpu=args.gpu, vram_gb=args.vram_gb)
    else:
        hardware = probe_hardware()
    catalogue = load_catalogue()
    rec = recommend(catalogue, hardware)
    draft = catalogue.draft_for(rec.entry.id) if rec.entry is not None else None
    if args.json:
        print(json.dumps(rec.to_dict() | {"draft": draft.to_dict() if draft else None}, indent=2))
        return EXIT_OK
    if rec.entry is None:
        print(rec.reason)
        return EXIT_OK
    settings = rec.load_settings()
    print(
        f"Recommended: {rec.entry.display_name} ({rec.entry.repo_id} {rec.entry.filename}, "
        f"about {format_bytes(rec.entry.approx_size_bytes)})"
    )
    print(f"Why:         {rec.reason}")
    print(
        f"Settings:    context {settings.n_ctx}, GPU layers {settings.n_gpu_layers}, "
        f"KV cache {settings.kv_cache_type}"
    )
    print(f"Download:    qwq-desktop models download {rec.entry.repo_id} {rec.entry.filename}")
    if draft is not None:
        print(f"Faster:      {draft_offer(draft)} (or add --with-draft above)")
    others = rec.alternatives()
    if others:
        print("Also fits:")
        for option in others:
            print(f"  {option.entry.display_name:32} {option.plan.summary()}")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    printer = ProgressPrinter(sys.stderr)
    model = import_gguf(
        ModelRegistry(),
        args.path,
        mode="copy" if args.copy else "link",
        name=args.name,
        on_bytes=lambda done, total: printer(DownloadProgress(args.path, "copying", done, total)),
    )
    printer.finish()
    print(
        f"Imported {model.name}: {model.architecture} {model.quant}, "
        f"{model.context_length} context, {model.path}"
    )
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    hits = search_models(args.query, limit=args.limit, token=hub_token())
    if not hits:
        print(f"No GGUF repositories match {args.query!r}.")
    for hit in hits:
        print(f"{hit.repo_id:60} {hit.downloads:>10,} downloads")
    return EXIT_OK


def cmd_files(args: argparse.Namespace) -> int:
    snap = list_repo_files(args.repo, args.revision, token=hub_token())
    ggufs = [f for f in snap.files if f.path.endswith(".gguf")]
    print(f"{args.repo} at {snap.commit_sha[:12]}: {len(ggufs)} GGUF file(s)")
    for f in ggufs:
        print(f"  {f.path:60} {format_bytes(f.size or 0):>9}  sha256 {f.sha256 or '-'}")
    return EXIT_OK


# -- helpers -------------------------------------------------------------------------------


def draft_offer(draft) -> str:
    """ "its draft model Qwen2.5-0.5B-Instruct Q4_K_M (0.49 GB): qwq-desktop models download
    qwen2.5-0.5b-instruct-q4_k_m"."""
    return (
        f"its draft model {draft.display_name} ({format_bytes(draft.approx_size_bytes)}): "
        f"qwq-desktop models download {draft.id}"
    )


class ProgressPrinter:
    """Prints DownloadProgress to a stream: one updating line on a terminal, else a line per
    10 % (and per phase change)."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self._last_step = -1
        self._last_phase = ""
        self._last_time = 0.0
        self._dirty = False

    def __call__(self, p: DownloadProgress) -> None:
        line = format_progress(p)
        if self.tty:
            now = time.monotonic()
            if p.phase == self._last_phase and now - self._last_time < 0.25 and p.phase != "done":
                return
            self._last_time = now
            self.stream.write("\r" + line.ljust(79)[:120])
            self._dirty = True
        else:
            step = int((p.fraction or 0) * 10)
            if p.phase == self._last_phase and step == self._last_step:
                return
            self._last_step = step
            self.stream.write(line + "\n")
        if p.phase == "retrying" and p.message:
            self.finish()
            self.stream.write(f"  retrying: {p.message}\n")
        self._last_phase = p.phase
        self.stream.flush()

    def finish(self) -> None:
        if self._dirty:
            self.stream.write("\n")
            self.stream.flush()
            self._dirty = False


def format_progress(p: DownloadProgress) -> str:
    """ "qwq.gguf  downloading  45.2%  8.98/19.85 GB  52.3 MB/s  3m28s left"."""
    parts = [p.filename, p.phase]
    if p.total:
        parts.append(f"{100 * p.done / p.total:5.1f}%")
        parts.append(f"{format_bytes(p.done)}/{format_bytes(p.total)}")
    else:
        parts.append(format_bytes(p.done))
    if p.speed:
        parts.append(f"{format_bytes(int(p.speed))}/s")
    if p.eta is not None and p.phase == "downloading":
        parts.append(f"{format_duration(p.eta)} left")
    return "  ".join(parts)


def format_duration(seconds: float) -> str:
    """ "3h05m", "3m28s", "12s"."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def exit_code_for(error: BaseException) -> int:
    """The documented exit code for an error."""
    for kind, code in (
        (ChecksumMismatchError, EXIT_CHECKSUM),
        (VerificationFailedError, EXIT_CHECKSUM),
        (HubOfflineError, EXIT_OFFLINE),
        (InsufficientDiskSpaceError, EXIT_DISK),
        (HubAuthError, EXIT_AUTH),
        (HubNotFoundError, EXIT_NOT_FOUND),
        (ModelNotInstalledError, EXIT_NOT_FOUND),
    ):
        if isinstance(error, kind):
            return code
    return EXIT_ERROR


def guarded(command):
    """Wrap a command so that expected errors become a message on stderr and an exit code."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (UserFacingError, OSError) as exc:  # Hub, model-manager and engine errors
            error = as_user_error(exc, f"running `models {args.models_command}`")
            print_error(error, hint_label="try")
            return exit_code_for(error)

    run.__name__ = run.__qualname__ = command.__name__
    run.__doc__ = command.__doc__
    return run


def main(argv: list[str] | None = None) -> int:
    """``python -m app.cli.models COMMAND ...`` (the same as ``qwq-desktop models ...``)."""
    parser = argparse.ArgumentParser(prog="qwq-desktop")
    add_models_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["models", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
