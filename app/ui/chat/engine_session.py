"""The model and its thread: ``EngineSession`` runs every engine call as a job on one lane.

Rules that keep the GUI smooth and correct:

* One ``JobLane`` ("EngineThread") owns the ``ChatEngine``: loads, chat turns, token counts
  and saving a stopped reply run there, one after another, so the model is only ever touched
  from that thread.
* A turn is a generator job: it yields ``Deltas`` (pieces batched to at most one item per
  ~16 ms) and ``ContextNotice``s; Stop or a new turn discards it (its late items never reach
  the view, by identity: the controller listens to the job it started), and the lane closes
  it before its next item.
* The turn persists the streamed reply itself through ``StreamingSaver`` (saved at least every
  second), so a busy or killed GUI loses at most a second of text. After Stop, ``save_reply``
  (queued behind the turn, so it writes last) stores exactly what the view shows.
* A turn with attached document collections (``grounding``: the library and the names) is
  grounded on this thread before generating (``app.docs.answer``: search, numbered sources,
  the grounded prompt); its first item is the ``GroundedContext``, and the sources (or the
  "nothing relevant" notice) are stored with the reply's stats.
* A remote endpoint (``connect``: an ``app.remote.RemoteEngine``) takes the model's place in
  the same thread; connecting (asking for its models) is its load. Its turns stream the same
  events; a reply the endpoint cut short keeps the part received, with its stats ("partial").
* The engine's ``EngineGate`` (``self.gate``, app/server/gate.py) is the one queue the chat
  shares with the local API server: a turn (and a token count) holds it, in arrival order with
  the API's requests, so the two never run on the model at once; Stop while it waits gives up.
  A loaded model is published there; asking for a load or closing withdraws it (an API reply
  on it stops at once).
* A load reports llama.cpp's progress (at most one ``modelLoadProgress`` per ~50 ms) and stops
  at the next report once its job is aborted: by Cancel, by a newer load, or by shutdown,
  which therefore never waits for a big model to finish loading.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.errors import AppError, UserFacingError, as_user_error
from app.server.gate import EngineGate, GateCancelled
from app.store import ConversationStore, MessageNotFoundError, StoreError, StreamingSaver
from app.ui.common.jobs import Job, JobLane

from .grounding import docs_stats, ground

log = logging.getLogger(__name__)

EMIT_INTERVAL_S = 0.016
PROGRESS_INTERVAL_S = 0.05  # at most ~20 load-progress signals a second


@dataclass(frozen=True)
class ModelInfo:
    """What the GUI shows about a loaded model."""

    path: str
    facts: Any  # app.engine.ModelFacts (app.remote.RemoteModelFacts for an endpoint)
    plan: Any  # app.engine.MemoryPlan
    default_sampling: Any  # app.engine.SamplingParams
    device: str  # what llama.cpp really did: "CPU" or "CUDA0: 64/64 layers"
    load_seconds: float
    offloaded_layers: int | None = None  # from llama.cpp's log; None when it said nothing
    total_layers: int | None = None
    gpu_backend: str | None = None  # the GPU backend this build offers ("CUDA", "Metal", ...)
    requested_gpu_layers: int | None = None  # what the user asked for (None = planner decides)
    remote: str | None = None  # a remote endpoint's host:port (facts: RemoteModelFacts)

    @property
    def name(self) -> str:
        return self.facts.name or self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Deltas:
    """Streamed text a turn yields: (channel, text) pieces, channel "thinking" or "answer"."""

    pieces: list[tuple[str, str]]


class PieceBatcher:
    """Collect (channel, text) pieces and release them at most every ``interval_s``."""

    def __init__(self, interval_s: float = EMIT_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._pieces: list[list[str]] = []
        self._last = 0.0

    def add(self, channel: str, text: str) -> list[tuple[str, str]] | None:
        if self._pieces and self._pieces[-1][0] == channel:
            self._pieces[-1][1] += text
        else:
            self._pieces.append([channel, text])
        now = time.monotonic()
        if now - self._last >= self.interval_s:
            self._last = now
            return self.take()
        return None

    def take(self) -> list[tuple[str, str]] | None:
        if not self._pieces:
            return None
        out = [(c, t) for c, t in self._pieces]
        self._pieces = []
        return out


class ProgressThrottle:
    """Decide which load-progress reports to pass on: the first, the last (1.0) and at most
    one every ``interval_s`` in between."""

    def __init__(
        self,
        interval_s: float = PROGRESS_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._last_time: float | None = None
        self._last_fraction: float | None = None

    def due(self, fraction: float) -> bool:
        """Whether to pass on this report (remembered as passed when True)."""
        if fraction == self._last_fraction:
            return False
        now = self._clock()
        if (
            fraction < 1.0
            and self._last_time is not None
            and now - self._last_time < self.interval_s
        ):
            return False
        self._last_time, self._last_fraction = now, fraction
        return True


class _Timing:
    """When thinking and the answer started, for the stats' ``thinking_s``."""

    def __init__(self) -> None:
        self.thinking: float | None = None
        self.answer: float | None = None

    def saw(self, channel: str) -> None:
        now = time.monotonic()
        if channel == "thinking" and self.thinking is None:
            self.thinking = now
        if channel == "answer" and self.answer is None:
            self.answer = now

    def add_to(self, stats: dict) -> dict:
        if self.thinking is not None:
            stats["thinking_s"] = round((self.answer or time.monotonic()) - self.thinking, 2)
        return stats


