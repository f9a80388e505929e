"""A chat turn grounded in document collections, on the engine's thread: the messages with
the retrieved passages, and the reply's stats with their numbered sources (no Qt)."""

from __future__ import annotations

from typing import Any


def ground(engine, messages: list[dict], params: Any, grounding: tuple) -> tuple[list, Any]:
    """The turn's messages grounded in the attached collections, and the context (engine
    thread: searching embeds the question and reads the index)."""
    from app.docs.answer import (
        DEFAULT_ANSWER_TOKENS,
        context_budget,
        grounded_messages,
        history_tokens,
        prepare_context,
    )

    library, names = grounding
    history, question = messages[:-1], str(messages[-1]["content"])
    answer = getattr(params, "max_tokens", None) or DEFAULT_ANSWER_TOKENS
    n_ctx = getattr(engine, "grounding_ctx", None) or engine.n_ctx  # remote: maybe assumed
    budget = context_budget(n_ctx, history_tokens(history), answer)
    context = prepare_context(library, list(names), question, budget)
    return grounded_messages(history, context), context


def docs_stats(stats: dict, context: Any) -> dict:
    """``stats`` with the context's numbered sources, or the notice that nothing matched."""
    if context is None:
        return stats
    from app.docs.answer import with_sources

    stats = with_sources(stats, context) or stats
    if context.notice:
        stats["docs_notice"] = context.notice
    return stats
