"""Separate a reasoning model's thinking from its answer, while streaming.

QwQ writes ``<think> ... </think>`` before its answer. Its template pre-fills ``<think>\\n``, so the
model's own output usually starts *inside* the thinking with no opening tag. Tags can arrive split
across tokens ("</", "think", ">"), so the parser holds back any tail that could still become a tag.
"""

from __future__ import annotations

import re

from .events import TextDelta

OPEN = "<think>"
CLOSE = "</think>"
_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.S)


def strip_thinking(text: str) -> str:
    """The final answer of an assistant message: everything after the last ``</think>``."""
    if CLOSE in text:
        text = text.rsplit(CLOSE, 1)[1]
    else:
        text = _THINK_BLOCK.sub("", text)
        if OPEN in text:  # an unfinished thinking block has no answer yet
            text = text.split(OPEN, 1)[0]
    return text.lstrip("\n").strip() if text.strip() else ""


def _partial_tag_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


class ReasoningParser:
    """Feed text pieces; get ``TextDelta``s on the "thinking" or "answer" channel."""

    def __init__(self, starts_in_thinking: bool = False, enabled: bool = True) -> None:
        self.enabled = enabled
        self.in_thinking = starts_in_thinking and enabled
        self.seen_close = False
        self._pending = ""
        self._answer_started = False
        self._leading = starts_in_thinking  # skip whitespace right after an opening tag
        self.thinking = ""
        self.answer = ""

    def feed(self, piece: str) -> list[TextDelta]:
        """Consume one piece of generated text; return the deltas it completes."""
        if not self.enabled:
            return self._emit("answer", piece)
        self._pending += piece
        out: list[TextDelta] = []
        while self._pending:
            tag = CLOSE if self.in_thinking else OPEN
            idx = self._pending.find(tag)
            if idx >= 0:
                out += self._emit(self._channel(), self._pending[:idx])
                self._pending = self._pending[idx + len(tag) :]
                if self.in_thinking:
                    self.seen_close = True
                    self.in_thinking = False
                elif not self._answer_started and not self.seen_close:
                    self.in_thinking = True
                else:  # a literal "<think>" inside an answer stays text
                    out += self._emit("answer", tag)
                    continue
                self._leading = True
                continue
            keep = _partial_tag_suffix(self._pending, tag)
            ready = self._pending[: len(self._pending) - keep]
            self._pending = self._pending[len(ready) :]
            out += self._emit(self._channel(), ready)
            break
        return out

    def flush(self) -> list[TextDelta]:
        """End of stream: release any held-back text."""
        rest, self._pending = self._pending, ""
        return self._emit(self._channel(), rest)

    def _channel(self) -> str:
        return "thinking" if self.in_thinking else "answer"

    def _emit(self, channel: str, text: str) -> list[TextDelta]:
        if self._leading:
            text = text.lstrip("\n")
            if not text:
                return []
            self._leading = False
        if not text:
            return []
        if channel == "thinking":
            self.thinking += text
        else:
            if not self._answer_started:
                text = text.lstrip()  # whitespace between </think> and the answer
                if not text:
                    return []
            self._answer_started = True
            self.answer += text
        return [TextDelta(channel, text)]  # type: ignore[arg-type]
