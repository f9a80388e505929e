"""The GUI benchmark's long-code scenario: a reply with an N-line code block streamed at full
speed into the real window (``bench_gui.py --code-lines N``).

Two measures, in one window: the cost of each flush (the chat's 25 ms timer applies what
arrived, then Qt lays out and paints; driven flush by flush, so nothing else is timed), and the
lateness of a 10 ms probe timer while the same reply streams from another thread at the same
rate through the real ``StreamBuffer``.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

FULL_SPEED = 1000  # tokens/s, 4 characters each: faster than a CPU decodes any chat model
TOKEN_CHARS = 4

_BODY = [
    "def {name}(rows, limit={n}):",
    '    """Sum the amounts of the rows whose key is below {n}."""',
    "    total = 0.0",
    "    for row in rows:  # one pass, no copies",
    '        if row["key"] < limit and row.get("flag", "") != "skip":',
    '            total += float(row["amount"]) * {factor}',
    '    return round(total, 2), f"{{len(rows)}} rows from {name}"',
    "",
]


def code_reply(lines: int) -> str:
    """A Markdown reply whose Python code block has ``lines`` lines."""
    code = []
    i = 0
    while len(code) < lines:
        for template in _BODY:
            code.append(template.format(name=f"step_{i}", n=i * 7 % 100, factor=1 + i % 3))
        i += 1
    body = "\n".join(code[:lines])
    return (
        "Here is the whole script; each step is a small pure function:\n\n"
        f"```python\n{body}\n```\n\nRun it with `python steps.py data.csv`.\n"
    )


def make_relay(target):
    """A GUI-thread object whose ``pieces`` signal, emitted from any thread, calls ``target``
    in the GUI thread (as the worker's signals do)."""
    from PySide6.QtCore import QObject, Signal, Slot

    class Relay(QObject):
        pieces = Signal(object)

        def __init__(self, target) -> None:
            super().__init__()
            self.target = target
            self.pieces.connect(self.deliver)

        @Slot(object)
        def deliver(self, pieces) -> None:
            self.target(pieces)

    return Relay(target)


def _pieces(text: str) -> list[tuple[str, str]]:
    return [("answer", text[j : j + TOKEN_CHARS]) for j in range(0, len(text), TOKEN_CHARS)]


def _percentiles(values: list[float]) -> dict:
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 2)

    return {"p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": round(max(values), 2)}


def _stream_window(make_window, home: Path):
    app, window, store = make_window(home)
    conv = store.create_conversation("bench")
    store.add_message(conv.id, "user", "Write the script.")
    store.add_message(conv.id, "assistant", "", status="streaming")
    window.refresh_conversations()
    window.open_conversation(conv.id)
    widget = window.chat_view.last_widget()
    widget.begin_stream()
    return app, window, store, widget


def flush_costs(make_window, lines: int, rate: int = FULL_SPEED) -> dict:
    """Time each flush (apply what arrived in 25 ms, then layout and paint) of the reply."""
    from app.ui.chat.chat_controller import FLUSH_INTERVAL_MS

    text = code_reply(lines)
    per_flush = rate * FLUSH_INTERVAL_MS // 1000 * TOKEN_CHARS
    code_start = text.index("```python\n") + len("```python\n")
    with tempfile.TemporaryDirectory() as tmp:
        app, window, store, widget = _stream_window(make_window, Path(tmp) / "home")
        try:
            stream = window.controller._stream
            stream.start(widget)
            stream._timer.stop()  # flushed here, one at a time
            app.processEvents()
            samples: list[tuple[int, float]] = []  # (code line reached, ms)
            for i in range(0, len(text), per_flush):
                piece = text[i : i + per_flush]
                stream.add(_pieces(piece))
                started = time.perf_counter()
                stream.flush()
                app.processEvents()
                elapsed = (time.perf_counter() - started) * 1000
                samples.append((text.count("\n", code_start, i + per_flush), elapsed))
            stream.stop()
            started = time.perf_counter()
            widget.end_stream("complete", None)
            app.processEvents()
            merge_ms = (time.perf_counter() - started) * 1000
            shown = widget.answer.source == text
        finally:
            window.shutdown()
            window.close()
            store.close()
    in_code = [ms for line, ms in samples if 0 < line <= lines]
    early = [ms for line, ms in samples if 0 < line <= 50]
    late = [ms for line, ms in samples if lines - 50 < line <= lines]
    return {
        "lines": lines,
        "flushes": len(in_code),
        "chars_per_flush": per_flush,
        **_percentiles(in_code),
        "median_first_50_lines_ms": round(statistics.median(early), 2),
        "median_last_50_lines_ms": round(statistics.median(late), 2),
        "final_merge_ms": round(merge_ms, 1),
        "complete": shown,
    }


