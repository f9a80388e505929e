"""Kill the app (SIGKILL) while a reply streams: reopening shows the partial reply, marked
"interrupted", with every piece older than the save interval, and the database is intact."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.store import ConversationStore

sys.path.insert(0, str(Path(__file__).parent))
from crash_child import channel, piece  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
# The saver writes 1, 2, 3 s after the first piece; killing at 3.9 s is close to the worst case
# (0.9 s of text not yet saved) for the default interval.
STREAM_FOR_S = 3.9
SCHEDULING_SLACK_S = 0.5  # a busy 2-core machine may wake the saver thread a little late


def _stream_then_kill(db_path: Path, interval_s: float) -> tuple[int, list[float], float]:
    """Run the child, kill it mid-stream; return (message id, append times, kill time)."""
    env = dict(
        os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    child = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).parent / "crash_child.py"),
            str(db_path),
            str(interval_s),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        first = child.stdout.readline()
        assert first.startswith("READY "), f"child failed: {first!r} {child.stderr.read()}"
        msg_id = int(first.split()[1])
        times: list[float] = []
        while not times or times[-1] - times[0] < STREAM_FOR_S:
            index, stamp = child.stdout.readline().split()
            assert int(index) == len(times)
            times.append(float(stamp))
        child.kill()  # SIGKILL on POSIX: no clean-up code runs
        killed_at = time.monotonic()
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()
    return msg_id, times, killed_at


@pytest.mark.slow
@pytest.mark.parametrize("interval_s", [1.0, 0.01], ids=["default-interval", "constant-writes"])
def test_kill_during_streaming_loses_at_most_the_last_interval(tmp_path, interval_s):
    db_path = tmp_path / "conversations.sqlite3"
    msg_id, times, killed_at = _stream_then_kill(db_path, interval_s)

    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        raw.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
    finally:
        raw.close()

    with ConversationStore.open(db_path) as store:
        assert store.recovered_messages == 1
        reply = store.get_message(msg_id)
        assert reply.status == "interrupted"
        shown = store.messages(reply.conv_id)
        assert [m.id for m in shown][-1] == msg_id

    # What was saved is exactly the start of what was streamed (pieces appended since the last
    # save, possibly more than the parent read, are missing, never garbled).
    saved_pieces = reply.thinking.count("<") + reply.content.count("<")
    thinking = "".join(piece(i) for i in range(saved_pieces) if channel(i) == "thinking")
    answer = "".join(piece(i) for i in range(saved_pieces) if channel(i) == "answer")
    assert (reply.thinking, reply.content) == (thinking, answer)

    # Every piece appended more than one save interval before the kill is there.
    cutoff = killed_at - interval_s - SCHEDULING_SLACK_S
    must_have = sum(1 for t in times if t <= cutoff)
    assert must_have > 0.3 * len(times)  # the test streamed long enough to mean something
    assert saved_pieces >= must_have, (
        f"lost text older than {interval_s + SCHEDULING_SLACK_S:.2f} s: "
        f"saved {saved_pieces} pieces, needed {must_have}"
    )
