"""Hold back answer text that could be the start of a stop string; cut the answer at one."""

from __future__ import annotations

from collections.abc import Iterator

from .events import TextDelta


class StopStringFilter:
    """Filters answer deltas so that no part of a stop string ever reaches the user."""

    def __init__(self, stop_strings: tuple[str, ...] = ()) -> None:
        self.stop_strings = tuple(s for s in stop_strings if s)
        self.stopped = False
        self._held = ""
        self._emitted = ""

    def filter(self, delta: TextDelta) -> Iterator[TextDelta]:
        if not self.stop_strings or delta.channel != "answer":
            if delta.channel == "answer":
                self._emitted += delta.text
            yield delta
            return
        if self.stopped:
            return
        text = self._held + delta.text
        for stop in self.stop_strings:
            idx = text.find(stop)
            if idx >= 0:
                self.stopped = True
                self._held = ""
                if idx:
                    self._emitted += text[:idx]
                    yield TextDelta("answer", text[:idx])
                return
        keep = max((_overlap(text, s) for s in self.stop_strings), default=0)
        ready, self._held = text[: len(text) - keep], text[len(text) - keep :]
        if ready:
            self._emitted += ready
            yield TextDelta("answer", ready)

    def flush(self) -> Iterator[TextDelta]:
        if self._held and not self.stopped:
            self._emitted += self._held
            yield TextDelta("answer", self._held)
        self._held = ""

    def answer(self, parsed_answer: str) -> str:
        """The final answer text: what was emitted when stop strings are active."""
        return self._emitted.strip() if self.stop_strings else parsed_answer.strip()


def _overlap(text: str, stop: str) -> int:
    for n in range(min(len(stop) - 1, len(text)), 0, -1):
        if text.endswith(stop[:n]):
            return n
    return 0
