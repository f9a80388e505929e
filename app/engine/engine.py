"""ChatEngine: one loaded GGUF model and the chat turns streamed from it. No Qt.

One thread should own an engine; calls are serialised by a lock. Generation checks the cancel
event at every token, and llama.cpp's abort callback stops a long prompt evaluation mid-batch.
The KV cache is reused across turns: a follow-up evaluates only tokens past the common prefix
(and, once old turns leave the window, the cache of what stays is shifted: context_shift.py).
Decoding is speculative and exact: drafts from prompt lookup or a draft model of the same
vocabulary (speculative.py, draft_model.py). A llama.cpp failure mid-turn is a TurnError
(turn_errors.py).
Loading (checks, memory plan, llama.cpp) is engine_load.py.
Calls into llama.cpp go through llama-cpp-python's public bindings (llama_calls.py) except the
few that have none, listed there.
"""

from __future__ import annotations

import ctypes
import random
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path

from .chat_format import RenderedPrompt, formatter_for
from .context_fit import fit_conversation
from .context_shift import apply_shift, common_prefix, plan_shift
from .detokenizer import IncrementalDetokenizer
from .draft_model import DraftModel
from .engine_load import N_BATCH, LoadOptions, close_all, load_engine
from .errors import ModelLoadError
from .events import ContextNotice, TextDelta, TurnFinished, TurnResult, TurnStats
from .hardware import HardwareInfo
from .llama_calls import (
    clear_kv_memory,
    make_abort_callback,
    model_vocab,
    set_abort_callback,
)
from .llama_loader import rope_overrides  # noqa: F401 - re-exported
from .llama_log import LoadReport
from .model_facts import ModelFacts
from .model_file_watch import ModelFileWatch
from .planner import MemoryPlan
from .reasoning import CLOSE, ReasoningParser
from .sampling import SamplingParams, enforce_reasoning_rules, preset_for
from .speculative import Drafter, Speculator, lookup_draft
from .stop_strings import StopStringFilter
from .threads import ThreadPlan
from .turn_errors import raised_by_llama_cpp, turn_error

THINK_CLOSE_INJECTION = "\n</think>\n\n"


