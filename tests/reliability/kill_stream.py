"""(a) SIGKILL while replies stream into the conversation store (``stream_child``).

One database for all cycles, so every later cycle also checks what earlier ones left. After
each kill the database is opened as the app's next start opens it, and:

* ``PRAGMA integrity_check`` and the FTS5 index's own check pass;
* no message is left "streaming"; at most the reply in flight became "interrupted";
* every user message and every ended reply the child reported is there, unchanged;
* the reply in flight holds at least the text the child last read back as saved (what was
  committed), marked "interrupted" (or its final status, when its turn ended just before the
  kill; a stopped reply keeps the text that was shown, a prefix of the saved one or longer).

A quarter of the kills come within 10 ms of a Stop (the stopped turn finishing, the shown text
being saved), the others at any moment of the first seconds of replies.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from app.selftest.tiny_model import write_tiny_gguf
from app.store import ConversationStore, MessageNotFoundError

from .harness import Cycle, child_env, json_lines, run_killed, sqlite_problems
from .turns import STREAM_MODEL

NAME = "stream"
KILL_WINDOW_S = 6.0  # after the model is loaded: several replies, saves and Stops
AFTER_STOP_SHARE, AFTER_STOP_S = 0.25, 0.01  # the save after a Stop takes milliseconds


@dataclass
class _Expected:
    """What the store must hold: exact texts of ended messages, the user's messages."""

    users: dict[int, str] = field(default_factory=dict)
    replies: dict[int, tuple[str, str, str]] = field(default_factory=dict)  # status, thk, ans
    interrupted: set[int] = field(default_factory=set)


def _prefix_of(a: str, b: str) -> bool:
    return b.startswith(a)


class StreamScenario:
    name = NAME

    def __init__(
        self, workdir: Path, window_s: float = KILL_WINDOW_S, after_stop: float = AFTER_STOP_SHARE
    ) -> None:
        self.dir = workdir / NAME
        self.dir.mkdir(parents=True, exist_ok=True)
        self.db = self.dir / "conversations.sqlite3"
        self.model = write_tiny_gguf(self.dir / "tiny-stream.gguf", STREAM_MODEL)
        self.env = child_env(self.dir / "home")
        self.window_s = window_s
        self.after_stop = after_stop
        self.expected = _Expected()
        self.figures = {"replies_ended": 0, "interrupted": 0, "kept_chars": 0, "saves_seen": 0}

    def cycle(self, index: int, rng: random.Random) -> Cycle:
        # A quarter of the kills come right after a Stop, while the stopped turn finishes and
        # the shown text is saved; the others at any moment of the replies.
        event = '"stopping"' if rng.random() < self.after_stop else '"loaded"'
        delay = rng.uniform(0, AFTER_STOP_S if event == '"stopping"' else self.window_s)
        argv = ["-m", "tests.reliability.stream_child", str(self.db), str(self.model),
                str(rng.randrange(2**31))]  # fmt: skip
        run = run_killed(argv, self.env, delay, marker=lambda line: event in line)
        events = json_lines(run.stdout)
        cycle = Cycle(NAME, index, run.killed, delay, _phase(events), orphans=run.orphans)
        if run.traceback or any(e["event"] == "error" for e in events):
            cycle.problems.append(f"the child failed before the kill:\n{run.tail()}")
        in_flight, snapshot = self._learn(events)
        cycle.problems += sqlite_problems(self.db, ("messages_fts",))
        cycle.problems += self._check(in_flight, snapshot, cycle)
        return cycle

    def _learn(self, events: list[dict]) -> tuple[int | None, dict | None]:
        """Record what the child reported; return the reply in flight and its last save."""
        in_flight, snapshot = None, None
        for e in events:
            if e["event"] == "reply":
                self.expected.users[e["user"]] = e["user_text"]
                in_flight, snapshot = e["reply"], None
            elif e["event"] == "saved" and e["reply"] == in_flight:
                snapshot = e
                self.figures["saves_seen"] += 1
            elif e["event"] == "ended":
                self.expected.replies[e["reply"]] = (e["status"], e["thinking"], e["content"])
                self.figures["replies_ended"] += 1
                in_flight, snapshot = None, None
        return in_flight, snapshot

    def _check(self, in_flight: int | None, snapshot: dict | None, cycle: Cycle) -> list[str]:
        problems = []
        with ConversationStore.open(self.db) as store:
            cycle.facts["recovered"] = store.recovered_messages
            statuses = {
                m.id: m.status
                for conv in store.list_conversations()
                for m in store.all_messages(conv.id)
            }
            if "streaming" in statuses.values():
                problems.append("a message is still 'streaming' after the restart")
            new = {i for i, s in statuses.items() if s == "interrupted"} - self.expected.interrupted
            # the reply in flight, or one added just before the kill that the child had no
            # time to report: the newest message, still empty
            known = max([*self.expected.users, *self.expected.replies], default=0)
            unreported = {i for i in new if i > known and not _text(store, i)}
            if new - {in_flight} - unreported:
                problems.append(f"replies {sorted(new - {in_flight})} interrupted unexpectedly")
            self.expected.interrupted |= new - {in_flight}
            for msg_id, text in self.expected.users.items():
                problems += _compare(store, msg_id, ("complete", "", text), "user message")
            for msg_id, want in self.expected.replies.items():
                problems += _compare(store, msg_id, want, "ended reply")
            if in_flight is not None:
                problems += self._check_in_flight(store, in_flight, snapshot, cycle)
        return problems

    def _check_in_flight(self, store, reply_id: int, snapshot: dict | None, cycle) -> list[str]:
        try:
            m = store.get_message(reply_id)
        except MessageNotFoundError:
            return [f"reply {reply_id} in flight at the kill is gone"]
        saved = (snapshot or {}).get("thinking", ""), (snapshot or {}).get("content", "")
        got = m.thinking, m.content
        cycle.facts.update(in_flight_status=m.status, saved_chars=sum(map(len, saved)),
                           kept_chars=sum(map(len, got)))  # fmt: skip
        if m.status == "interrupted":
            self.expected.interrupted.add(reply_id)
            self.figures["interrupted"] += 1
            self.figures["kept_chars"] += sum(map(len, got))
        self.expected.replies[reply_id] = (m.status, *got)
        return kept_problems(reply_id, m.status, saved, got)

    def finish(self) -> list[str]:
        return sqlite_problems(self.db, ("messages_fts",)) if self.db.exists() else []