def probe_lateness(make_window, probe_cls, lines: int, rate: int = FULL_SPEED) -> dict:
    """Probe lateness while the reply streams from another thread through the real timer."""
    text = code_reply(lines)
    with tempfile.TemporaryDirectory() as tmp:
        app, window, store, widget = _stream_window(make_window, Path(tmp) / "home")
        try:
            window.controller._stream.start(widget)
            relay = make_relay(window.controller._stream.add)
            batch = max(1, rate * 16 // 1000)  # the worker yields a batch every ~16 ms

            def produce() -> None:
                step = batch * TOKEN_CHARS
                for i in range(0, len(text), step):
                    piece = text[i : i + step]
                    relay.pieces.emit(_pieces(piece))
                    time.sleep(batch / rate)

            producer = threading.Thread(target=produce)
            producer.start()
            seconds = len(text) / TOKEN_CHARS / rate + 0.3
            result = probe_cls().run(app, seconds)
            producer.join()
            window.controller._stream.stop()
            result["chars_streamed"] = len(widget.answer.source)
            widget.end_stream("complete", None)
        finally:
            window.shutdown()
            window.close()
            store.close()
    return result


def bench_code_stream(make_window, probe_cls, lines: int, rounds: int = 3) -> dict:
    """Flush costs and probe lateness for an ``lines``-line code block, ``rounds`` times each
    (alternating); the round with the median p99 is reported, with the spread of p99."""
    flushes, probes = [], []
    for _ in range(rounds):
        flushes.append(flush_costs(make_window, lines))
        probes.append(probe_lateness(make_window, probe_cls, lines))
    flush = sorted(flushes, key=lambda r: r["p99_ms"])[len(flushes) // 2]
    probe = sorted(probes, key=lambda r: r["p99_ms"])[len(probes) // 2]
    flush["p99_all_rounds_ms"] = [r["p99_ms"] for r in flushes]
    probe["p99_all_rounds_ms"] = [r["p99_ms"] for r in probes]
    return {"flush": flush, "probe": probe, "rounds": rounds}


def code_rows(r: dict) -> list[tuple[str, str]]:
    """Rows of the GUI table for the code scenario."""
    f, p = r["flush"], r["probe"]
    spread = " / ".join(f"{x:g}" for x in sorted(f["p99_all_rounds_ms"]))
    probe_spread = " / ".join(f"{x:g}" for x in sorted(p["p99_all_rounds_ms"]))
    return [
        (
            f"Streaming a {f['lines']}-line code block at full speed ({FULL_SPEED} tokens/s, "
            f"{f['chars_per_flush']} chars per 25 ms flush): one flush + layout + paint "
            f"({f['flushes']} flushes; median round of {r['rounds']})",
            f"p50 {f['p50_ms']} ms · **p99 {f['p99_ms']} ms** · max {f['max_ms']} ms "
            f"(p99 of the rounds: {spread} ms)",
        ),
        (
            "Same flushes, median cost at lines 1–50 vs the last 50 lines",
            f"{f['median_first_50_lines_ms']} ms vs {f['median_last_50_lines_ms']} ms",
        ),
        (
            f"Event-loop lateness, 10 ms probe, the same reply streaming from a thread "
            f"({p['chars_streamed']:,} chars)",
            f"p50 {p['p50_ms']} ms · **p99 {p['p99_ms']} ms** · max {p['max_ms']} ms "
            f"(p99 of the rounds: {probe_spread} ms)",
        ),
        (
            f"Rendering the {f['lines']}-line reply again in one view at its end (once)",
            f"{f['final_merge_ms']} ms",
        ),
    ]
