"""Grounding a chat turn in the attached collections: the chat path calls these, no Qt.

``prepare_context`` gives the documents whole when all of them fit in the token budget beside
the conversation, else the best chunks (hybrid or BM25) that fit; it numbers the sources and
builds the grounded prompt. When nothing relevant is found it says so explicitly
(``GroundedContext.found`` is False, ``notice`` is the sentence to show, and the system prompt
tells the model to say the documents do not cover the question instead of inventing).

Use in a turn (on the worker thread that owns the chat model; embedding a question takes a few
milliseconds)::

    ctx = conversation_context(store, library, conv_id, question, n_ctx, history_tokens)
    messages = [{"role": "system", "content": system + "\\n\\n" + ctx.system_prompt}, *history,
                {"role": "user", "content": ctx.user_message}]
    ... generate ...
    store.add_message(conv_id, "assistant", answer, thinking, stats=with_sources(stats, ctx))

The user's own text is what the store keeps for the user message; only the model sees the
sources inline. ``message_sources(message)`` reads the sources back for the source panel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from .chunker import approx_tokens
from .errors import DocsError
from .library import DocsLibrary
from .readers import read_document
from .search import Hit, query_terms

SAFETY = 1.15  # approx_tokens runs up to ~12% under real tokenizers (chunker docstring)
DEFAULT_ANSWER_TOKENS = 4096  # kept free for the reply (QwQ thinks at length first)
CANDIDATES_PER_COLLECTION = 20
MIN_SOURCE_TOKENS = 24  # below this a passage says too little to ground an answer
SYSTEM_GROUNDED = (
    "Answer from the numbered sources below, taken from the user's own documents. Cite the "
    "sources you use as [1], [2] right after the sentence they support. If the sources do not "
    "contain the answer, say that the documents do not cover it; do not invent an answer or a "
    "citation."
)
SYSTEM_NOTHING = (
    "The user's documents ({names}) were searched and contain nothing relevant to this "
    "question. Say so plainly; you may answer from general knowledge only if you state clearly "
    "that the answer does not come from their documents. Cite nothing."
)


@dataclass(frozen=True)
class Source:
    """One numbered source of an answer (what a citation [n] opens in the source panel)."""

    number: int
    collection: str
    file: str
    page: int | None
    heading: str | None
    score: float
    text: str

    def to_dict(self) -> dict:
        return {
            "number": self.number,
            "collection": self.collection,
            "file": self.file,
            "page": self.page,
            "heading": self.heading,
            "score": round(float(self.score), 6),
            "text": self.text,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Source:
        return cls(
            int(data["number"]),
            str(data.get("collection", "")),
            str(data["file"]),
            data.get("page"),
            data.get("heading"),
            float(data.get("score", 0.0)),
            str(data.get("text", "")),
        )

    def label(self) -> str:
        """ "manual.pdf, page 12 (Battery > Charging)"."""
        where = Path(self.file).name + (f", page {self.page}" if self.page else "")
        return f"{where} ({self.heading})" if self.heading else where


@dataclass(frozen=True)
class GroundedContext:
    """What a turn sends the model. ``mode``: "whole" (documents given whole), "retrieved"
    (best chunks), "none" (nothing relevant, or no collection attached)."""

    mode: str
    question: str
    sources: tuple[Source, ...] = ()
    system_prompt: str = ""
    user_message: str = ""
    tokens: int = 0
    notice: str | None = None
    collections: tuple[str, ...] = field(default=())

    @property
    def found(self) -> bool:
        return bool(self.sources)

    def sources_json(self) -> list[dict]:
        return [s.to_dict() for s in self.sources]


def estimate_tokens(text: str) -> int:
    """Tokens of ``text`` for budgeting, with the safety margin."""
    return math.ceil(approx_tokens(text) * SAFETY)


def context_budget(
    n_ctx: int, history_tokens: int, answer_tokens: int = DEFAULT_ANSWER_TOKENS
) -> int:
    """Tokens left for sources: the context minus the conversation and the answer's room."""
    answer = min(answer_tokens, n_ctx // 2)
    return max(0, n_ctx - history_tokens - answer - 64)  # 64: the template's own tokens


def format_sources(sources: list[Source] | tuple[Source, ...], question: str) -> str:
    blocks = [f"[{s.number}] {s.label()}\n{s.text.strip()}" for s in sources]
    return "Sources:\n\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question}"


def _is_relevant(hit: Hit, n_terms: int, min_similarity: float | None) -> bool:
    """A hit counts when its cosine clears the embedder's bar, or when it contains at least
    half of the question's content words (BM25-only collections, exact-term questions)."""
    if (
        hit.similarity is not None
        and min_similarity is not None
        and hit.similarity >= min_similarity
    ):
        return True
    return len(hit.matched_terms) >= max(1, math.ceil(n_terms / 2))


def _whole(library: DocsLibrary, names: list[str], budget: int) -> list[Source] | None:
    """Every indexed document's sections, or None when they do not fit ``budget``."""
    files = []
    for name in names:
        collection = library.get(name)
        for record in collection.files():
            if record.status == "indexed":
                files.append((name, record.path))
    if not files:
        return None
    total = 0
    sources: list[Source] = []
    for name, path in files:
        try:
            doc = read_document(path)
        except (DocsError, OSError):
            return None  # moved or changed since indexing: retrieve from the index instead
        for section in doc.sections:
            total += estimate_tokens(section.text) + 12
            if total > budget:
                return None
            sources.append(
                Source(
                    len(sources) + 1,
                    name,
                    str(path),
                    section.page,
                    section.heading,
                    1.0,
                    section.text,
                )
            )
    return sources


def _retrieve(library: DocsLibrary, names: list[str], question: str, budget: int) -> list[Source]:
    n_terms = len(query_terms(question))
    hits: list[tuple[str, Hit]] = []
    for name in names:
        collection = library.get(name)
        embedder = library.embedder_for(collection, required=False)
        floor = embedder.profile.min_similarity if embedder is not None else None
        for hit in collection.search(question, CANDIDATES_PER_COLLECTION, embedder):
            if _is_relevant(hit, n_terms, floor):
                hits.append((name, hit))
    hits.sort(key=lambda item: -item[1].score)
    sources: list[Source] = []
    used = 0
    for name, hit in hits:
        cost = estimate_tokens(hit.text) + 12
        text = hit.text
        if used + cost > budget:
            if sources or budget - 12 < MIN_SOURCE_TOKENS:
                continue  # a smaller later chunk may still fit
            text = truncate_to_tokens(hit.text, budget - 12)  # the best hit, cut to fit
            cost = budget
        used += cost
        sources.append(
            Source(len(sources) + 1, name, hit.file, hit.page, hit.heading, hit.score, text)
        )
    return sources


def truncate_to_tokens(text: str, tokens: int) -> str:
    """The longest prefix of ``text`` (whole words) within ``tokens`` estimated tokens."""
    words, kept = text.split(" "), []
    for word in words:
        if estimate_tokens(" ".join([*kept, word])) > tokens:
            break
        kept.append(word)
    return " ".join(kept) + (" …" if len(kept) < len(words) else "")


def prepare_context(
    library: DocsLibrary,
    collections: list[str],
    question: str,
    budget_tokens: int,
    allow_whole: bool = True,
) -> GroundedContext:
    """Sources for ``question`` from ``collections`` within ``budget_tokens`` (see module)."""
    names = [n for n in dict.fromkeys(collections) if library.exists(n)]
    if not names:
        return GroundedContext("none", question, user_message=question)
    sources = _whole(library, names, budget_tokens) if allow_whole else None
    mode = "whole"
    if sources is None:
        sources, mode = _retrieve(library, names, question, budget_tokens), "retrieved"
    if not sources:
        listed = ", ".join(names)
        return GroundedContext(
            "none",
            question,
            (),
            SYSTEM_NOTHING.format(names=listed),
            question,
            estimate_tokens(SYSTEM_NOTHING),
            f"Nothing in {listed} matches this question.",
            tuple(names),
        )
    message = format_sources(sources, question)
    return GroundedContext(
        mode,
        question,
        tuple(sources),
        SYSTEM_GROUNDED,
        message,
        estimate_tokens(message) + estimate_tokens(SYSTEM_GROUNDED),
        None,
        tuple(names),
    )


def conversation_context(
    store,
    library: DocsLibrary,
    conv_id: int,
    question: str,
    n_ctx: int,
    history_tokens: int,
    answer_tokens: int = DEFAULT_ANSWER_TOKENS,
) -> GroundedContext:
    """``prepare_context`` for the collections attached to conversation ``conv_id``."""
    names = store.attached_collections(conv_id)
    budget = context_budget(n_ctx, history_tokens, answer_tokens)
    return prepare_context(library, names, question, budget)


def with_sources(stats: dict | None, context: GroundedContext) -> dict | None:
    """A message's stats with the context's sources under "sources" (stored and exported
    with the message; None stays None when there are no sources)."""
    if not context.sources:
        return stats
    return {**(stats or {}), "sources": context.sources_json()}


def message_sources(message) -> list[Source]:
    """The sources stored with a message (``with_sources``), for the citation panel."""
    stats = getattr(message, "stats", None) or {}
    return [Source.from_dict(item) for item in stats.get("sources", [])]


def history_tokens(messages: list[dict]) -> int:
    """Estimated tokens of chat messages ({role, content}), for ``context_budget``."""
    return sum(estimate_tokens(str(m.get("content", ""))) + 4 for m in messages)


def grounded_messages(history: list[dict], context: GroundedContext) -> list[dict]:
    """The messages for the model: ``history`` with the context's instruction added to its
    system message (or as one), then the question with its numbered sources."""
    messages = [dict(m) for m in history]
    if context.system_prompt:
        if messages and messages[0].get("role") == "system":
            messages[0]["content"] = f"{messages[0]['content']}\n\n{context.system_prompt}"
        else:
            messages.insert(0, {"role": "system", "content": context.system_prompt})
    return [*messages, {"role": "user", "content": context.user_message or context.question}]