class EngineSession(QObject):
    """GUI-thread handle on the model, which lives in the engine lane's thread.

    ``load`` answers with modelLoaded, modelLoadFailed or (after ``cancel_load``)
    modelLoadCancelled, and modelLoadProgress meanwhile; only the newest load is heard.
    ``start_turn``, ``count_tokens`` and ``save_reply`` return their ``Job``."""

    modelLoaded = Signal(object)  # ModelInfo
    modelLoadFailed = Signal(object)  # UserFacingError
    modelLoadProgress = Signal(float)  # fraction loaded (0..1) of the current load
    modelLoadCancelled = Signal()  # the current load stopped on cancel_load(); no model loaded

    def __init__(
        self, store: ConversationStore, parent: QObject | None = None, hardware: Any = None
    ) -> None:
        """``hardware`` (an ``app.engine.HardwareInfo``) replaces the probe the engine runs at
        every load, for a machine described rather than measured."""
        super().__init__(parent)
        self._store = store
        self._hardware = hardware
        self._engine = None  # app.engine.ChatEngine; touched only in the lane's thread
        self.lane = JobLane("EngineThread", self)
        self.gate = EngineGate()  # shared with the API server (app.ui.window.api_server)
        self.load_job: Job | None = None
        self.turn_job: Job | None = None
        self.count_job: Job | None = None
        self.model: ModelInfo | None = None

    # -- requests (GUI thread) -------------------------------------------------------------
    @property
    def loading(self) -> bool:
        return self.load_job is not None

    @property
    def cancelling(self) -> bool:
        """A load is cancelled and the engine thread has not yet confirmed it stopped."""
        return self.load_job is not None and self.load_job.aborting

    def load(self, path: str, options: object) -> Job:
        """Load ``path`` (replacing any loaded model, stopping a load in progress)."""
        self.stop()
        self.gate.withdraw()  # an API reply on the old model stops now, not after its end
        self._drop_load()
        self.model = None
        job = Job(partial(self._load, path, options), "loading the model")
        job.yielded.connect(self._on_load_progress)
        job.finished.connect(self._on_loaded)
        job.errored.connect(self._on_load_failed)
        job.aborted.connect(self._on_load_cancelled)
        self.load_job = self.lane.submit(job)
        return job

    def connect(self, endpoint: Any) -> Job:
        """Use the remote ``endpoint`` (an ``app.remote.RemoteEndpoint``) in place of a local
        model: a load that asks the endpoint for its models, answered like ``load``. It is not
        published on the gate: the app's API server serves local models only."""
        self.stop()
        self.gate.withdraw()
        self._drop_load()
        self.model = None
        job = Job(partial(self._connect, endpoint), "connecting to the server")
        job.finished.connect(self._on_loaded)
        job.errored.connect(self._on_load_failed)
        job.aborted.connect(self._on_load_cancelled)
        self.load_job = self.lane.submit(job)
        return job

    def unload(self) -> None:
        """Let go of the model or endpoint (closed in its thread); no model afterwards."""
        self.stop()
        self.gate.withdraw()
        self._drop_load()
        self.model = None
        self.lane.submit(lambda job: self._close_engine(), "closing the model")

    def cancel_load(self) -> bool:
        """Stop the load in progress at llama.cpp's next progress report (modelLoadCancelled
        follows). False when there is none to cancel."""
        if self.load_job is None or self.load_job.aborting:
            return False
        self.load_job.abort()
        return True

    def start_turn(
        self, message_id: int, messages: list[dict], params: object, grounding=None
    ) -> Job:
        """Stream a reply into ``message_id`` (a generator job yielding ``Deltas`` and
        ``ContextNotice``s, finishing with (TurnResult | None, stats)); stops any running
        turn first. ``grounding`` (DocsLibrary, collection names) grounds the last user
        message in those collections (a ``GroundedContext`` is yielded first)."""
        self.stop()
        self.turn_job = self.lane.submit(
            partial(self._turn, message_id, messages, params, grounding), "generating the reply"
        )
        return self.turn_job

    def stop(self) -> None:
        """Stop the running turn; nothing more of it reaches the GUI."""
        job, self.turn_job = self.turn_job, None
        if job is not None:
            job.discard()

    def save_reply(self, message_id: int, content: str, thinking: str, status: str) -> Job:
        """Store a reply as the view shows it (after Stop), behind the turn that wrote it."""

        def save(job: Job) -> None:
            try:
                self._store.update_message(
                    message_id, content=content, thinking=thinking, status=status
                )
            except MessageNotFoundError:  # deleted meanwhile: nothing left to save
                pass

        # Not abortable: shutting down right after Stop still saves what the user saw.
        return self.lane.submit(Job(save, "saving the reply", abortable=False))

    def count_tokens(self, messages: list[dict]) -> Job | None:
        """Measure the prompt for the context meter; finishes with (prompt tokens, n_ctx).
        Replaces a count still waiting or running."""
        if self.model is None:
            return None
        if self.count_job is not None:
            self.count_job.discard()
        self.count_job = self.lane.submit(
            partial(self._count, messages), "measuring the conversation"
        )
        return self.count_job

    def shutdown(self) -> None:
        """Cancel work, free the model in its own thread and stop the thread. Idempotent."""
        self.stop()
        self._drop_load()  # so unloading does not wait for a big load to finish
        self.lane.shutdown(final=self._close_engine)
        self.model = None

    def _drop_load(self) -> None:
        job, self.load_job = self.load_job, None
        if job is not None:
            job.discard()

    # -- job results (GUI thread) ----------------------------------------------------------
    @Slot(object)
    def _on_load_progress(self, fraction: float) -> None:
        self.modelLoadProgress.emit(fraction)

    @Slot(object)
    def _on_loaded(self, info: ModelInfo) -> None:
        # Loaded although cancelled: the cancel came after the load's last check, so the
        # model is in memory; it is the loaded model now.
        self.load_job = None
        self.model = info
        self.modelLoaded.emit(info)

    @Slot(object)
    def _on_load_failed(self, error: UserFacingError) -> None:
        self.load_job = None
        self.modelLoadFailed.emit(error)

    @Slot()
    def _on_load_cancelled(self) -> None:
        self.load_job = None
        self.modelLoadCancelled.emit()

    # -- work (engine thread) --------------------------------------------------------------
    def _load(self, path: str, options: Any, job: Job) -> ModelInfo:
        from app.engine import ChatEngine, LoadCancelledError, LoadOptions

        self._close_engine()  # the old model's memory is needed for the new one
        if job.aborting:  # cancelled while it waited for the thread
            raise LoadCancelledError("The load was cancelled")
        throttle = ProgressThrottle()

        def report(fraction: float) -> bool:
            """llama.cpp's progress callback (this thread): False stops the load."""
            if job.aborting:
                return False
            if throttle.due(fraction):
                job.emit(fraction)
            return True

        options = replace(options or LoadOptions(), progress=report)
        started = time.monotonic()
        engine = ChatEngine.load(path, options, hardware=self._hardware)
        if job.aborting:  # cancelled after llama.cpp's last progress report
            engine.close()
            raise LoadCancelledError("The load was cancelled")
        self._engine = engine
        self.gate.publish(engine)
        return _model_info(
            engine,
            path,
            started,
            offloaded_layers=engine.load_report.offloaded_layers,
            total_layers=engine.load_report.total_layers,
            gpu_backend=engine.hardware.gpu_backend,
            requested_gpu_layers=getattr(options, "n_gpu_layers", None),
        )

    def _connect(self, endpoint: Any, job: Job) -> ModelInfo:
        from app.engine import LoadCancelledError
        from app.remote import RemoteEngine

        self._close_engine()
        started = time.monotonic()
        engine = RemoteEngine(endpoint)
        try:
            found = engine.connect(job.cancel)
        except BaseException:
            engine.close()
            raise
        if found is None or job.aborting:
            engine.close()
            raise LoadCancelledError("Connecting was cancelled")
        self._engine = engine
        return _model_info(engine, engine.endpoint.base_url, started, remote=engine.endpoint.host)

    def _turn(
        self, message_id: int, messages: list[dict], params: Any, grounding: Any, job: Job
    ) -> Iterator:
        engine = self._engine
        if engine is None:
            error = AppError("No model is loaded", "load a model first (File → Models…)")
            try:
                self._store.update_message(
                    message_id, status="error", stats={"error": error.text()}
                )
            except StoreError:
                log.warning("Could not mark message %s as failed", message_id)
            raise error
        saver = StreamingSaver(self._store, message_id)
        timing = _Timing()
        context = None
        try:
            with self.gate.hold(job.cancel, who="a chat in the app"):
                if grounding is not None:
                    messages, context = ground(engine, messages, params, grounding)
                    yield context
                result = yield from self._stream(engine, messages, params, job, saver, timing)
        except GateCancelled:  # stopped while an API request had the model
            self._finish_quietly(saver, "cancelled", docs_stats(timing.add_to({}), context))
            return None, {}
        except GeneratorExit:  # stopped between two items: what was generated is saved
            self._finish_quietly(saver, "cancelled", docs_stats(timing.add_to({}), context))
            raise
        except Exception as exc:
            error = as_user_error(exc, "generating the reply")
            stats = _partial_stats(exc, engine, timing, context)  # a remote reply cut short
            self._finish_quietly(saver, "error", {**stats, "error": error.text()})
            raise error from exc
        stats = result.stats.to_dict() if result is not None else {}
        stats["model"] = engine.facts.name
        stats = docs_stats(timing.add_to(stats), context)
        cancelled = job.aborting or stats.get("stop_reason") == "cancelled"
        saver.finish("cancelled" if cancelled else "complete", stats)  # its failure is the error
        return result, stats

    @staticmethod
    def _stream(engine, messages, params, job: Job, saver: StreamingSaver, timing: _Timing):
        from app.engine import ContextNotice, TextDelta, TurnFinished

        batcher = PieceBatcher()
        result = None
        events = engine.stream_chat(messages, params, cancel=job.cancel)
        try:
            for event in events:
                if isinstance(event, TextDelta):
                    timing.saw(event.channel)
                    saver.append(event.channel, event.text)
                    batch = batcher.add(event.channel, event.text)
                    if batch:
                        yield Deltas(batch)
                elif isinstance(event, ContextNotice):
                    yield event
                elif isinstance(event, TurnFinished):
                    result = event.result
        except Exception:
            rest = batcher.take()  # the text before the failure is shown as it is saved
            if rest:
                yield Deltas(rest)
            raise
        finally:
            events.close()
        rest = batcher.take()
        if rest:
            yield Deltas(rest)
        return result

    @staticmethod
    def _finish_quietly(saver: StreamingSaver, status: str, stats: dict) -> None:
        """Finish the saver on a path that already has its error (or was stopped): a failed
        save here is logged, never a second error."""
        try:
            saver.finish(status, stats)
        except StoreError as exc:
            log.warning("Could not save the reply (%s): %s", status, exc)

    def _count(self, messages: list[dict], job: Job) -> tuple[int, int]:
        if self._engine is None:
            raise AppError("No model is loaded", "load a model first")
        with self.gate.hold(job.cancel, who="a chat in the app"):
            used = self._engine.count_prompt_tokens(messages)
        return int(used), int(self._engine.plan.n_ctx)

    def _close_engine(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            self.gate.withdraw()
            engine.close()


def _model_info(engine, path: str, started: float, **more: Any) -> ModelInfo:
    """What the GUI shows of the ``engine`` just loaded (or connected) from ``path``."""
    return ModelInfo(
        path=path,
        facts=engine.facts,
        plan=engine.plan,
        default_sampling=engine.default_sampling(),
        device=engine.device_summary,
        load_seconds=time.monotonic() - started,
        **more,
    )


def _partial_stats(exc: Exception, engine, timing: _Timing, context: Any) -> dict:
    """The stats of the part received before a remote failure (``error.partial``), else {}."""
    partial = getattr(exc, "partial", None)
    if partial is None:
        return {}
    stats = {**partial.stats.to_dict(), "model": engine.facts.name, "partial": True}
    return docs_stats(timing.add_to(stats), context)
