"""OpenAI-shaped response bodies and server-sent events, built from the engine's results.

Reasoning goes in ``reasoning_content`` beside ``content`` (what DeepSeek, llama.cpp's server
and vLLM send, and what current clients read). ``usage`` follows OpenAI (cached prompt tokens,
reasoning tokens); ``timings`` follows llama.cpp's server; ``qwq_desktop`` adds what the engine
decided (stop reason, thinking budget hit, messages left out, sampling notes).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

from app.engine.events import TurnStats

FINISH_REASONS = {"length": "length", "context_full": "length"}  # everything else: "stop"


@dataclass
class Outcome:
    """A finished generation: the text sent (stop strings cut) and the engine's statistics."""

    answer: str
    thinking: str
    stats: TurnStats

    @property
    def finish_reason(self) -> str:
        return FINISH_REASONS.get(self.stats.stop_reason, "stop")


@dataclass(frozen=True)
class Reply:
    """Identity of one response: its id, object kind, creation time and model name."""

    id: str
    created: int
    model: str
    chat: bool

    @classmethod
    def new(cls, model: str, chat: bool) -> Reply:
        prefix = "chatcmpl" if chat else "cmpl"
        return cls(f"{prefix}-{uuid.uuid4().hex[:24]}", int(time.time()), model, chat)

    def _head(self, chunk: bool) -> dict:
        kind = "chat.completion" if self.chat else "text_completion"
        if chunk and self.chat:
            kind += ".chunk"
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def complete(self, outcome: Outcome) -> dict:
        """The whole, non-streamed response."""
        if self.chat:
            message = {"role": "assistant", "content": outcome.answer}
            message["reasoning_content"] = outcome.thinking or None
            choice = {"index": 0, "message": message, "finish_reason": outcome.finish_reason}
        else:
            choice = {
                "index": 0,
                "text": outcome.answer,
                "reasoning_content": outcome.thinking or None,
                "logprobs": None,
                "finish_reason": outcome.finish_reason,
            }
        return {**self._head(False), "choices": [choice], **extras(outcome.stats)}

    def chunk(self, delta: dict, finish_reason: str | None = None) -> dict:
        """One streamed piece: ``delta`` holds ``content`` and/or ``reasoning_content``."""
        if self.chat:
            choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        else:
            choice = {
                "index": 0,
                "text": delta.get("content", ""),
                "logprobs": None,
                "finish_reason": finish_reason,
            }
            if "reasoning_content" in delta:
                choice["reasoning_content"] = delta["reasoning_content"]
        return {**self._head(True), "choices": [choice]}

    def last_chunks(self, outcome: Outcome, include_usage: bool) -> list[dict]:
        """The closing chunk (finish reason, timings) and, if asked for, the usage chunk."""
        last = self.chunk({}, outcome.finish_reason)
        more = extras(outcome.stats)
        usage = more.pop("usage")
        last.update(more)
        if not include_usage:
            return [last]
        return [last, {**self._head(True), "choices": [], "usage": usage}]


def extras(stats: TurnStats) -> dict:
    """usage, timings and the engine's own notes of one turn."""
    return {
        "usage": usage(stats),
        "timings": timings(stats),
        "qwq_desktop": {
            "stop_reason": stats.stop_reason,
            "thinking_budget_hit": stats.thinking_budget_hit,
            "dropped_messages": list(stats.dropped_messages),
            "notes": list(stats.notes),
        },
    }


def usage(stats: TurnStats) -> dict:
    return {
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.completion_tokens,
        "total_tokens": stats.prompt_tokens + stats.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": stats.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": stats.thinking_tokens},
    }


def timings(stats: TurnStats) -> dict:
    """llama.cpp server's field names: prompt_* for prompt evaluation, predicted_* for decoding,
    and, as llama-server does when speculation drafted tokens, draft_n and draft_n_accepted."""
    prompt_ms = stats.prompt_eval_s * 1000
    decode_ms = stats.decode_s * 1000
    evaluated = stats.evaluated_prompt_tokens
    result = {
        "cache_n": stats.cached_tokens,
        "prompt_n": evaluated,
        "prompt_ms": round(prompt_ms, 3),
        "prompt_per_second": round(evaluated / stats.prompt_eval_s, 3)
        if stats.prompt_eval_s > 0
        else None,
        "predicted_n": stats.completion_tokens,
        "predicted_ms": round(decode_ms, 3),
        "predicted_per_second": round(stats.tokens_per_s, 3) if stats.tokens_per_s else None,
        "time_to_first_token_ms": round(stats.time_to_first_token_s * 1000, 3)
        if stats.time_to_first_token_s is not None
        else None,
        "n_ctx": stats.n_ctx,
    }
    if stats.drafted_tokens > 0:
        result["draft_n"] = stats.drafted_tokens
        result["draft_n_accepted"] = stats.accepted_tokens
    return result


def sse(data: dict | str) -> bytes:
    """One server-sent event."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n".encode()


DONE = sse("[DONE]")
