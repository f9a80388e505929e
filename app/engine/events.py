"""What a chat turn streams out and what it returns. Plain dataclasses, no Qt."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Channel = Literal["thinking", "answer"]
StopReason = Literal["eos", "length", "cancelled", "context_full", "stop_string", "error"]


@dataclass(frozen=True)
class TextDelta:
    """A piece of streamed text on one channel (thinking or answer)."""

    channel: Channel
    text: str


@dataclass(frozen=True)
class ContextNotice:
    """Sent before generation when older turns had to be left out to fit the context window."""

    dropped_indices: tuple[int, ...]
    prompt_tokens: int
    n_ctx: int


@dataclass
class TurnStats:
    """Statistics of one chat turn."""

    prompt_tokens: int = 0
    cached_tokens: int = 0
    shifted_tokens: int = 0  # of cached_tokens: moved back in the cache after old turns left
    draft: str = "none"  # speculative decoding's drafts: "lookup", "model" or "none"
    drafted_tokens: int = 0  # tokens drafted (by prompt lookup or the draft model)
    accepted_tokens: int = 0  # ... and accepted (each saves one evaluation)
    evaluated_prompt_tokens: int = 0
    completion_tokens: int = 0
    thinking_tokens: int = 0
    time_to_first_token_s: float | None = None
    prompt_eval_s: float = 0.0
    decode_s: float = 0.0
    tokens_per_s: float | None = None
    stop_reason: StopReason = "eos"
    thinking_budget_hit: bool = False
    dropped_messages: list[int] = field(default_factory=list)
    n_ctx: int = 0
    notes: list[str] = field(default_factory=list)  # e.g. a near-greedy temperature raised

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TurnResult:
    """A finished turn: the answer, the thinking apart, and the statistics."""

    answer: str
    thinking: str
    stats: TurnStats

    def to_dict(self) -> dict:
        return {"answer": self.answer, "thinking": self.thinking, "stats": self.stats.to_dict()}


@dataclass(frozen=True)
class TurnFinished:
    """Last event of every stream, also after a cancel or an error-free early stop."""

    result: TurnResult
