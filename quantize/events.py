"""The machine-readable progress stream of qwq-quantize (``--progress jsonl``), schema 1.

One JSON object per line, flushed as it happens; ``"event"`` names its kind. Producer (the
tool) and consumers (the app's build runner) share these dataclasses: ``to_json`` writes a line,
``parse_event`` reads one back into the typed event. Consumers ignore fields they do not know.

========================  ===============================================================
``start``                 ``command`` (all, fetch, convert, quantize, validate), ``pid``,
                          ``schema`` (1). First line; the stop signals are handled from here.
``cleanup``               ``folder``, ``removed`` [{``path``, ``bytes``}], ``bytes_freed``:
                          temporary files of an earlier, killed run deleted on start.
``step_started``          ``step`` (fetch, convert, quantize, validate), ``label``.
``step_skipped``          ``step``, ``reason``: done by an earlier run with the same inputs.
``progress``              ``step``, ``unit`` ("bytes" or "tensors"), ``done``, ``total``
                          (null when unknown), ``item`` (file or tensor name), ``phase``
                          (fetch only: checking, downloading, retrying, done).
``step_finished``         ``step``, ``output`` (path or null), ``bytes``, ``seconds``.
``estimate``              ``n_params``, ``download_bytes``, ``disk_needed``, ``free_bytes``,
                          ``seconds`` {convert, quantize, validate}, ``text`` (as printed).
``log``                   ``message``: text a terminal would show (the validation table).
``result``                ``command``, ``ok``, ``exit_code``, ``output``, ``report``,
                          ``validation_passed``, ``ran``, ``skipped``, ``message``. Last line
                          of a run that completed (validation may still have failed).
``cancelled``             ``step`` (or null), ``finished`` (steps done, this or earlier runs),
                          ``exit_code`` (130), ``message``. Last line of a stopped run.
``error``                 ``step`` (or null), ``error`` {``type`` (class name), ``message``,
                          ``hint``, ``expected`` (false: a bug), ``actions`` [{``kind``,
                          ``label``, ``params``}]}, ``exit_code`` (2). Last line of a failed run.
========================  ===============================================================

Order: ``start``, ``cleanup`` (all, convert, quantize), then per step ``step_started``,
``progress``..., ``step_finished`` (or ``step_skipped``), and one last line: ``result``,
``cancelled`` or ``error``. ``all`` starts fetch (its small files) before ``estimate``, and
emits ``estimate`` even when every step is done; ``validate`` adds a ``log`` with its table.
A consumer should treat the process's exit without a last line as a crash (see its stderr).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import ClassVar

SCHEMA = 1


@dataclass(frozen=True)
class Event:
    """Base of every event; ``name`` is the value of its ``"event"`` field."""

    name: ClassVar[str] = ""

    def as_dict(self) -> dict:
        return {"event": self.name, **dataclasses.asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), default=str)


@dataclass(frozen=True)
class Started(Event):
    name: ClassVar[str] = "start"
    command: str
    pid: int = field(default_factory=os.getpid)
    schema: int = SCHEMA


@dataclass(frozen=True)
class RemovedPartial:
    path: str
    bytes: int


@dataclass(frozen=True)
class Cleanup(Event):
    name: ClassVar[str] = "cleanup"
    folder: str
    removed: list[RemovedPartial] = field(default_factory=list)

    @property
    def bytes_freed(self) -> int:
        return sum(r.bytes for r in self.removed)

    def as_dict(self) -> dict:
        return {**super().as_dict(), "bytes_freed": self.bytes_freed}


@dataclass(frozen=True)
class StepStarted(Event):
    name: ClassVar[str] = "step_started"
    step: str
    label: str = ""


@dataclass(frozen=True)
class StepSkipped(Event):
    name: ClassVar[str] = "step_skipped"
    step: str
    reason: str = "done in an earlier run"


@dataclass(frozen=True)
class Progress(Event):
    name: ClassVar[str] = "progress"
    step: str
    unit: str  # "bytes" or "tensors"
    done: int
    total: int | None
    item: str = ""
    phase: str = ""

    @property
    def fraction(self) -> float | None:
        return min(1.0, self.done / self.total) if self.total else None


@dataclass(frozen=True)
class StepFinished(Event):
    name: ClassVar[str] = "step_finished"
    step: str
    output: str | None = None
    bytes: int | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class Estimated(Event):
    name: ClassVar[str] = "estimate"
    n_params: int
    download_bytes: int
    disk_needed: int
    free_bytes: int
    seconds: dict[str, float]
    text: str


@dataclass(frozen=True)
class Log(Event):
    name: ClassVar[str] = "log"
    message: str


@dataclass(frozen=True)
class Result(Event):
    name: ClassVar[str] = "result"
    command: str
    ok: bool
    exit_code: int
    output: str | None = None
    report: str | None = None
    validation_passed: bool | None = None
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    message: str = ""


@dataclass(frozen=True)
class Cancelled(Event):
    name: ClassVar[str] = "cancelled"
    step: str | None
    finished: list[str]
    exit_code: int
    message: str = ""


@dataclass(frozen=True)
class ErrorInfo:
    """A typed error as data: its class name, what went wrong, what to do, whether it was
    expected (false: a bug), and the project error's ``actions`` as {kind, label, params}."""

    type: str
    message: str
    hint: str = ""
    expected: bool = True
    actions: list[dict] = field(default_factory=list)

    @classmethod
    def from_exception(cls, exc: BaseException) -> ErrorInfo:
        message = getattr(exc, "message", None)
        if not isinstance(message, str):  # not the project's error type: a bug
            return cls(type(exc).__name__, str(exc) or repr(exc), "", False)
        actions = [
            {"kind": a.kind, "label": a.label, "params": dict(a.params)}
            for a in getattr(exc, "actions", ())
        ]
        hint = getattr(exc, "hint", None) or ""
        return cls(type(exc).__name__, message, hint, bool(getattr(exc, "expected", True)), actions)


@dataclass(frozen=True)
class Failed(Event):
    name: ClassVar[str] = "error"
    step: str | None
    error: ErrorInfo
    exit_code: int


EVENT_TYPES: dict[str, type[Event]] = {
    cls.name: cls
    for cls in (
        Started,
        Cleanup,
        StepStarted,
        StepSkipped,
        Progress,
        StepFinished,
        Estimated,
        Log,
        Result,
        Cancelled,
        Failed,
    )
}


def parse_event(line: str) -> Event | None:
    """The event a line of the stream holds; None for a line that is not one (stray output)."""
    try:
        data = json.loads(line)
        cls = EVENT_TYPES[data.pop("event")]
        if cls is Failed:
            data["error"] = _build(ErrorInfo, data["error"])
        if cls is Cleanup:
            data["removed"] = [_build(RemovedPartial, item) for item in data["removed"]]
        return _build(cls, data)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _build(cls, data: dict):
    """``cls`` from ``data``, ignoring fields a newer producer added."""
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in known})
