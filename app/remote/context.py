"""What the app knows of a remote model's context: its length (when the endpoint says it), a
plan the GUI shows in place of a local memory plan, and an approximate prompt size (the endpoint
counts the real one and reports it with each reply)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

# Document sources need a budget; an endpoint that does not say its context gets this one.
ASSUMED_N_CTX = 8192
MESSAGE_OVERHEAD = 4  # role markers and separators a chat template adds per message
_PIECE = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class RemotePlan:
    """The remote counterpart of a memory plan: ``n_ctx`` 0 when the endpoint did not say."""

    host: str
    model: str
    n_ctx: int = 0
    n_gpu_layers: int = 0
    kv_cache_type: str = "remote"
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        size = f"{self.n_ctx:,}-token context" if self.n_ctx else "context length not reported"
        return f"{self.model} on {self.host} ({size}); the server manages its own memory"


def approx_tokens(text: str) -> int:
    """Tokens of ``text`` for a typical subword tokenizer (words, pieces of 4 characters)."""
    return sum(1 + (len(m) - 1) // 4 for m in _PIECE.findall(text))


def approx_prompt_tokens(messages: Sequence[dict]) -> int:
    """An estimate of the prompt ``messages`` make, template markers included."""
    return sum(approx_tokens(str(m.get("content") or "")) + MESSAGE_OVERHEAD for m in messages)
