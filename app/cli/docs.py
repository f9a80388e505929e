"""``qwq-desktop docs ...``: add, search, list, update and remove document collections.

Wire into the main parser with ``add_docs_parser(subparsers)``; the parsed namespace's
``func(args)`` runs the command and returns the exit code. Standalone: ``python -m
app.cli.docs list``. Progress and errors go to stderr, results to stdout. Exit codes: 0 done
(for ``add``/``update``: every file indexed or reported), 1 a run-wide failure (embedder,
disk), 2 a usage problem (unknown collection, wrong embedder), 130 interrupted (files finished
before stay indexed). The index lives in ``app_paths().docs_index_dir`` ($QWQ_DESKTOP_HOME).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.docs import events as ev
from app.docs.errors import CollectionNotFoundError, EmbedderMismatchError
from app.docs.fusion import METHODS
from app.docs.installed import embedder_to_offer, installed_embedder
from app.docs.library import DocsLibrary
from app.errors import UserFacingError
from app.paths import app_paths
from quantize.errors import print_error

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_docs_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``docs`` command (with its sub-commands) to a main parser's subparsers."""
    docs = subparsers.add_parser(
        "docs",
        help="index your documents and search them (document Q&A)",
        description="Document collections for grounded answers: PDF, DOCX, Markdown, HTML, "
        "text and source code, searched by BM25 and, with an embedding model, by meaning.",
    )
    sub = docs.add_subparsers(dest="docs_command", metavar="COMMAND", required=True)

    p = sub.add_parser("add", help="add files or folders to a collection and index them")
    p.add_argument("collection")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument(
        "--embedder",
        metavar="FILE.gguf",
        help="embedding model for a new collection (default: the one installed in Models, "
        "else BM25 only)",
    )
    p.set_defaults(func=guarded(cmd_add))

    p = sub.add_parser("update", help="re-index what changed in a collection's files and folders")
    p.add_argument("collection")
    p.set_defaults(func=guarded(cmd_update))

    p = sub.add_parser("search", help="the passages of a collection that best answer a question")
    p.add_argument("collection")
    p.add_argument("question")
    p.add_argument("--k", type=int, default=5, help="how many passages (default 5)")
    p.add_argument("--method", choices=METHODS, default="hybrid", help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=guarded(cmd_search))

    p = sub.add_parser("list", help="collections with their files and sizes")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=guarded(cmd_list))

    p = sub.add_parser("remove", help="delete a collection, or take a file or folder out of it")
    p.add_argument("collection")
    p.add_argument("path", nargs="?", metavar="PATH")
    p.set_defaults(func=guarded(cmd_remove))
    return docs


def open_library() -> DocsLibrary:
    return DocsLibrary(app_paths().ensure().docs_index_dir)


class _Progress:
    """One line per file on stderr."""

    def __init__(self) -> None:
        self.failed = 0

    def __call__(self, event: ev.IndexEvent) -> None:
        if isinstance(event, ev.IndexingStarted):
            print(
                f"{event.collection}: {event.to_index} file(s) to index, "
                f"{event.unchanged} unchanged",
                file=sys.stderr,
            )
        elif isinstance(event, ev.FileIndexed):
            what = f"{event.chunks} chunks" if event.content_changed else "unchanged"
            pages = f", {event.pages} pages" if event.pages else ""
            print(f"  indexed {event.path} ({what}{pages})", file=sys.stderr)
        elif isinstance(event, ev.FileFailed):
            self.failed += 1
            print(f"  skipped {event.path}: {event.error.text()}", file=sys.stderr)
        elif isinstance(event, ev.FileRemoved):
            print(f"  removed {event.path} (gone from disk)", file=sys.stderr)
        elif isinstance(event, ev.IndexingFinished):
            s = event.summary
            print(
                f"{event.collection}: {s.indexed} indexed, {s.unchanged} unchanged, "
                f"{len(s.failed)} skipped, {s.removed} removed in {s.seconds:.1f} s",
                file=sys.stderr,
            )


