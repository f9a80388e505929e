"""Context shift: when old turns leave the window, keep the KV cache of what stays.

A chat that outgrows the context window drops its oldest exchanges (context_fit.py). The new
prompt is then the system prompt followed by messages that are already in the KV cache, only at
later positions. Instead of evaluating them again (minutes per turn for QwQ-32B at 32K on a
laptop CPU), the dropped span is removed from the cache and what follows is moved back over it
(llama.cpp's `llama_memory_seq_rm` / `llama_memory_seq_add`: the mechanism of llama-server's
context shift; RoPE positions are corrected by llama.cpp). The turn then evaluates about the
new message only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Below this many reusable tokens a shift saves less than it risks (and costs a K-shift pass).
MIN_SHIFT_GAIN = 16


@dataclass(frozen=True)
class Shift:
    """Cache tokens [start, start + removed) go; the ``kept`` tokens after them move back to
    ``start``, where the new prompt has them too."""

    start: int
    removed: int
    kept: int


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens ``a`` and ``b`` share."""
    n = min(len(a), len(b))
    differ = np.flatnonzero(np.asarray(a[:n]) != np.asarray(b[:n]))
    return int(differ[0]) if len(differ) else n


def plan_shift(cached: Sequence[int], prompt: Sequence[int], prefix: int) -> Shift | None:
    """The shift that reuses the most of ``cached`` for ``prompt`` beyond their common
    ``prefix``, or None when none reuses at least MIN_SHIFT_GAIN tokens."""
    cache = np.asarray(cached, dtype=np.int64)
    want = np.asarray(prompt, dtype=np.int64)[prefix:]
    if len(want) < MIN_SHIFT_GAIN or len(cache) <= prefix + 1:
        return None
    tail = cache[prefix:]
    best: Shift | None = None
    # Candidate offsets: where the cache holds the first token the prompt still needs.
    for d in np.flatnonzero(tail[1:] == want[0]) + 1:
        n = min(len(tail) - d, len(want))
        same = tail[d : d + n] == want[:n]
        kept = int(n if same.all() else np.argmin(same))
        if kept >= MIN_SHIFT_GAIN and (best is None or kept > best.kept):
            best = Shift(prefix, int(d), kept)
    return best


def apply_shift(llama, shift: Shift) -> bool:
    """Move the cache of ``llama`` (a llama_cpp.Llama) by ``shift``; False when this model's
    cache cannot be shifted (then nothing changed)."""
    import llama_cpp

    memory = llama_cpp.llama_get_memory(llama.ctx)
    if memory is None or not llama_cpp.llama_memory_can_shift(memory):
        return False
    start, removed, kept = shift.start, shift.removed, shift.kept
    end = start + removed
    if not llama_cpp.llama_memory_seq_rm(memory, 0, start, end):
        return False
    llama_cpp.llama_memory_seq_add(memory, 0, end, end + kept, -removed)
    # Whatever followed the kept tokens is stale: Llama.eval removes the cache beyond n_tokens.
    ids = llama.input_ids
    ids[start : start + kept] = ids[end : end + kept].copy()
    llama.n_tokens = start + kept
    return True
