"""The engine thread: one QThread owns the model; the GUI talks to it through ``EngineClient``.

Rules that keep the GUI smooth and correct:

* Every engine call (load, generation, token counting) runs in the worker thread.
* The worker batches streamed pieces and emits at most one ``deltas`` signal per ~16 ms.
* Every request carries an id. A new turn or Stop cancels the running one (its ``threading.Event``
  is checked at every token) and ``EngineClient`` drops signals whose id is not current, so a
  cancelled turn's late tokens never reach the view.
* A load reports llama.cpp's progress (at most one ``loadProgress`` per ~50 ms) and stops at the
  next report once its ``threading.Event`` is set: by Cancel, by a newer load, or by shutdown,
  which therefore never waits for a big model to finish loading.
* The worker persists the streamed reply itself through ``StreamingSaver`` (saved at least every
  second), so a busy or killed GUI loses at most a second of text.
* Worker signals are connected only to methods of ``EngineClient``, a QObject living in the GUI
  thread, so its slots run in the GUI thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from PySide6.QtCore import QMetaObject, QObject, Qt, QThread, Signal, Slot

from app.errors import AppError
from app.store import ConversationStore, StoreError, StreamingSaver

log = logging.getLogger(__name__)

EMIT_INTERVAL_S = 0.016
PROGRESS_INTERVAL_S = 0.05  # at most ~20 load-progress signals a second


@dataclass(frozen=True)
class ModelInfo:
    """What the GUI shows about a loaded model."""

    path: str
    facts: Any  # app.engine.ModelFacts
    plan: Any  # app.engine.MemoryPlan
    default_sampling: Any  # app.engine.SamplingParams
    device: str  # what llama.cpp really did: "CPU" or "CUDA0: 64/64 layers"
    load_seconds: float
    offloaded_layers: int | None = None  # from llama.cpp's log; None when it said nothing
    total_layers: int | None = None
    gpu_backend: str | None = None  # the GPU backend this build offers ("CUDA", "Metal", ...)
    requested_gpu_layers: int | None = None  # what the user asked for (None = planner decides)

    @property
    def name(self) -> str:
        return self.facts.name or self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class UserFacingError:
    """An error as the user reads it: what happened, what to try, other options."""

    message: str
    hint: str | None = None
    alternatives: tuple[str, ...] = ()
    expected: bool = True  # False: a bug, logged with its traceback

    def text(self) -> str:
        parts = [self.message.rstrip(".") + "."]
        if self.hint:
            parts.append(self.hint[:1].upper() + self.hint[1:].rstrip(".") + ".")
        if self.alternatives:
            parts.append("Options: " + "; ".join(self.alternatives) + ".")
        return " ".join(parts)


@dataclass
class TurnRequest:
    """One chat turn: the prompt messages and the assistant message to stream into."""

    message_id: int
    messages: list[dict]
    params: Any  # app.engine.SamplingParams
    cancel: threading.Event = field(default_factory=threading.Event)
    request_id: int = 0


@dataclass
class LoadRequest:
    """One model load; setting ``cancel`` (from any thread) stops it at llama.cpp's next
    progress report."""

    path: str
    options: Any  # app.engine.LoadOptions
    cancel: threading.Event = field(default_factory=threading.Event)
    request_id: int = 0


def describe_error(exc: BaseException, doing: str) -> UserFacingError:
    """Turn an exception into a readable message; unexpected ones are marked as bugs."""
    from app.engine.errors import InsufficientMemoryError

    if isinstance(exc, InsufficientMemoryError):
        return UserFacingError(exc.message, exc.hint, tuple(exc.alternatives))
    from quantize.errors import QuantizeToolError

    if isinstance(exc, (AppError, QuantizeToolError)):
        return UserFacingError(exc.message, exc.hint or None)
    if isinstance(exc, MemoryError):
        return UserFacingError(
            f"Ran out of memory while {doing}", "close other programs or choose a smaller model"
        )
    return UserFacingError(
        f"Unexpected error while {doing}: {type(exc).__name__}: {exc}",
        "this is a bug in QwQ Desktop; the details are in the log",
        expected=False,
    )


class _PieceBatcher:
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


class EngineWorker(QObject):
    """Lives in the engine thread and owns the ``ChatEngine``. Use it only via ``EngineClient``."""

    loaded = Signal(int, object)  # request id, ModelInfo
    loadFailed = Signal(int, object)  # request id, UserFacingError
    loadProgress = Signal(int, float)  # request id, fraction loaded (0..1)
    loadCancelled = Signal(int)  # request id; no model is loaded afterwards
    deltas = Signal(int, object)  # request id, list[(channel, text)]
    contextNotice = Signal(int, object)  # request id, app.engine.ContextNotice
    turnFinished = Signal(int, object, object)  # request id, TurnResult, stats dict
    turnFailed = Signal(int, object)  # request id, UserFacingError
    tokensCounted = Signal(int, int, int)  # request id, prompt tokens, n_ctx

    def __init__(self, store: ConversationStore, hardware: Any = None) -> None:
        super().__init__()
        self._store = store
        self._hardware = hardware  # app.engine.HardwareInfo; None = probe at every load
        self._engine = None

    @Slot(object)
    def load(self, request: LoadRequest) -> None:
        from app.engine import ChatEngine, LoadCancelledError, LoadOptions

        request_id, path = request.request_id, request.path
        self._close_engine()  # the old model's memory is needed for the new one
        if request.cancel.is_set():  # cancelled while it waited for the thread
            self.loadCancelled.emit(request_id)
            return
        reporter = self._progress_reporter(request)
        options = replace(request.options or LoadOptions(), progress=reporter)
        started = time.monotonic()
        try:
            engine = ChatEngine.load(path, options, hardware=self._hardware)
        except LoadCancelledError:
            log.info("Loading %s was cancelled", path)
            self.loadCancelled.emit(request_id)
            return
        except Exception as exc:  # every failure must reach the user
            error = describe_error(exc, "loading the model")
            if not error.expected:
                log.exception("Loading %s failed", path)
            if request.cancel.is_set():  # the user no longer wants this model
                self.loadCancelled.emit(request_id)
            else:
                self.loadFailed.emit(request_id, error)
            return
        if request.cancel.is_set():  # cancelled after llama.cpp's last progress report
            engine.close()
            self.loadCancelled.emit(request_id)
            return
        self._engine = engine
        info = ModelInfo(
            path=path,
            facts=engine.facts,
            plan=engine.plan,
            default_sampling=engine.default_sampling(),
            device=engine.device_summary,
            load_seconds=time.monotonic() - started,
            offloaded_layers=engine.load_report.offloaded_layers,
            total_layers=engine.load_report.total_layers,
            gpu_backend=engine.hardware.gpu_backend,
            requested_gpu_layers=getattr(options, "n_gpu_layers", None),
        )
        self.loaded.emit(request_id, info)

    def _progress_reporter(self, request: LoadRequest) -> Callable[[float], bool]:
        """The function llama.cpp calls (in this thread) while loading: passes throttled
        progress on and answers False, stopping the load, once the request is cancelled."""
        throttle = ProgressThrottle()

        def report(fraction: float) -> bool:
            if request.cancel.is_set():
                return False
            if throttle.due(fraction):
                self.loadProgress.emit(request.request_id, fraction)
            return True

        return report

    @Slot(object)
    def run_turn(self, request: TurnRequest) -> None:
        from app.engine import ContextNotice, TextDelta, TurnFinished

        rid = request.request_id
        if self._engine is None:
            self._finish_without_engine(request)
            return
        try:
            saver = StreamingSaver(self._store, request.message_id)
        except StoreError as exc:
            self.turnFailed.emit(rid, describe_error(exc, "saving the reply"))
            return
        batcher = _PieceBatcher()
        thinking_started = answer_started = None
        result = None
        try:
            events = self._engine.stream_chat(
                request.messages, request.params, cancel=request.cancel
            )
            for event in events:
                if isinstance(event, TextDelta):
                    now = time.monotonic()
                    if event.channel == "thinking" and thinking_started is None:
                        thinking_started = now
                    if event.channel == "answer" and answer_started is None:
                        answer_started = now
                    saver.append(event.channel, event.text)
                    batch = batcher.add(event.channel, event.text)
                    if batch:
                        self.deltas.emit(rid, batch)
                elif isinstance(event, ContextNotice):
                    self.contextNotice.emit(rid, event)
                elif isinstance(event, TurnFinished):
                    result = event.result
        except Exception as exc:
            error = describe_error(exc, "generating the reply")
            if not error.expected:
                log.exception("Generation failed")
            self._emit_rest(rid, batcher)
            self._finish_saver(saver, "error", {"error": error.text()})
            self.turnFailed.emit(rid, error)
            return
        self._emit_rest(rid, batcher)
        stats = result.stats.to_dict() if result is not None else {}
        stats["model"] = self._engine.facts.name
        if thinking_started is not None:
            stats["thinking_s"] = round((answer_started or time.monotonic()) - thinking_started, 2)
        cancelled = request.cancel.is_set() or stats.get("stop_reason") == "cancelled"
        self._finish_saver(saver, "cancelled" if cancelled else "complete", stats)
        self.turnFinished.emit(rid, result, stats)

    @Slot(int, object)
    def count_tokens(self, request_id: int, messages: list[dict]) -> None:
        if self._engine is None:
            return
        try:
            used = self._engine.count_prompt_tokens(messages)
        except Exception:  # a meter reading is not worth an error dialog
            log.exception("Counting prompt tokens failed")
            return
        self.tokensCounted.emit(request_id, int(used), int(self._engine.plan.n_ctx))

    @Slot()
    def unload(self) -> None:
        self._close_engine()

    def _emit_rest(self, rid: int, batcher: _PieceBatcher) -> None:
        rest = batcher.take()
        if rest:
            self.deltas.emit(rid, rest)

    def _finish_saver(self, saver: StreamingSaver, status: str, stats: dict) -> None:
        try:
            saver.finish(status, stats)
        except StoreError as exc:
            self.turnFailed.emit(0, describe_error(exc, "saving the reply"))

    def _finish_without_engine(self, request: TurnRequest) -> None:
        error = UserFacingError("No model is loaded", "load a model first (File → Models…)")
        try:
            self._store.update_message(
                request.message_id, status="error", stats={"error": error.text()}
            )
        except StoreError:
            log.warning("Could not mark message %s as failed", request.message_id)
        self.turnFailed.emit(request.request_id, error)

    def _close_engine(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()


class EngineClient(QObject):
    """GUI-thread handle on the engine thread. Re-emits only the current request's signals."""

    modelLoaded = Signal(object)  # ModelInfo
    modelLoadFailed = Signal(object)  # UserFacingError
    modelLoadProgress = Signal(float)  # fraction loaded (0..1) of the current load
    modelLoadCancelled = Signal()  # the current load stopped on cancel_load(); no model loaded
    turnDeltas = Signal(object)  # list[(channel, text)]
    turnContextNotice = Signal(object)
    turnFinished = Signal(object, object)  # TurnResult | None, stats dict
    turnFailed = Signal(object)  # UserFacingError
    tokensCounted = Signal(int, int)  # prompt tokens, n_ctx

    _loadRequested = Signal(object)
    _turnRequested = Signal(object)
    _countRequested = Signal(int, object)

    def __init__(
        self, store: ConversationStore, parent: QObject | None = None, hardware: Any = None
    ) -> None:
        """``hardware`` (an ``app.engine.HardwareInfo``) replaces the probe the engine runs at
        every load, for a machine described rather than measured."""
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("EngineThread")
        self._worker = EngineWorker(store, hardware)
        self._worker.moveToThread(self._thread)
        self._next_id = 0
        self._load: LoadRequest | None = None
        self._turn: TurnRequest | None = None
        self._count_id = -1
        self._shut_down = False
        self.model: ModelInfo | None = None

        self._loadRequested.connect(self._worker.load)
        self._turnRequested.connect(self._worker.run_turn)
        self._countRequested.connect(self._worker.count_tokens)
        self._worker.loaded.connect(self._on_loaded)
        self._worker.loadFailed.connect(self._on_load_failed)
        self._worker.loadProgress.connect(self._on_load_progress)
        self._worker.loadCancelled.connect(self._on_load_cancelled)
        self._worker.deltas.connect(self._on_deltas)
        self._worker.contextNotice.connect(self._on_context_notice)
        self._worker.turnFinished.connect(self._on_turn_finished)
        self._worker.turnFailed.connect(self._on_turn_failed)
        self._worker.tokensCounted.connect(self._on_tokens_counted)
        self._thread.start()

    # -- requests (GUI thread) -------------------------------------------------------------

    @property
    def loading(self) -> bool:
        return self._load is not None

    @property
    def cancelling(self) -> bool:
        """A load is cancelled and the engine thread has not yet confirmed it stopped."""
        return self._load is not None and self._load.cancel.is_set()

    @property
    def generating(self) -> bool:
        return self._turn is not None

    def load(self, path: str, options: object) -> None:
        """Load ``path`` (replacing any loaded model, stopping a load in progress); answers
        with modelLoaded, modelLoadFailed or (after ``cancel_load``) modelLoadCancelled, and
        reports progress with modelLoadProgress meanwhile."""
        self.stop()
        self._cancel_current_load()
        self.model = None
        self._load = LoadRequest(path, options, request_id=self._new_id())
        self._loadRequested.emit(self._load)

    def cancel_load(self) -> bool:
        """Stop the load in progress at llama.cpp's next progress report (modelLoadCancelled
        follows). False when there is none to cancel."""
        if self._load is None or self._load.cancel.is_set():
            return False
        self._load.cancel.set()
        return True

    def _cancel_current_load(self) -> None:
        load, self._load = self._load, None
        if load is not None:
            load.cancel.set()

    def start_turn(self, message_id: int, messages: list[dict], params: object) -> None:
        """Stream a reply into ``message_id``; cancels any running turn first."""
        self.stop()
        request = TurnRequest(message_id, messages, params, request_id=self._new_id())
        self._turn = request
        self._turnRequested.emit(request)

    def stop(self) -> None:
        """Cancel the running turn; its remaining tokens are dropped."""
        turn, self._turn = self._turn, None
        if turn is not None:
            turn.cancel.set()

    def count_tokens(self, messages: list[dict]) -> None:
        """Measure the prompt for the context meter (answers with tokensCounted)."""
        if self.model is None:
            return
        self._count_id = self._new_id()
        self._countRequested.emit(self._count_id, messages)

    def shutdown(self) -> None:
        """Cancel work, free the model in its own thread and stop the thread. Idempotent."""
        if self._shut_down:
            return
        self._shut_down = True
        self.stop()
        self._cancel_current_load()  # so unloading does not wait for a big load to finish
        if self._thread.isRunning():
            QMetaObject.invokeMethod(
                self._worker, "unload", Qt.ConnectionType.BlockingQueuedConnection
            )
            self._thread.quit()
            self._thread.wait()
        self.model = None

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # -- worker signals (run in the GUI thread) -------------------------------------------

    def _current_load(self, request_id: int) -> bool:
        return self._load is not None and self._load.request_id == request_id

    @Slot(int, object)
    def _on_loaded(self, request_id: int, info: ModelInfo) -> None:
        if not self._current_load(request_id):
            return
        # Loaded although cancelled: the cancel came after the worker's last check, so the
        # model is in memory; it is the loaded model now.
        self._load = None
        self.model = info
        self.modelLoaded.emit(info)

    @Slot(int, object)
    def _on_load_failed(self, request_id: int, error: UserFacingError) -> None:
        if not self._current_load(request_id):
            return
        self._load = None
        self.modelLoadFailed.emit(error)

    @Slot(int, float)
    def _on_load_progress(self, request_id: int, fraction: float) -> None:
        if self._current_load(request_id) and not self._load.cancel.is_set():
            self.modelLoadProgress.emit(fraction)

    @Slot(int)
    def _on_load_cancelled(self, request_id: int) -> None:
        if not self._current_load(request_id):
            return
        self._load = None
        self.modelLoadCancelled.emit()

    def _current(self, request_id: int) -> bool:
        return self._turn is not None and self._turn.request_id == request_id

    @Slot(int, object)
    def _on_deltas(self, request_id: int, pieces: list) -> None:
        if self._current(request_id):
            self.turnDeltas.emit(pieces)

    @Slot(int, object)
    def _on_context_notice(self, request_id: int, notice: object) -> None:
        if self._current(request_id):
            self.turnContextNotice.emit(notice)

    @Slot(int, object, object)
    def _on_turn_finished(self, request_id: int, result: object, stats: dict) -> None:
        if not self._current(request_id):
            return
        self._turn = None
        self.turnFinished.emit(result, stats)

    @Slot(int, object)
    def _on_turn_failed(self, request_id: int, error: UserFacingError) -> None:
        if request_id == 0 or self._current(request_id):
            if request_id != 0:
                self._turn = None
            self.turnFailed.emit(error)

    @Slot(int, int, int)
    def _on_tokens_counted(self, request_id: int, used: int, n_ctx: int) -> None:
        if request_id == self._count_id:
            self.tokensCounted.emit(used, n_ctx)
