"""A streamed remote reply put back together: thinking apart from the answer, and statistics.

Thinking comes either in ``reasoning_content`` (DeepSeek, llama.cpp's server, ours) or
``reasoning`` (vLLM, Ollama) delta fields, or inside the content between ``<think>`` tags, which
``ReasoningParser`` splits. A reasoning model whose template pre-fills ``<think>`` sends content
that starts inside the thinking without the opening tag: for such models (QwQ, R1, Qwen3, by
name) content starts as thinking unless it opens with the tag itself.
"""

from __future__ import annotations

import re
import time

from app.engine.events import TextDelta, TurnResult, TurnStats
from app.engine.reasoning import OPEN, ReasoningParser

REASONING_NAMES = re.compile(r"qwq|qwen3|deepseek-r1|(^|[-_/.])r1($|[-_/.:])|think|reason", re.I)
STOP_REASONS = {"stop": "eos", "length": "length", "content_filter": "stop_string"}


def looks_like_reasoning(model: str) -> bool:
    """A guess from the model's name: does it think in <think> blocks before answering?"""
    return bool(REASONING_NAMES.search(model))


class ReplySplitter:
    """Feed each chunk's delta; get TextDeltas on the thinking or answer channel."""

    def __init__(self, reasoning_model: bool) -> None:
        self.reasoning_model = reasoning_model
        self.field_thinking = ""
        self._parser: ReasoningParser | None = None
        self._head = ""  # content held until it is clear whether it opens with <think>
        self._assumed_thinking = False

    def feed(self, delta: dict) -> list[TextDelta]:
        out: list[TextDelta] = []
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            if not self.field_thinking:
                reasoning = reasoning.lstrip("\n")
            if reasoning:
                self.field_thinking += reasoning
                out.append(TextDelta("thinking", reasoning))
        content = delta.get("content")
        if isinstance(content, str) and content:
            out += self._content(content)
        return out

    def flush(self) -> list[TextDelta]:
        out = self._content("", final=True)
        return out + (self._parser.flush() if self._parser else [])

    def _content(self, text: str, final: bool = False) -> list[TextDelta]:
        if self._parser is None:
            self._head += text
            head = self._head.lstrip()
            if not final and len(head) < len(OPEN) and OPEN.startswith(head):
                return []
            self._assumed_thinking = (
                self.reasoning_model and not self.field_thinking and not head.startswith(OPEN)
            )
            self._parser = ReasoningParser(starts_in_thinking=self._assumed_thinking)
            text, self._head = self._head, ""
        return self._parser.feed(text) if text else []

    @property
    def thinking(self) -> str:
        return self.field_thinking + (self._parser.thinking if self._parser else "")

    @property
    def answer(self) -> str:
        return self._parser.answer if self._parser else ""

    @property
    def thinking_never_closed(self) -> bool:
        """Content was taken as thinking (no opening tag) and no </think> ever came."""
        parser = self._parser
        return self._assumed_thinking and parser is not None and not parser.seen_close


class ReplyStats:
    """TurnStats from local timing and what the endpoint reports (usage, llama.cpp timings,
    our server's own fields)."""

    def __init__(self, n_ctx: int) -> None:
        self.stats = TurnStats(n_ctx=n_ctx, stop_reason="error")
        self._t0 = time.perf_counter()
        self._first: float | None = None
        self._thinking_chunks = 0
        self._usage_thinking: int | None = None
        self._remote_speed: float | None = None

    def saw_text(self, deltas: list[TextDelta]) -> None:
        if deltas and self._first is None:
            self._first = time.perf_counter()
            self.stats.time_to_first_token_s = self._first - self._t0
        self._thinking_chunks += sum(d.channel == "thinking" for d in deltas)

    def saw_chunk(self, chunk: dict) -> None:
        for choice in chunk.get("choices") or []:
            reason = choice.get("finish_reason")
            if reason:
                self.stats.stop_reason = STOP_REASONS.get(reason, "eos")  # type: ignore[assignment]
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.stats.prompt_tokens = int(usage.get("prompt_tokens") or 0)
            self.stats.completion_tokens = int(usage.get("completion_tokens") or 0)
            cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
            self.stats.cached_tokens = int(cached or 0)
            reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
            self._usage_thinking = int(reasoning) if reasoning is not None else None
        timings = chunk.get("timings")
        if isinstance(timings, dict):
            self.stats.prompt_eval_s = float(timings.get("prompt_ms") or 0) / 1000
            self.stats.evaluated_prompt_tokens = int(timings.get("prompt_n") or 0)
            self._remote_speed = timings.get("predicted_per_second")
            if timings.get("draft_n") is not None:  # llama-server's speculation counts
                self.stats.drafted_tokens = int(timings.get("draft_n") or 0)
                self.stats.accepted_tokens = int(timings.get("draft_n_accepted") or 0)
        ours = chunk.get("qwq_desktop")
        if isinstance(ours, dict):
            self.stats.stop_reason = ours.get("stop_reason") or self.stats.stop_reason
            self.stats.thinking_budget_hit = bool(ours.get("thinking_budget_hit"))
            self.stats.dropped_messages = list(ours.get("dropped_messages") or [])
            self.stats.notes += [str(n) for n in ours.get("notes") or []]

    @property
    def finished(self) -> bool:
        return self.stats.stop_reason != "error"

    def result(self, splitter: ReplySplitter, stop_reason: str | None = None) -> TurnResult:
        """The turn so far; ``stop_reason`` overrides (e.g. "cancelled", "error")."""
        stats = self.stats
        if stop_reason is not None:
            stats.stop_reason = stop_reason  # type: ignore[assignment]
        now = time.perf_counter()
        stats.decode_s = now - self._first if self._first is not None else 0.0
        stats.thinking_tokens = (
            self._usage_thinking if self._usage_thinking is not None else self._thinking_chunks
        )
        if self._remote_speed:
            stats.tokens_per_s = float(self._remote_speed)
        elif stats.completion_tokens > 1 and stats.decode_s > 0:
            stats.tokens_per_s = (stats.completion_tokens - 1) / stats.decode_s
        answer, thinking = splitter.answer.strip(), splitter.thinking
        if splitter.thinking_never_closed and not answer and stats.stop_reason == "eos":
            stats.notes.append("the endpoint sent no </think>: the reply is taken as the answer")
            answer, thinking = thinking.strip(), ""
        return TurnResult(answer, thinking, stats)