class ChatEngine:
    """A loaded model plus everything needed to stream chat turns from it."""

    def __init__(
        self,
        llama,
        facts: ModelFacts,
        plan: MemoryPlan,
        threads: ThreadPlan,
        hardware: HardwareInfo,
        load_report: LoadReport,
        draft_model: DraftModel | None = None,
        watches: Sequence[ModelFileWatch] = (),
    ) -> None:
        self.llama = llama
        # The files whose weights are mapped: checked before anything reads them.
        self._watches = list(watches)
        self.draft_model = draft_model
        self.facts = facts
        self.plan = plan
        self.threads = threads
        self.hardware = hardware
        self.load_report = load_report
        self._lock = threading.RLock()
        # One stop event per turn asked for and not yet finished: cancel() sets them all.
        self._turns_lock = threading.Lock()
        self._live_turns: weakref.WeakSet[threading.Event] = weakref.WeakSet()
        self._abort_watch: list[_AnySet | None] = [None]
        self._abort_cb = make_abort_callback(self._abort_watch)
        self._vocab = model_vocab(llama)
        self._piece_cache: dict[int, bytes] = {}
        self._eog_cache: dict[int, bool] = {}
        # Speculative decoding, exact either way: prompt-lookup drafts ("lookup"), the draft
        # model's ("model"), or none.
        self.draft_mode = "model" if draft_model is not None else "lookup"
        self.formatter = formatter_for(facts)
        self._bos_text = facts.bos_text

    # ---- loading -------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        path: str | Path,
        options: LoadOptions | None = None,
        hardware: HardwareInfo | None = None,
    ) -> ChatEngine:
        """Load ``path`` (and a draft model) after its checks and memory plan; raises the
        EngineError subclasses listed in engine_load.load_engine."""
        return load_engine(cls, path, options, hardware)

    def close(self) -> None:
        """Free the model (idempotent)."""
        with self._lock:
            if self.draft_model is not None:
                self.draft_model.close()
                self.draft_model = None
            if self.llama is not None:
                self.llama.close()
                self.llama = None
            close_all(self._watches)

    @property
    def n_ctx(self) -> int:
        return self.plan.n_ctx

    @property
    def device_summary(self) -> str:
        """What really happened at load: device and layers offloaded (from llama.cpp's log)."""
        report = self.load_report
        devices = report.gpu_devices()
        if report.offloaded_layers and devices:
            return f"{', '.join(devices)}: {report.offloaded_layers}/{report.total_layers} layers"
        return "CPU"

    def default_sampling(self) -> SamplingParams:
        """The recommended sampling preset for this model."""
        return preset_for(self.facts)

    # ---- prompts -------------------------------------------------------------------------
    def render(self, messages: Sequence[dict]) -> RenderedPrompt:
        """The exact prompt text for ``messages`` (thinking stripped from history)."""
        return self.formatter.render(messages, add_generation_prompt=True)

    def tokenize_prompt(self, text: str) -> list[int]:
        add_bos = self.facts.add_bos and not (self._bos_text and text.startswith(self._bos_text))
        return self.llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    def count_prompt_tokens(self, messages: Sequence[dict]) -> int:
        """Tokens the prompt for ``messages`` takes (for the context meter)."""
        with self._lock:
            self.check_model_files()
            return len(self.tokenize_prompt(self.render(messages).text))

    def check_model_files(self) -> None:
        """Raise ModelFileChangedError if a loaded model's file (or the draft model's) was
        truncated or rewritten on disk since the load (model_file_watch.py)."""
        for watch in self._watches:
            watch.check()

    def reset_cache(self) -> None:
        """Forget the KV cache (the next turn evaluates its whole prompt)."""
        with self._lock:
            self._forget_cache()

    def _forget_cache(self) -> None:
        self.llama.reset()
        clear_kv_memory(self.llama)
        if self.draft_model is not None:
            self.draft_model.reset()

    def cancel(self) -> None:
        """Stop every turn asked for so far (``stream_chat`` called), running or still waiting
        to start, mid-prompt or mid-reply; turns asked for later are not affected. Safe from any
        thread."""
        with self._turns_lock:
            for stop in list(self._live_turns):
                stop.set()

    # ---- chat ----------------------------------------------------------------------------
    def chat(
        self,
        messages: Sequence[dict],
        params: SamplingParams | None = None,
        cancel: threading.Event | None = None,
    ) -> TurnResult:
        """Run one turn to completion and return the result."""
        result = None
        for event in self.stream_chat(messages, params, cancel):
            if isinstance(event, TurnFinished):
                result = event.result
        assert result is not None
        return result

    def stream_chat(
        self,
        messages: Sequence[dict],
        params: SamplingParams | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[TextDelta | ContextNotice | TurnFinished]:
        """Stream one assistant turn for ``messages``; the last event is always TurnFinished.

        The turn is asked for when this is called, before its first event is read: a ``cancel()``
        from then on stops it, as does setting ``cancel``.
        """
        stop = threading.Event()
        with self._turns_lock:
            self._live_turns.add(stop)
        return self._stream(list(messages), params, _AnySet(stop, cancel or threading.Event()))

    def _stream(self, messages: list[dict], params: SamplingParams | None, cancel: _AnySet):
        try:
            params, notes = enforce_reasoning_rules(params or self.default_sampling(), self.facts)
            with self._lock:
                if self.llama is None:
                    raise ModelLoadError("The model was closed", "load it again")
                self.check_model_files()  # before llama.cpp reads the mapped weights
                try:
                    yield from self._turn(messages, params, cancel, notes)
                except (RuntimeError, ValueError) as exc:
                    if not raised_by_llama_cpp(exc):
                        raise
                    error = turn_error(exc)
                    self._forget_cache()  # whatever the failed call left there is unknown
                    raise error from exc
        finally:
            with self._turns_lock:
                self._live_turns.discard(cancel.events[0])

    def _turn(
        self,
        messages: list[dict],
        params: SamplingParams,
        cancel: _AnySet,
        notes: list[str],
    ):
        t_start = time.perf_counter()
        # Notes of this turn: sampling changed for the model, a template replaced at load.
        stats = TurnStats(n_ctx=self.n_ctx, notes=[*notes, *self.formatter.notes])
        drafter = self._drafter()
        stats.draft = self.draft_mode
        max_tokens = params.max_tokens or self.n_ctx
        reserve = min(max_tokens, max(64, self.n_ctx // 4))
        rendered_holder: list[RenderedPrompt] = []

        def tokenize(msgs: Sequence[dict]) -> list[int]:
            rendered = self.render(msgs)
            rendered_holder[:] = [rendered]
            return self.tokenize_prompt(rendered.text)

        fitted = fit_conversation(messages, tokenize, self.n_ctx, reserve)
        # The last render tried is not always the one kept: render the kept messages again.
        rendered = self.render(fitted.messages) if fitted.dropped_indices else rendered_holder[0]
        prompt = fitted.prompt_tokens
        stats.prompt_tokens = len(prompt)
        stats.dropped_messages = list(fitted.dropped_indices)
        if fitted.dropped_indices:
            yield ContextNotice(fitted.dropped_indices, len(prompt), self.n_ctx)

        parser = ReasoningParser(
            starts_in_thinking=rendered.starts_in_thinking, enabled=self.facts.is_reasoning
        )
        stops = StopStringFilter(rendered.stop_strings)
        detok = IncrementalDetokenizer(self._piece)
        llama = self.llama

        # Prompt: reuse the cached prefix, evaluate the rest (abortable mid-batch).
        t_prompt = time.perf_counter()
        reuse = common_prefix(llama.input_ids[: llama.n_tokens], prompt)
        if fitted.dropped_indices:
            # Old turns left the window: move the cache of what stays instead of evaluating it
            # again (only then: a reply's thinking is never kept in the cache of its answer).
            shift = plan_shift(llama.input_ids[: llama.n_tokens], prompt, reuse)
            if shift is not None and apply_shift(llama, shift):
                reuse = shift.start + shift.kept
                stats.shifted_tokens = shift.kept
        reuse = min(reuse, len(prompt) - 1)
        stats.cached_tokens = reuse
        stats.evaluated_prompt_tokens = len(prompt) - reuse
        llama.n_tokens = reuse
        if not self._eval_abortable(prompt[reuse:], cancel):
            stats.prompt_eval_s = time.perf_counter() - t_prompt
            stats.stop_reason = "cancelled"
            yield TurnFinished(TurnResult("", "", stats))
            return
        if self.draft_mode == "model" and not self._draft_prefill(prompt, cancel):
            stats.prompt_eval_s = time.perf_counter() - t_prompt
            stats.stop_reason = "cancelled"
            yield TurnFinished(TurnResult("", "", stats))
            return
        stats.prompt_eval_s = time.perf_counter() - t_prompt

        llama.set_seed(params.seed if params.seed is not None else random.getrandbits(31))
        sampler = llama._init_sampler(
            top_k=params.top_k,
            top_p=params.top_p,
            min_p=params.min_p,
            temp=params.temperature,
            repeat_penalty=params.repeat_penalty,
            presence_penalty=params.presence_penalty,
        )
        budget = _thinking_budget(params, max_tokens, self.facts.is_reasoning)
        # Room kept for the answer when thinking would otherwise fill the context window.
        answer_room = max(16, min(1024, max_tokens // 4, self.n_ctx // 8))
        spec = Speculator(llama, sampler, list(prompt), drafter, self.n_ctx, N_BATCH)
        t_decode = time.perf_counter()
        stop_reason = "length"
        n_out = 0
        while True:
            if cancel.is_set():
                stop_reason = "cancelled"
                break
            self.check_model_files()  # a file changed mid-reply: stop before the next token
            if n_out >= max_tokens:
                stop_reason = "length"
                break
            if llama.n_tokens >= self.n_ctx:
                stop_reason = "context_full"
                break
            token, position = spec.next_token()
            if stats.time_to_first_token_s is None:
                stats.time_to_first_token_s = time.perf_counter() - t_start
                t_decode = time.perf_counter()
            if self._is_eog(token):
                stop_reason = "eos"
                break
            n_out += 1
            thinking = parser.in_thinking
            if thinking:
                stats.thinking_tokens += 1
            to_eval = [token]
            text = detok.push(token)
            closes_itself = CLOSE in text
            if (
                thinking
                and not closes_itself
                and (
                    (budget is not None and stats.thinking_tokens >= budget)
                    or self.n_ctx - llama.n_tokens <= answer_room
                )
            ):
                forced = self._tokens_for(THINK_CLOSE_INJECTION)
                to_eval += forced
                text += detok.flush() + THINK_CLOSE_INJECTION
                stats.thinking_budget_hit = True
            for delta in parser.feed(text):
                yield from stops.filter(delta)
            if stops.stopped:
                stop_reason = "stop_string"
                break
            if llama.n_tokens + len(to_eval) > self.n_ctx:
                stop_reason = "context_full"
                break
            spec.commit(token, position, to_eval[1:], llama.eval)
        spec.settle()
        stats.drafted_tokens, stats.accepted_tokens = spec.drafted, spec.accepted
        for delta in parser.feed(detok.flush()) + parser.flush():
            yield from stops.filter(delta)
        yield from stops.flush()
        now = time.perf_counter()
        stats.completion_tokens = n_out
        stats.decode_s = now - t_decode
        if n_out > 1 and stats.decode_s > 0:
            stats.tokens_per_s = (n_out - 1) / stats.decode_s
        stats.stop_reason = stop_reason  # type: ignore[assignment]
        yield TurnFinished(TurnResult(stops.answer(parser.answer), parser.thinking, stats))

    # ---- llama.cpp helpers -----------------------------------------------------------------
    def _drafter(self) -> Drafter | None:
        """What drafts tokens for this turn's speculative decoding (None: nothing)."""
        if self.draft_mode == "none":
            return None
        if self.draft_mode == "lookup":
            return lookup_draft
        if self.draft_mode == "model" and self.draft_model is not None:
            return self.draft_model.propose
        raise ValueError(f"unknown draft mode {self.draft_mode!r} (or no draft model loaded)")

    def _eval_abortable(self, tokens: list[int], cancel: _AnySet) -> bool:
        """Evaluate ``tokens``; False if ``cancel`` (set by the caller or ``self.cancel()``)
        stopped it.

        llama.cpp polls the abort callback between graph nodes, so a Stop interrupts even one
        long batch of a big model.
        """
        return self._abortable(self.llama, lambda: self.llama.eval(tokens), cancel)

    def _draft_prefill(self, prompt: list[int], cancel: _AnySet) -> bool:
        """Bring the draft model's cache up to ``prompt`` while the prompt phase runs (so its
        first proposal is quick); False if cancelled."""
        draft = self.draft_model
        return self._abortable(draft.llama, lambda: draft.sync(prompt), cancel)

    def _abortable(self, llama, work, cancel: _AnySet) -> bool:
        """Run ``work`` (evaluations on ``llama``) with the abort callback watching ``cancel``;
        False if it stopped the work."""
        if cancel.is_set():
            return False
        self._abort_watch[0] = cancel
        set_abort_callback(llama, self._abort_cb)
        try:
            work()
            return not cancel.is_set()
        except RuntimeError:
            if cancel.is_set():
                return False
            raise
        finally:
            set_abort_callback(llama, None)
            self._abort_watch[0] = None

    def _piece(self, token: int) -> bytes:
        piece = self._piece_cache.get(token)
        if piece is None:
            import llama_cpp

            buf = ctypes.create_string_buffer(64)
            n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, 64, 0, True)
            if n < 0:
                buf = ctypes.create_string_buffer(-n)
                n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, -n, 0, True)
            piece = buf.raw[:n]
            self._piece_cache[token] = piece
        return piece

    def _is_eog(self, token: int) -> bool:
        eog = self._eog_cache.get(token)
        if eog is None:
            import llama_cpp

            eog = bool(llama_cpp.llama_vocab_is_eog(self._vocab, token))
            self._eog_cache[token] = eog
        return eog

    def _tokens_for(self, text: str) -> list[int]:
        return self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)


def _thinking_budget(params: SamplingParams, max_tokens: int, reasoning: bool) -> int | None:
    """Thinking tokens allowed: the user's budget, else leave a quarter of max_tokens to answer."""
    if not reasoning:
        return None
    auto = max(1, max_tokens - max(32, min(1024, max_tokens // 4)))
    if params.thinking_budget is not None:
        return max(0, min(params.thinking_budget, auto))
    return auto


class _AnySet:
    """Set when any of its events is: a turn's own stop event and the caller's cancel event."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(event.is_set() for event in self.events)
