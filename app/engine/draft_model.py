"""A small draft model for speculative decoding: same vocabulary, many times cheaper per token.

For QwQ-32B a Qwen2.5-0.5B GGUF reads ~0.4 GB of weights per token against ~20 GB: it proposes
the next few tokens greedily, and the target verifies them in one batch (speculative.py keeps
what the target itself samples, so the output is plain decoding's). The draft's KV cache follows
the conversation: before each proposal it keeps the prefix it shares with the tokens so far,
drops what the target rejected and evaluates only what is new (old turns that left the window
are shifted away as in the target's cache).

Draft and target exchange token ids, so each id must stand for the same text in both:
``check_same_vocabulary`` compares the token lists of both GGUF headers before either model is
loaded. Sizes may differ by llama.cpp's allowance
for padding (QwQ-32B's GGUF lists 152,064 tokens, Qwen2.5-0.5B's 151,936; the 128 extra are
unused padding), never more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from .context_shift import MIN_SHIFT_GAIN, apply_shift, common_prefix, plan_shift
from .errors import DraftModelError
from .llama_calls import clear_kv_memory
from .llama_loader import load_llama
from .load_guard import GuardResult, guard_model_file
from .model_facts import ModelFacts, open_header
from .planner import MemoryPlan
from .threads import ThreadPlan

# llama.cpp's SPEC_VOCAB_MAX_SIZE_DIFFERENCE: padding a converter may add to the token list.
MAX_VOCAB_SIZE_DIFFERENCE = 128
MAX_DRAFT = 16  # tokens proposed at a time (llama-server's default)
MIN_CONFIDENCE = 0.75  # stop drafting below this probability (llama-server's --draft-p-min)

_SAME_FAMILY_HINT = (
    "choose a draft of the same model family (for QwQ-32B: Qwen2.5-0.5B-Instruct), "
    "or use --draft lookup"
)


def token_texts(facts: ModelFacts) -> list[str]:
    """The token list of the GGUF behind ``facts`` (its header only)."""
    tokens = open_header(Path(facts.path)).fields.get("tokenizer.ggml.tokens") or []
    return [str(t) for t in tokens] if isinstance(tokens, list) else []


def check_same_vocabulary(target: ModelFacts, draft: ModelFacts) -> None:
    """Raise DraftModelError unless ``draft``'s token ids mean what ``target``'s do (see the
    module docstring)."""
    ours, theirs = token_texts(target), token_texts(draft)
    name, draft_name = Path(target.path).name, Path(draft.path).name
    if not ours or not theirs:
        raise DraftModelError(
            f"{draft_name if not theirs else name} has no token list to compare",
            _SAME_FAMILY_HINT,
        )
    if abs(len(ours) - len(theirs)) > MAX_VOCAB_SIZE_DIFFERENCE:
        raise DraftModelError(
            f"The draft model {draft_name} has another vocabulary than {name} "
            f"({len(theirs):,} tokens against {len(ours):,})",
            _SAME_FAMILY_HINT,
        )
    common = min(len(ours), len(theirs))
    differ = np.flatnonzero(np.asarray(ours[:common]) != np.asarray(theirs[:common]))
    if len(differ):
        i = int(differ[0])
        raise DraftModelError(
            f"The draft model {draft_name} has another vocabulary than {name} "
            f"(token {i} is {theirs[i]!r} there, {ours[i]!r} here; {len(differ):,} differ)",
            _SAME_FAMILY_HINT,
        )


def check_draft_file(path, target: ModelFacts) -> GuardResult:
    """The draft model at ``path`` once it passed the Python check every model passes
    (load_guard) and has ``target``'s vocabulary; llama.cpp has not seen it yet
    (``probe_checked_file`` next, after the memory plan)."""
    checked = guard_model_file(path, probe=False)
    check_same_vocabulary(target, checked.facts)
    return checked


def load_draft(
    facts: ModelFacts, plan: MemoryPlan, threads: ThreadPlan, seed: int | None, target_vocab: int
) -> DraftModel:
    """Load the checked draft model with the target's context and KV cache type, on the GPU
    only where the plan put it (``plan.draft_gpu_layers``)."""
    draft_plan = replace(plan, n_gpu_layers=plan.draft_gpu_layers)
    llama, _ = load_llama(facts, draft_plan, threads, seed)
    return DraftModel(llama, Path(facts.path).name, target_vocab)


class DraftModel:
    """Greedy proposals from a loaded draft ``Llama`` whose cache follows the conversation."""

    def __init__(self, llama, name: str, target_vocab: int) -> None:
        self.llama = llama
        self.name = name
        # Only tokens both models know may be drafted or evaluated.
        self.n_vocab = min(int(llama.n_vocab()), target_vocab)

    def close(self) -> None:
        if self.llama is not None:
            self.llama.close()
            self.llama = None

    def reset(self) -> None:
        """Forget the cache (the next proposal evaluates the whole conversation)."""
        self.llama.reset()
        clear_kv_memory(self.llama)

    def sync(self, tokens: Sequence[int]) -> bool:
        """Make the cache hold exactly ``tokens`` (evaluating only what it lacks); False when
        ``tokens`` hold one the draft does not know (then it cannot draft here)."""
        llama = self.llama
        cached = llama.input_ids[: llama.n_tokens]
        keep = common_prefix(cached, tokens)
        if not tokens or max(tokens[keep:], default=0) >= self.n_vocab:
            return False
        if len(tokens) - keep >= MIN_SHIFT_GAIN:  # old turns may have left the window
            shift = plan_shift(cached, tokens, keep)
            if shift is not None and apply_shift(llama, shift):
                keep = shift.start + shift.kept
        # The last token is evaluated again when already cached: its logits are needed.
        llama.n_tokens = min(keep, len(tokens) - 1)
        llama.eval(list(tokens[llama.n_tokens :]))
        return True

    def propose(self, history: Sequence[int], max_draft: int) -> list[int]:
        """Up to ``max_draft`` tokens (MAX_DRAFT at most) the draft model would write after
        ``history``, each its most likely token, while it is at least MIN_CONFIDENCE sure."""
        max_draft = min(max_draft, MAX_DRAFT)
        if max_draft <= 0 or not self.sync(history):
            return []
        draft: list[int] = []
        while True:
            token, confidence = self._best_next()
            if confidence < MIN_CONFIDENCE or token >= self.n_vocab:
                break
            draft.append(token)
            if len(draft) >= max_draft:
                break
            self.llama.eval([token])
        return draft

    def _best_next(self) -> tuple[int, float]:
        import llama_cpp

        logits = np.ctypeslib.as_array(
            llama_cpp.llama_get_logits_ith(self.llama.ctx, -1), shape=(self.llama.n_vocab(),)
        )
        token = int(np.argmax(logits))
        confidence = 1.0 / float(np.exp(logits - logits[token]).sum())
        return token, confidence
