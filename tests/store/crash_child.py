"""Child process for the crash test: streams a reply through StreamingSaver until killed.

Usage: python crash_child.py DB_PATH INTERVAL_S. Prints "READY <message id>", then after each
appended piece "<index> <time.monotonic()>", forever. Piece i is ``piece(i)`` on channel
``channel(i)``, so the parent can rebuild exactly what was streamed.
"""

from __future__ import annotations

import sys
import time

from app.store import ConversationStore, StreamingSaver


def piece(i: int) -> str:
    return f"<{i}>"


def channel(i: int) -> str:
    return "thinking" if i % 3 == 0 else "answer"


def main(db_path: str, interval_s: float) -> None:
    store = ConversationStore.open(db_path)
    conv = store.create_conversation("crash test")
    store.add_message(conv.id, "user", "Stream until you are killed")
    reply = store.add_message(conv.id, "assistant", "", status="streaming")
    saver = StreamingSaver(store, reply.id, interval_s=interval_s)
    print(f"READY {reply.id}", flush=True)
    i = 0
    while True:
        saver.append(channel(i), piece(i))
        print(f"{i} {time.monotonic():.6f}", flush=True)
        i += 1
        time.sleep(0.005)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
