"""`qwq-desktop serve --model FILE`: the model behind an OpenAI-compatible API on this computer.

Listens on 127.0.0.1 unless ``--host`` says otherwise (then an API key is required). Prints the
base URL on standard output once listening, then one line per request on standard error.
Ctrl+C (or SIGTERM) stops the turns running, closes the connections and frees the model.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from dataclasses import replace

from app.engine import ChatEngine, EngineError
from app.errors import AppError
from app.server import DEFAULT_PORT, ApiServer, RequestRecord, ServerConfig

from .support import add_load_arguments, load_options, report_error

KEY_VARIABLE = "QWQ_DESKTOP_API_KEY"


def add_serve_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve", help="serve a GGUF model through an OpenAI-compatible API (127.0.0.1 by default)"
    )
    p.add_argument("--model", required=True, help="path of a .gguf chat model")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0 picks a free one"
    )
    p.add_argument(
        "--api-key",
        default=os.environ.get(KEY_VARIABLE) or None,
        help=f"key clients must send as 'Authorization: Bearer KEY' (or set {KEY_VARIABLE}); "
        "required with a --host beyond this computer",
    )
    p.add_argument("--embedding-model", help="an embedding .gguf to serve /v1/embeddings with")
    p.add_argument("--model-id", help="the name clients use (default: the file name)")
    p.add_argument("--max-waiting", type=int, default=4, help="requests that may queue (4)")
    p.add_argument(
        "--queue-wait", type=float, default=60.0, help="seconds a request may queue (60)"
    )
    p.add_argument("--max-tokens", type=int, default=None, help="default reply length")
    p.add_argument(
        "--thinking-budget", type=int, default=None, help="default thinking tokens before answer"
    )
    add_load_arguments(p)
    p.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    try:
        return _serve(args)
    except AppError as exc:
        return report_error(exc)


def _serve(args: argparse.Namespace) -> int:
    config = ServerConfig(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        max_waiting=args.max_waiting,
        queue_wait_s=args.queue_wait,
        model_id=args.model_id,
    )
    config.check()  # before loading a model of many gigabytes
    options = load_options(args)
    engine = ChatEngine.load(args.model, options)
    embeddings = None
    try:
        if args.embedding_model:
            from app.server.embeddings import RawEmbedder

            embeddings = RawEmbedder(args.embedding_model)
        changes = {"max_tokens": args.max_tokens, "thinking_budget": args.thinking_budget}
        defaults = replace(
            engine.default_sampling(), **{k: v for k, v in changes.items() if v is not None}
        )
        config.default_params = defaults
        server = ApiServer(engine, config, embeddings=embeddings, on_request=_print_record)
        return _run_until_stopped(server)
    finally:
        if embeddings is not None:
            embeddings.close()
        engine.close()


def _run_until_stopped(server: ApiServer) -> int:
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    try:
        if not server.wait_started():
            raise server.error or EngineError("The API server did not start", "try again")
        print(f"Serving {server.model_id} at {server.url}", flush=True)
        key = " with the API key" if server.config.api_key else ""
        print(f"Clients: base_url={server.url}{key}. Ctrl+C stops.", file=sys.stderr, flush=True)
        while server.running and not stop.is_set():
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        print("Stopping…", file=sys.stderr, flush=True)
        server.stop()
        signal.signal(signal.SIGTERM, previous)
    if server.error is not None:
        return report_error(server.error)
    return 0


def _print_record(record: RequestRecord) -> None:
    if not record.finished:
        return
    line = (
        f"{time.strftime('%H:%M:%S', time.localtime(record.started_at))} {record.client} "
        f"{record.method} {record.path} {record.status} {record.duration_s:.2f}s"
    )
    if record.completion_tokens is not None:
        line += f" {record.prompt_tokens}+{record.completion_tokens} tokens ({record.stop_reason})"
    if record.error:
        line += f" - {record.error}"
    print(line, file=sys.stderr, flush=True)
