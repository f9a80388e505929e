"""Fit a conversation into the context window, leaving out the oldest turns first (never silently).

The system prompt and the newest message are always kept. Older turns are dropped from the start,
whole user->assistant exchanges at a time, until the prompt plus the reply's reserve fits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .errors import ContextOverflowError


@dataclass(frozen=True)
class FittedConversation:
    messages: list[dict]
    dropped_indices: tuple[int, ...]
    prompt_tokens: list[int]


def _cut_points(messages: Sequence[dict]) -> list[int]:
    """Indices where a kept suffix may start: each user message after the system prompt."""
    first = 1 if messages and messages[0].get("role") == "system" else 0
    return [i for i in range(first, len(messages)) if messages[i].get("role") == "user"] or [
        len(messages) - 1
    ]


def fit_conversation(
    messages: Sequence[dict],
    tokenize: Callable[[Sequence[dict]], list[int]],
    n_ctx: int,
    reserve: int,
) -> FittedConversation:
    """Return the longest suffix of ``messages`` (system kept) whose prompt + ``reserve`` fits."""
    if not messages:
        raise ContextOverflowError("Nothing to send", "type a message first")
    has_system = messages[0].get("role") == "system"
    head = [messages[0]] if has_system else []
    limit = n_ctx - reserve

    def attempt(start: int) -> list[int]:
        return tokenize([*head, *messages[start:]])

    first = 1 if has_system else 0
    tokens = attempt(first)
    if len(tokens) <= limit:
        return FittedConversation(list(messages), (), tokens)
    cuts = [c for c in _cut_points(messages) if c > first]
    # Binary search for the earliest cut that fits (later cuts give shorter prompts).
    lo, hi, best = 0, len(cuts) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        toks = attempt(cuts[mid])
        if len(toks) <= limit:
            best, hi = (cuts[mid], toks), mid - 1
        else:
            lo = mid + 1
    if best is None:
        last = tokenize([*head, messages[-1]])
        raise ContextOverflowError(
            f"The message is too long for the {n_ctx}-token context "
            f"({len(last)} tokens plus {reserve} reserved for the reply)",
            "shorten it, lower max tokens, or load the model with a larger context",
        )
    start, toks = best
    dropped = tuple(range(first, start))
    return FittedConversation([*head, *messages[start:]], dropped, toks)
