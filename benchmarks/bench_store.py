"""Benchmark the conversation store: start-up with a large history, listing, streaming saves,
loading a long conversation and search.

    .venv/bin/python benchmarks/bench_store.py [--conversations 1000] [--update-docs]

Builds a throw-away database in a temporary folder. ``--update-docs`` rewrites the store's
section of docs/performance.md (between its BEGIN/END markers) with the results.
"""

from __future__ import annotations

import argparse
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.store import ConversationStore, StreamingSaver  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs" / "performance.md"
BEGIN, END = "<!-- BEGIN store -->", "<!-- END store -->"
WORDS = [
    "the",
    "model",
    "thinks",
    "about",
    "paris",
    "lighthouse",
    "python",
    "sqlite",
    "window",
    "answer",
    "reason",
    "token",
]


def _text(i: int, n_words: int = 60) -> str:
    """Deterministic filler text: message i gets its own mix of WORDS and a few numbers."""
    rng = random.Random(i)
    return " ".join(
        rng.choice(WORDS) if k % 6 else str(rng.randrange(100_000)) for k in range(n_words)
    )


def _timed(fn, repeat: int) -> tuple[float, float]:
    """Median and max wall time of ``fn`` in milliseconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), max(samples)


def build_history(path: Path, conversations: int, per_conversation: int) -> tuple[int, int]:
    """Fill a store; return (an empty conversation's id, a 1,000-message conversation's id)."""
    with ConversationStore.open(path) as store:
        for c in range(conversations):
            conv = store.create_conversation(f"Conversation {c}")
            with store._db.transaction():  # one transaction per conversation: fast set-up
                for m in range(per_conversation):
                    role = "user" if m % 2 == 0 else "assistant"
                    store.add_message(conv.id, role, _text(c * 31 + m), thinking=_text(m, 20))
        long_conv = store.create_conversation("Long conversation")
        with store._db.transaction():
            for m in range(1000):
                store.add_message(long_conv.id, "user" if m % 2 == 0 else "assistant", _text(m))
        empty = store.create_conversation("Empty conversation")
        return empty.id, long_conv.id


def _streaming_flush_ms(store: ConversationStore, conv_id: int, reply_chars: int) -> float:
    """Median cost of one periodic save of a reply of ``reply_chars`` characters."""
    reply = store.add_message(conv_id, "assistant", "", status="streaming")
    text = (_text(1, 10_000))[:reply_chars]
    step = max(1, reply_chars // 50)
    samples = []
    for end in range(step, reply_chars + 1, step):
        start = time.perf_counter()
        store.update_message(reply.id, content=text[:end])
        samples.append((time.perf_counter() - start) * 1000)
    store.update_message(reply.id, status="complete")
    return statistics.median(samples)


def run(conversations: int) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "conversations.sqlite3"
        start = time.perf_counter()
        empty_id, long_id = build_history(path, conversations, per_conversation=20)
        n_messages = conversations * 20 + 1000
        build_s = time.perf_counter() - start
        size_mb = path.stat().st_size / 1e6
        rows.append(
            (
                "History used",
                f"{conversations:,} conversations × 20 messages + one of 1,000 "
                f"({n_messages:,} messages, {size_mb:.0f} MB, built in {build_s:.1f} s)",
            )
        )

        def open_and_list() -> None:
            with ConversationStore.open(path) as store:
                store.list_conversations()

        med, worst = _timed(open_and_list, 20)
        rows.append(("Open the store + list all conversations", f"{med:.1f} ms (max {worst:.1f})"))

        with ConversationStore.open(path) as store:
            med, worst = _timed(store.list_conversations, 50)
            rows.append((f"list_conversations() ({conversations + 2:,})", f"{med:.2f} ms"))
            med, _ = _timed(lambda: store.messages(long_id), 20)
            rows.append(("messages() of a 1,000-message conversation", f"{med:.1f} ms"))
            for query in ("paris", "lighth", "python window reason", "1234"):
                med, _ = _timed(lambda q=query: store.search(q), 20)
                hits = len(store.search(query))
                rows.append((f"search({query!r}) → {hits} hits", f"{med:.1f} ms"))
            for chars in (2_000, 20_000):
                empty_ms = _streaming_flush_ms(store, empty_id, chars)
                long_ms = _streaming_flush_ms(store, long_id, chars)
                rows.append(
                    (
                        f"One streaming save, {chars:,}-char reply: empty vs 1,000-message chat",
                        f"{empty_ms:.2f} ms vs {long_ms:.2f} ms ({long_ms / empty_ms:.2f}×)",
                    )
                )
            reply = store.add_message(empty_id, "assistant", "", status="streaming")
            saver = StreamingSaver(store, reply.id)
            n = 100_000
            start = time.perf_counter()
            for _i in range(n):
                saver.append("answer", "tok ")
            append_us = (time.perf_counter() - start) / n * 1e6
            saver.finish()
            rows.append(("StreamingSaver.append() per token", f"{append_us:.2f} µs"))
    return rows


def render(rows: list[tuple[str, str]]) -> str:
    lines = [
        "## Conversation store",
        "",
        f"`benchmarks/bench_store.py` on {platform.machine()}, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version} "
        f"({time.strftime('%Y-%m-%d')}). Medians.",
        "",
        "| Measure | Result |",
        "|---|---|",
        *[f"| {name} | {value} |" for name, value in rows],
    ]
    return "\n".join(lines)


def update_docs(section: str) -> None:
    block = f"{BEGIN}\n{section}\n{END}"
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Performance\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--update-docs", action="store_true", help="write docs/performance.md")
    args = parser.parse_args()
    section = render(run(args.conversations))
    print(section)
    if args.update_docs:
        update_docs(section)


if __name__ == "__main__":
    main()
