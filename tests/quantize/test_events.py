"""The event schema round-trips through JSON; the atomic writer's leftovers are recognised by
name only."""

from __future__ import annotations

import json

import pytest

from quantize.atomic import atomic_path, partial_target, remove_stale_partials
from quantize.errors import InsufficientDiskError
from quantize.events import (
    EVENT_TYPES,
    Cancelled,
    Cleanup,
    ErrorInfo,
    Failed,
    Progress,
    RemovedPartial,
    Result,
    Started,
    parse_event,
)

SAMPLES = [
    Started("all"),
    Cleanup("/w", [RemovedPartial("/w/.a.gguf.0123abcd.partial", 42)]),
    Progress("fetch", "bytes", 10, None, "model.safetensors", "checking"),
    Result("all", False, 1, output="/w/m.gguf", validation_passed=False, ran=["validate"]),
    Cancelled("convert", ["fetch"], 130, "stopped"),
    Failed("fetch", ErrorInfo.from_exception(InsufficientDiskError("full", "free some")), 2),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.name)
def test_every_event_round_trips(event):
    line = event.to_json()
    assert "\n" not in line and json.loads(line)["event"] == event.name
    assert parse_event(line) == event


def test_a_newer_producer_and_stray_lines_do_not_break_a_reader():
    newer = {"event": "step_started", "step": "convert", "label": "convert", "eta": 12}
    assert parse_event(json.dumps(newer)).step == "convert"
    assert parse_event('{"event": "telemetry"}') is None
    assert parse_event("llama.cpp says hello") is None
    assert parse_event('{"event": "progress"}') is None  # fields missing
    assert set(EVENT_TYPES) >= {"start", "progress", "result", "cancelled", "error"}


def test_errors_travel_as_data():
    error = ErrorInfo.from_exception(InsufficientDiskError("disk full", "free some space"))
    assert (error.type, error.message, error.hint, error.expected) == (
        "InsufficientDiskError",
        "disk full",
        "free some space",
        True,
    )
    bug = ErrorInfo.from_exception(ZeroDivisionError("division by zero"))
    assert bug.type == "ZeroDivisionError" and bug.expected is False


def test_only_the_atomic_writers_own_leftovers_are_removed(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "m.gguf") as tmp:
        tmp.write_bytes(b"half")
        assert partial_target(tmp) == "m.gguf"
        raise RuntimeError  # the writer's own cleanup removes its file
    assert list(tmp_path.iterdir()) == []
    ours = [tmp_path / ".m.gguf.0123abcd.partial", tmp_path / ".n.json.deadbeef.partial"]
    theirs = [
        tmp_path / ".m.gguf.partial",
        tmp_path / "m.gguf.0123abcd.partial",
        tmp_path / ".m.gguf.0123ABCD.partial",
        tmp_path / ".m.gguf.0123abcd.partial.bak",
    ]
    for path in ours + theirs:
        path.write_bytes(b"12345")
    removed = remove_stale_partials(tmp_path, target="m.gguf")
    assert [(r.path, r.size) for r in removed] == [(ours[0], 5)]
    assert [r.path for r in remove_stale_partials(tmp_path)] == [ours[1]]
    assert all(path.exists() for path in theirs)
    assert remove_stale_partials(tmp_path / "missing") == []
