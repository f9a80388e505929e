"""`qwq-desktop chat --model FILE`: streamed terminal chat, or one JSON answer (--prompt --json).

``--docs COLLECTION`` grounds ``--prompt`` in a document collection (``app.docs.answer``): the
model sees numbered sources, and the answer (JSON: ``sources``) lists them as cited.
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import threading
from dataclasses import replace
from pathlib import Path

from app.engine import (
    ChatEngine,
    ContextNotice,
    EngineError,
    SamplingParams,
    TextDelta,
    TurnFinished,
    read_model_facts,
)
from app.engine.chat_format import formatter_for, prompt_as_seen
from app.engine.sampling import preset_for
from app.errors import UserFacingError

from .support import add_load_arguments, load_options, report_error

DIM, RESET = "\033[2m", "\033[0m"


def add_chat_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chat", help="chat with a GGUF model in the terminal")
    p.add_argument("--model", required=True, help="path of a .gguf file")
    p.add_argument("--prompt", help="answer this one message and exit")
    p.add_argument("--system", default=None, help="system prompt")
    p.add_argument("--history", type=Path, help="JSON list of earlier {role, content} messages")
    p.add_argument(
        "--docs",
        metavar="COLLECTION",
        action="append",
        help="with --prompt: answer from this document collection (qwq-desktop docs add); "
        "may be given more than once",
    )
    p.add_argument(
        "--json", action="store_true", help="with --prompt: print answer, thinking, stats"
    )
    p.add_argument(
        "--print-prompt",
        action="store_true",
        help="print exactly the text the model would see, then exit",
    )
    p.add_argument("--max-tokens", type=int, default=None)
    p.add_argument(
        "--thinking-budget",
        type=int,
        default=None,
        help="thinking tokens before the engine closes </think> and lets the model answer",
    )
    add_load_arguments(p)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--min-p", type=float, default=None)
    p.add_argument("--repeat-penalty", type=float, default=None)
    p.add_argument("--presence-penalty", type=float, default=None)
    p.set_defaults(handler=run_chat)


def sampling_from_args(args: argparse.Namespace, preset: SamplingParams) -> SamplingParams:
    """The model's preset with any sampling flags given on the command line applied."""
    changes = {
        name: getattr(args, name)
        for name in (
            "max_tokens",
            "thinking_budget",
            "seed",
            "temperature",
            "top_p",
            "top_k",
            "min_p",
            "repeat_penalty",
            "presence_penalty",
        )
        if getattr(args, name) is not None
    }
    return replace(preset, **changes)


def load_history(path: Path | None) -> list[dict]:
    if path is None:
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EngineError(
            f"Cannot read history file {path}: {exc}",
            'give a JSON list of {"role", "content"} objects',
        ) from exc
    if not isinstance(data, list) or not all(
        isinstance(m, dict)
        and m.get("role") in ("system", "user", "assistant")
        and isinstance(m.get("content"), str)
        for m in data
    ):
        raise EngineError(
            f"History file {path} is not a list of {{role, content}} messages",
            "roles are system, user or assistant; content is text",
        )
    return data


def run_chat(args: argparse.Namespace) -> int:
    try:
        return _run_chat(args)
    except UserFacingError as exc:
        return report_error(exc)


def _check_docs(args: argparse.Namespace) -> None:
    """Refuse --docs without --prompt, or naming a collection that does not exist (before the
    model is loaded)."""
    if not args.docs:
        return
    if args.prompt is None:
        raise EngineError("--docs needs --prompt", 'add --prompt "your question"')
    with _open_library() as library:
        for name in args.docs:
            library.get(name)  # CollectionNotFoundError names the collections there are


def _open_library():
    from app.docs import DocsLibrary
    from app.paths import app_paths

    return DocsLibrary(app_paths().ensure().docs_index_dir)


def _grounded(args: argparse.Namespace, history: list[dict], n_ctx: int):
    """The messages for ``--prompt`` grounded in ``--docs`` and their context (sources)."""
    from app.docs.answer import context_budget, grounded_messages, history_tokens, prepare_context

    budget = context_budget(n_ctx, history_tokens(history), args.max_tokens or 4096)
    with _open_library() as library:
        context = prepare_context(library, args.docs, args.prompt, budget)
    if context.notice:
        print(context.notice, file=sys.stderr)
    return grounded_messages(history, context), context


def _run_chat(args: argparse.Namespace) -> int:
    history = load_history(args.history)
    if args.system is not None:
        history = [m for m in history if m["role"] != "system"]
        history.insert(0, {"role": "system", "content": args.system})
    _check_docs(args)
    if args.print_prompt:
        facts = read_model_facts(args.model)
        messages = history + ([{"role": "user", "content": args.prompt}] if args.prompt else [])
        if args.docs:
            messages = _grounded(args, history, args.ctx or facts.context_length)[0]
        rendered = formatter_for(facts).render(messages, add_generation_prompt=bool(args.prompt))
        sys.stdout.write(prompt_as_seen(facts, rendered))
        sys.stdout.flush()
        return 0
    options = load_options(args, seed=args.seed)
    engine = ChatEngine.load(args.model, options)
    try:
        params = sampling_from_args(args, preset_for(engine.facts))
        if args.prompt is not None and args.docs:
            messages, context = _grounded(args, history, engine.n_ctx)
            return _answer_once(engine, messages, params, args.json, context)
        if args.prompt is not None:
            messages = [*history, {"role": "user", "content": args.prompt}]
            return _answer_once(engine, messages, params, as_json=args.json)
        return _interactive(engine, history, params)
    finally:
        engine.close()


