"""The plain records the store hands out. Immutable dataclasses, no Qt, no database handles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["system", "user", "assistant"]
Status = Literal["complete", "streaming", "interrupted", "cancelled", "error"]

ROLES: tuple[str, ...] = ("system", "user", "assistant")
STATUSES: tuple[str, ...] = ("complete", "streaming", "interrupted", "cancelled", "error")


@dataclass(frozen=True)
class Conversation:
    """One chat. ``settings`` holds the per-conversation system prompt and sampling overrides."""

    id: int
    title: str
    pinned: bool
    created_at: float
    updated_at: float
    settings: dict = field(default_factory=dict)
    active_leaf_id: int | None = None
    deleted_at: float | None = None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


@dataclass(frozen=True)
class Message:
    """One message, a node of the conversation's tree (``parent_id`` is None for a first message).

    ``sibling_index``/``sibling_count`` place it among the alternatives that share its parent
    (edit-and-resend and regenerate create siblings): "2 of 3" is index 1, count 3.
    """

    id: int
    conv_id: int
    parent_id: int | None
    role: str
    content: str
    thinking: str
    status: str
    created_at: float
    stats: dict | None = None
    sibling_index: int = 0
    sibling_count: int = 1


@dataclass(frozen=True)
class SearchHit:
    """A message matching a search.

    ``snippet`` is HTML-escaped text around the match with each matched term in ``<b>…</b>``,
    ready for a rich-text label; ``snippet_text`` is the same text unescaped, and ``highlights``
    lists the ``(start, end)`` character spans of the matched terms inside ``snippet_text``.
    """

    conv_id: int
    message_id: int
    title: str
    snippet: str
    snippet_text: str = ""
    highlights: tuple[tuple[int, int], ...] = ()
    role: str = "user"
    created_at: float = 0.0