def kept_problems(
    reply_id: int, status: str, saved: tuple[str, str], got: tuple[str, str]
) -> list[str]:
    """Whether a reply kept what was saved of it before the kill: its (thinking, answer)
    ``got`` must extend ``saved``; after a Stop it holds what was shown, which may also be a
    little less than was saved (the pieces not yet on screen)."""
    if status == "cancelled":
        if all(_prefix_of(s, g) or _prefix_of(g, s) for s, g in zip(saved, got, strict=True)):
            return []
    elif all(_prefix_of(s, g) for s, g in zip(saved, got, strict=True)):
        return []
    return [f"reply {reply_id} ({status}) lost saved text: had {len(saved[0])}+"
            f"{len(saved[1])} chars saved, holds {len(got[0])}+{len(got[1])}"]  # fmt: skip


def _text(store, msg_id: int) -> str:
    m = store.get_message(msg_id)
    return m.thinking + m.content


def _compare(store, msg_id: int, want: tuple[str, str, str], what: str) -> list[str]:
    try:
        m = store.get_message(msg_id)
    except MessageNotFoundError:
        return [f"{what} {msg_id} is gone"]
    status, thinking, content = want
    if (m.status, m.thinking, m.content) != (status, thinking, content):
        return [f"{what} {msg_id} changed: {status}/{len(thinking)}+{len(content)} chars became "
                f"{m.status}/{len(m.thinking)}+{len(m.content)}"]  # fmt: skip
    return []


def _phase(events: list[dict]) -> str:
    """Where the child was at the kill."""
    last = events[-1]["event"] if events else "starting"
    names = {"saved": "streaming", "reply": "reply just begun", "stopping": "saving after Stop",
             "ended": "between replies"}  # fmt: skip
    return names.get(last, last)
