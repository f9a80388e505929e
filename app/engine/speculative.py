"""Exact speculative decoding: drafts from prompt lookup or from a small draft model.

Replies often repeat what the conversation already holds (code being edited, a quoted passage,
names). After each token the last few tokens are looked up earlier in the conversation; the
tokens that followed there are a *draft* (``lookup_draft``). A small model of the same
vocabulary can propose the draft instead (draft_model.py). The draft is evaluated in one batch
together with the current token, with logits at every position, and the reply's own sampler
then samples position by position: while the sampled token equals the draft token, the draft
token is accepted (its cache entry is already computed); the first mismatch is kept as the next
token and the rest of the draft is dropped from the cache. Every emitted token is sampled from
the model's own distribution at its position, in order, with one draw each: the output is the
one plain decoding gives, up to llama.cpp's batched arithmetic, only faster when drafts hit.
(That caveat is not only the last bits: with the CPU build here, Gemma 3 270M Q4_K_M's logits
for the second and later tokens of a batch of 4 or more differ from one-token evaluation by up
to ~0.9, so a near tie can go the other way; batches of 1-3 tokens and the tiny f32 test models
agree exactly.)

`Speculator` sits between the engine's decode loop and llama.cpp: the loop asks it for the
next token and hands each token back to be put into the cache.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

import numpy as np

# (tokens so far, most tokens wanted) -> the draft
Drafter = Callable[[Sequence[int], int], list[int]]

DRAFT_MODES = ("lookup", "none")  # and "model" when a draft model is loaded
MAX_NGRAM = 4  # longest suffix looked up
MIN_NGRAM = 2  # shorter matches draft noise
MAX_DRAFT = 10  # tokens drafted at a time by prompt lookup
# The draft length adapts: it doubles (up to DRAFT_LIMIT) while drafts are accepted whole and
# falls back to what was accepted plus one after a miss, so that text unlike the conversation
# costs verification batches of one or two tokens, not ten.
FIRST_DRAFT = 4
DRAFT_LIMIT = 16


def lookup_draft(history: Sequence[int], max_draft: int = MAX_DRAFT) -> list[int]:
    """Up to ``max_draft`` (MAX_DRAFT at most) tokens that followed the latest earlier
    occurrence of the longest suffix of ``history`` (MAX_NGRAM down to MIN_NGRAM tokens);
    empty when the suffix occurs nowhere else."""
    max_draft = min(max_draft, MAX_DRAFT)
    if max_draft <= 0 or len(history) <= MIN_NGRAM:
        return []
    tokens = np.asarray(history, dtype=np.int64)
    n = len(tokens)
    # Candidate ends: earlier positions holding the last token (newest first).
    ends = np.flatnonzero(tokens[:-1] == tokens[-1])[::-1]
    for size in range(min(MAX_NGRAM, n - 1), MIN_NGRAM - 1, -1):
        suffix = tokens[n - size :]
        for end in ends:
            start = end - size + 1
            if start >= 0 and np.array_equal(tokens[start : end + 1], suffix):
                return tokens[end + 1 : end + 1 + max_draft].tolist()
    return []


class Speculator:
    """Next tokens for the decode loop of one turn, drafted and verified where it pays."""

    def __init__(
        self,
        llama,
        sampler,
        history: list[int],
        drafter: Drafter | None,
        n_ctx: int,
        n_batch: int,
    ) -> None:
        self.llama, self.sampler, self.drafter = llama, sampler, drafter
        self.history = history  # prompt + reply so far (token ids)
        self.limit = min(n_ctx, n_batch)
        self.n_ctx = n_ctx
        self._ready: deque[tuple[int, int | None]] = deque()  # (token, cache position or None)
        self._last: int | None = None  # cache position of the last token committed
        self.drafted = 0
        self.accepted = 0
        self.draft_length = FIRST_DRAFT

    def next_token(self) -> tuple[int, int | None]:
        """The next token of the reply, and its cache position when a verified draft already
        put it there (None: not in the cache yet)."""
        if self._ready:
            return self._ready.popleft()
        return self.sampler.sample(self.llama._ctx, -1), None

    def commit(
        self, token: int, position: int | None, extra: list[int], evaluate: Callable
    ) -> None:
        """Put ``token`` (and ``extra`` tokens the engine injects after it) into the cache.
        ``evaluate`` is the engine's plain evaluation (llama.eval)."""
        self.history.append(token)
        if position is not None:
            self._last = position
            if extra:  # what was verified after this token no longer follows it
                self._ready.clear()
                self.llama.n_tokens = position + 1
                self.history.extend(extra)
                evaluate(extra)
                self._last = self.llama.n_tokens - 1
            return
        self._ready.clear()
        draft = [] if extra or self.drafter is None else self._draft()
        if not draft:
            self.history.extend(extra)
            evaluate([token, *extra])
            self._last = self.llama.n_tokens - 1
            return
        self._last = self.llama.n_tokens
        self._verify(token, draft)

    def _draft(self) -> list[int]:
        room = min(self.n_ctx - self.llama.n_tokens, self.limit) - 2
        room = min(room, self.draft_length)
        return self.drafter(self.history, room) if room > 0 else []

    def _verify(self, token: int, draft: list[int]) -> None:
        llama = self.llama
        base = llama.n_tokens
        batch = [token, *draft]
        llama._ctx.kv_cache_seq_rm(-1, base, -1)
        llama._batch.set_batch(batch=batch, n_past=base, logits_all=True)
        llama._ctx.decode(llama._batch)
        llama.input_ids[base : base + len(batch)] = batch
        self.drafted += len(draft)
        accepted = 0
        for i, guess in enumerate(draft):
            sampled = self.sampler.sample(llama._ctx, i)
            if sampled != guess:
                self._ready.append((sampled, None))
                break
            self._ready.append((guess, base + 1 + i))
            accepted += 1
        else:
            self._ready.append((self.sampler.sample(llama._ctx, len(draft)), None))
        self.accepted += accepted
        if accepted == len(draft):
            self.draft_length = min(DRAFT_LIMIT, 2 * self.draft_length)
        else:
            self.draft_length = accepted + 1
        # The cache keeps the token and the accepted draft; Llama.eval drops the rest later.
        llama.n_tokens = base + 1 + accepted

    def settle(self) -> None:
        """At the end of the turn: the cache ends after the last token committed (verified
        draft tokens the reply did not reach are dropped by the next evaluation)."""
        self._ready.clear()
        if self._last is not None:
            self.llama.n_tokens = self._last + 1
