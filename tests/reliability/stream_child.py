"""Child process of the streaming kill: replies streamed into the store until SIGKILL.

    python -m tests.reliability.stream_child DB MODEL SEED

Opens the conversation store (marking what an earlier kill left "streaming"), loads MODEL on
``EngineSession``'s thread and streams replies back to back (``turns.TurnDriver``: random
lengths, half of them stopped at a random moment). One JSON line per fact on stdout:
``opened`` (replies recovered), ``loaded``, ``reply`` (new message ids), ``saved`` every
50 ms while a reply streams (what the store holds of it, read back through the app's own
connection, so it is committed), ``stopping`` (Stop pressed), ``ended`` (the reply as stored
after its turn or its Stop).
"""

from __future__ import annotations

import json
import random
import sys
import time
from functools import partial

from PySide6.QtCore import QCoreApplication, QTimer

from app.engine import LoadOptions
from app.store import ConversationStore
from app.ui.chat.engine_session import EngineSession
from tests.reliability.turns import TurnDriver, plan_turn

SNAPSHOT_MS = 50
# Replies of seconds (the tiny model streams a few thousand tokens a second): several saves each.
LONG_REPLIES = partial(plan_turn, tokens=(500, 15000), stop_within_ms=4000)


def say(event: str, **data) -> None:
    print(json.dumps({"event": event, "t": time.monotonic(), **data}), flush=True)


def main(db: str, model: str, seed: int) -> int:
    app = QCoreApplication(sys.argv[:1])
    store = ConversationStore.open(db)
    say("opened", recovered=store.recovered_messages)
    session = EngineSession(store)
    driver = TurnDriver(
        store, session, random.Random(seed), None, lambda name, data: say(name, **data),
        LONG_REPLIES,
    )  # fmt: skip

    def snapshot() -> None:
        reply_id = driver.streaming_id
        if reply_id is not None:
            m = store.get_message(reply_id)
            say("saved", reply=m.id, status=m.status, thinking=m.thinking, content=m.content)

    timer = QTimer()
    timer.timeout.connect(snapshot)
    timer.start(SNAPSHOT_MS)

    def loaded(info) -> None:
        say("loaded", model=info.name)
        driver.start()

    session.modelLoaded.connect(loaded)
    session.modelLoadFailed.connect(lambda error: (say("error", error=str(error)), app.exit(2)))
    session.load(model, LoadOptions(n_ctx=4096, n_threads=1, seed=seed))
    return app.exec()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