def _stream(engine: ChatEngine, messages: list[dict], params: SamplingParams, on_event) -> object:
    """Run a turn on a worker thread; Ctrl+C in the main thread cancels the reply, not the app."""
    events: queue.Queue = queue.Queue()
    cancel = threading.Event()

    def work() -> None:
        try:
            for event in engine.stream_chat(messages, params, cancel):
                events.put(event)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            events.put(exc)

    worker = threading.Thread(target=work, name="qwq-generate", daemon=True)
    worker.start()
    while True:
        try:
            event = events.get(timeout=0.1)
        except queue.Empty:
            continue
        except KeyboardInterrupt:
            cancel.set()
            continue
        if isinstance(event, BaseException):
            worker.join()
            raise event
        on_event(event)
        if isinstance(event, TurnFinished):
            worker.join()
            return event.result


def _answer_once(engine, messages, params, as_json: bool, context=None) -> int:
    printer = None if as_json else _Printer(sys.stdout)
    result = _stream(engine, messages, params, printer.on_event if printer else lambda e: None)
    if as_json:
        data = result.to_dict()
        if context is not None:
            data["sources"] = context.sources_json()
            data["docs_notice"] = context.notice
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    printer.end(result)
    for source in context.sources if context is not None else ():
        print(f"[{source.number}] {source.label()}  (score {source.score:.3f})")
    return 0


def _interactive(engine: ChatEngine, history: list[dict], params: SamplingParams) -> int:
    print(f"{engine.facts.name} · {engine.plan.summary()}")
    print("Type a message. /reset starts over, /quit leaves. Ctrl+C stops a reply.")
    messages = list(history)
    shown_notes: set[str] = set()  # a note (a replaced template) is told once per session
    while True:
        try:
            text = input("\n> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not text:
            continue
        if text in ("/quit", "/exit"):
            return 0
        if text == "/reset":
            messages = [m for m in history if m["role"] == "system"]
            engine.reset_cache()
            print("(conversation cleared)")
            continue
        messages.append({"role": "user", "content": text})
        printer = _Printer(sys.stdout, shown_notes)
        result = _stream(engine, messages, params, printer.on_event)
        printer.end(result)
        if result.answer or result.thinking:
            content = result.answer
            if result.thinking:
                content = f"<think>\n{result.thinking}\n</think>\n\n{result.answer}"
            messages.append({"role": "assistant", "content": content})


class _Printer:
    """Prints a streamed turn: thinking dimmed and labelled, then the answer, its statistics
    and the turn's notes (those not in ``shown`` yet)."""

    def __init__(self, out, shown: set[str] | None = None) -> None:
        self.out = out
        self.shown = set() if shown is None else shown
        self.color = out.isatty()
        self.channel: str | None = None

    def on_event(self, event) -> None:
        if isinstance(event, ContextNotice):
            self.out.write(
                f"[left out {len(event.dropped_indices)} older messages to fit the "
                f"{event.n_ctx}-token context]\n"
            )
        elif isinstance(event, TextDelta):
            if event.channel != self.channel:
                self._switch(event.channel)
            self.out.write(event.text)
            self.out.flush()

    def _switch(self, channel: str) -> None:
        if channel == "thinking":
            self.out.write((DIM if self.color else "") + "Thinking: ")
        else:
            if self.channel == "thinking":
                self.out.write((RESET if self.color else "") + "\n\n")
        self.channel = channel

    def end(self, result) -> None:
        if self.channel == "thinking" and self.color:
            self.out.write(RESET)
        s = result.stats
        speed = f"{s.tokens_per_s:.1f} tok/s" if s.tokens_per_s else "-"
        ttft = f"{s.time_to_first_token_s * 1000:.0f} ms" if s.time_to_first_token_s else "-"
        note = {
            "cancelled": " · stopped",
            "length": " · max tokens reached",
            "context_full": " · context full",
        }.get(s.stop_reason, "")
        budget = " · thinking budget reached" if s.thinking_budget_hit else ""
        drafts = ""
        if s.drafted_tokens:
            drafts = f" · {s.accepted_tokens}/{s.drafted_tokens} drafted accepted"
        self.out.write(
            f"\n[{s.completion_tokens} tokens · {speed} · first token {ttft}{drafts}{note}"
            f"{budget}]\n"
        )
        for text in s.notes:
            if text not in self.shown:
                self.shown.add(text)
                self.out.write(f"[note: {text}]\n")
        self.out.flush()