def _index(library: DocsLibrary, name: str) -> int:
    collection = library.get(name)
    control = ev.IndexControl()
    try:
        collection.index(library.embedder_for(collection), control, _Progress())
    except KeyboardInterrupt:
        control.cancel()
        return EXIT_INTERRUPTED
    return EXIT_OK


def cmd_add(args: argparse.Namespace) -> int:
    """Create the collection if needed, add the paths and index what changed."""
    with open_library() as library:
        if library.exists(args.collection):
            collection = library.get(args.collection)
            if args.embedder:
                wanted = library.embedder(args.embedder)
                current = collection.embedder_info
                if current is None or current.sha256 != wanted.info.sha256:
                    collection.set_embedder(wanted.info)  # refused once files are indexed
        else:
            collection = library.create(args.collection, args.embedder or installed_embedder())
            if collection.embedder_info is None:
                _hint_embedder()
        collection.add(args.paths)
        return _index(library, collection.name)


def _hint_embedder() -> None:
    """One stderr line naming the command that gets the catalogue's embedder, when it is not
    installed (new collections use it once it is)."""
    offer = embedder_to_offer()
    if offer is not None:
        print(
            f"Keyword search only: for search by meaning, run `qwq-desktop models download "
            f"{offer.id}` ({offer.approx_size_bytes // 1_000_000} MB); new collections use it.",
            file=sys.stderr,
        )


def cmd_update(args: argparse.Namespace) -> int:
    with open_library() as library:
        return _index(library, library.get(args.collection).name)


def cmd_search(args: argparse.Namespace) -> int:
    with open_library() as library:
        collection = library.get(args.collection)
        embedder = library.embedder_for(collection, required=False)
        if collection.embedder_info is not None and embedder is None:
            print(
                f"warning: {collection.embedder_info.path} is missing; searching by BM25 only",
                file=sys.stderr,
            )
        hits = collection.search(args.question, max(1, args.k), embedder, args.method)
        if args.json:
            print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
            return EXIT_OK
        if not hits:
            print("No passage matches.")
        for rank, hit in enumerate(hits, 1):
            page = f", page {hit.page}" if hit.page else ""
            print(f"[{rank}] {hit.file}{page}  (score {hit.score:.3f})")
            print("    " + " ".join(hit.text.split())[:300])
        return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    with open_library() as library:
        rows = [library.get(name).stats() for name in library.names()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        print("No collections yet: qwq-desktop docs add NAME FOLDER")
    for row in rows:
        failed = f", {row['failed']} skipped" if row["failed"] else ""
        print(
            f"{row['name']}: {row['indexed']} file(s){failed}, {row['chunks']} chunks, "
            f"{row['index_bytes'] / 1e6:.1f} MB, {row['embedder'] or 'BM25 only'}"
        )
    return EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    with open_library() as library:
        if args.path is None:
            library.delete(args.collection)
            _forget_in_conversations(args.collection)
            print(f"Deleted collection {args.collection}", file=sys.stderr)
        else:
            removed = library.get(args.collection).remove(args.path)
            print(f"Removed {removed} file(s) from {args.collection}", file=sys.stderr)
    return EXIT_OK


def _forget_in_conversations(name: str) -> None:
    """Detach a deleted collection from the conversations that used it (if a history exists)."""
    db = app_paths().conversations_db
    if not Path(db).exists():
        return
    from app.store import ConversationStore

    with ConversationStore.open(db) as store:
        store.forget_collection(name)


def guarded(command):
    """Expected errors become a message on stderr and an exit code."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (CollectionNotFoundError, EmbedderMismatchError) as exc:
            print_error(exc, hint_label="try")
            return EXIT_USAGE
        except UserFacingError as exc:
            print_error(exc, hint_label="try")
            return EXIT_ERROR

    run.__name__ = run.__qualname__ = command.__name__
    run.__doc__ = command.__doc__
    return run


def main(argv: list[str] | None = None) -> int:
    """``python -m app.cli.docs COMMAND ...`` (the same as ``qwq-desktop docs ...``)."""
    parser = argparse.ArgumentParser(prog="qwq-desktop")
    add_docs_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["docs", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
