"""Soak (issue 12, item 8): replies streamed back to back through the app's engine path, with
Stop pressed at random moments; memory, threads and open files must stay flat.

    python -m tests.reliability.soak --replies 200 --seed 1 [--json]

One conversation store, one tiny real model loaded once on ``EngineSession``'s thread, and
``turns.TurnDriver`` doing what the chat does for each reply (store the message and an empty
reply, stream through ``StreamingSaver``, Stop and save what is shown). After each reply has
ended (and, after a Stop, its save) the process's resident memory, thread count and open file
descriptors are sampled (psutil), with the objects Python's garbage collector tracks. The run
fails when the last quarter of the samples is above the first quarter by more than the
tolerances in ``judge``, or when a reply failed.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

MiB = 2**20
# A new conversation every 10 replies, as a user going from chat to chat: the KV cache's pages
# touched stay those of a short conversation, so memory that grows is memory that leaks.
PER_CONVERSATION = 10
# Tolerances, last quarter against the first (figures in docs/reliability.md, "Soak"):
# memory: the median resident size may grow by 8 MiB (3 % of the ~275 MiB process): SQLite's
# page cache fills up to its 2 MiB as the database grows, and glibc's arenas and Python's free
# lists settle (+1.8 MiB over 60 replies, levelling off). A leaked model context or KV cache is
# tens of MiB, far above it; what leaks a little per reply shows in Python's objects instead:
RSS_SLACK_BYTES = 8 * MiB
# Python objects tracked by the garbage collector: +2 % (+2,000) for caches filling up; a reply,
# a Job or a saver kept alive per reply adds hundreds of objects per reply, thousands per
# quarter.
OBJECTS_SLACK_SHARE, OBJECTS_SLACK = 0.02, 2000
# threads and open files: a saver thread, a lane or a database handle leaked per reply adds one
# per reply (100 between the quarters of 200 replies); 2 leaves room for a thread still ending.
COUNT_SLACK = 2


def judge(samples: list[dict]) -> list[str]:
    """Compare the last quarter of ``samples`` (dicts of rss, threads, fds) with the first."""
    if len(samples) < 8:
        return [f"only {len(samples)} samples: too few to judge"]
    q = len(samples) // 4
    first, last = samples[:q], samples[-q:]
    problems = []
    rss0 = statistics.median(s["rss"] for s in first)
    rss1 = statistics.median(s["rss"] for s in last)
    if rss1 > rss0 + RSS_SLACK_BYTES:
        problems.append(f"memory grew from {rss0 / MiB:.1f} to {rss1 / MiB:.1f} MiB (median)")
    obj0 = statistics.median(s["objects"] for s in first)
    obj1 = statistics.median(s["objects"] for s in last)
    if obj1 > obj0 * (1 + OBJECTS_SLACK_SHARE) + OBJECTS_SLACK:
        problems.append(f"Python objects grew from {obj0:.0f} to {obj1:.0f} (median)")
    for key in ("threads", "fds"):
        before, after = max(s[key] for s in first), max(s[key] for s in last)
        if after > before + COUNT_SLACK:
            problems.append(f"{key} grew from {before} to {after} (maximum)")
    return problems


def sample() -> dict:
    """This process now: resident bytes, OS threads, open descriptors, Python objects."""
    import psutil

    gc.collect()
    proc = psutil.Process()
    return {"rss": proc.memory_info().rss, "threads": proc.num_threads(),
            "fds": proc.num_fds(), "objects": len(gc.get_objects())}  # fmt: skip


def soak(replies: int, seed: int, workdir: Path, max_tokens: int = 1000) -> dict:
    """Stream ``replies`` replies of up to ``max_tokens`` tokens, half of them stopped within
    ``max_tokens`` milliseconds; the samples, the replies' outcomes and the verdict."""
    from PySide6.QtCore import QCoreApplication

    from app.engine import LoadOptions
    from app.selftest.tiny_model import write_tiny_gguf
    from app.store import ConversationStore
    from app.ui.chat.engine_session import EngineSession

    from .turns import STREAM_MODEL, TurnDriver, plan_turn

    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    model = write_tiny_gguf(workdir / "tiny-soak.gguf", STREAM_MODEL)
    store = ConversationStore.open(workdir / "conversations.sqlite3")
    session = EngineSession(store)
    outcome = {"samples": [], "statuses": {}, "errors": [], "chars": 0}
    plan = partial(plan_turn, tokens=(20, max_tokens), stop_within_ms=max_tokens)

    def on_event(name: str, data: dict) -> None:
        if name == "ended":
            outcome["samples"].append(sample())
            status = data["status"]
            outcome["statuses"][status] = outcome["statuses"].get(status, 0) + 1
            outcome["chars"] += len(data["thinking"]) + len(data["content"])
        elif name == "error":
            outcome["errors"].append(data["error"])
        elif name == "done":
            app.quit()

    driver = TurnDriver(store, session, random.Random(seed), replies, on_event, plan,
                        per_conversation=PER_CONVERSATION)  # fmt: skip
    session.modelLoaded.connect(lambda _info: driver.start())
    session.modelLoadFailed.connect(lambda e: (outcome["errors"].append(str(e)), app.quit()))
    started = time.monotonic()
    session.load(str(model), LoadOptions(n_ctx=32768, n_threads=1, seed=seed))
    app.exec()
    session.shutdown()
    store.close()
    problems = judge(outcome["samples"]) + [f"a reply failed: {e}" for e in outcome["errors"]]
    if sum(outcome["statuses"].values()) != replies:
        problems.append(f"{sum(outcome['statuses'].values())} of {replies} replies ended")
    return {**outcome, "replies": replies, "seconds": round(time.monotonic() - started, 1),
            "problems": problems, "summary": summarise(outcome["samples"])}  # fmt: skip


def summarise(samples: list[dict]) -> dict:
    """First and last quarter: median memory (MiB), highest thread and descriptor counts."""
    if not samples:
        return {}
    q = max(1, len(samples) // 4)
    halves = {"first": samples[:q], "last": samples[-q:]}
    return {
        name: {"rss_mib": round(statistics.median(s["rss"] for s in part) / MiB, 1),
               "objects": round(statistics.median(s["objects"] for s in part)),
               "threads": max(s["threads"] for s in part),
               "fds": max(s["fds"] for s in part)}
        for name, part in halves.items()
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=1000, help="longest reply (tokens)")
    parser.add_argument("--json", action="store_true", help="the whole report as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        report = soak(args.replies, args.seed, Path(tmp), args.max_tokens)
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{report['replies']} replies in {report['seconds']} s, {report['statuses']}, "
              f"{report['chars']:,} characters; {report['summary']}")  # fmt: skip
        for problem in report["problems"]:
            print(f"PROBLEM: {problem}")
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
