"""The JSON-lines progress stream, a graceful stop (SIGTERM, cancel file) and the removal of
what a killed run left behind, against a local fake Hub and tiny models."""

from __future__ import annotations

import dataclasses
import json
import signal
import sys

import pytest

from quantize.cli import EXIT_CANCELLED, EXIT_ERROR, EXIT_OK, main
from quantize.events import (
    Cancelled,
    Cleanup,
    Failed,
    Progress,
    Result,
    StepFinished,
    parse_event,
)
from quantize.pipeline import STATE_NAME
from quantize.run_control import folder_lock
from tests.fixtures.fake_hub import FakeHub, isolate_from_hub, wait_until
from tests.fixtures.hf_repo import HFRepoSpec, write_hf_repo
from tests.quantize.child import HeldChild
from tests.quantize.conftest import QUANT_SPEC
from tests.quantize.test_fetch_and_all import REPO_ID, repo_files

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="holds a Linux pipe's size")

# Eight layers: about 100 tensors, so a step's events outgrow the held pipe by far.
# Q8_0 keeps validation passing at that depth.
LONG_SPEC = dataclasses.replace(QUANT_SPEC, n_layer=8)
BUILD = ["--type", "Q8_0", "--threads", "2"]


@pytest.fixture(scope="module")
def long_repo(tmp_path_factory):
    return write_hf_repo(tmp_path_factory.mktemp("hf") / "QwQ-tiny", LONG_SPEC)


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """A fake Hub on 127.0.0.1 that ``HF_ENDPOINT`` (also a child's) points at."""
    isolate_from_hub(monkeypatch, tmp_path)
    with FakeHub() as fake:
        monkeypatch.setenv("HF_ENDPOINT", fake.endpoint)
        yield fake


@pytest.fixture
def held_child(tmp_path):
    """Start ``qwq-quantize --progress jsonl ARGS`` with a held event stream (tests/quantize/
    child.py); killed at the end of the test if still running."""
    children: list[HeldChild] = []

    def start(*args: str) -> HeldChild:
        children.append(HeldChild(["--progress", "jsonl", *args], tmp_path / "stderr.txt"))
        return children[-1]

    yield start
    for child in children:
        child.close()


def run_jsonl(capsys, *args: str) -> tuple[int, list]:
    """``main`` with --progress jsonl in this process: exit code and events (every line one)."""
    code = main(["--progress", "jsonl", *args])
    lines = capsys.readouterr().out.splitlines()
    events = [parse_event(line) for line in lines]
    assert None not in events, lines
    return code, events


def outline(events) -> list[str]:
    """Event names (with their step), repeated progress events counted once."""
    names = []
    for event in events:
        step = getattr(event, "step", None)
        name = f"{event.name}:{step}" if step and not isinstance(event, Cancelled) else event.name
        if not names or names[-1] != name or not isinstance(event, Progress):
            names.append(name)
    return names


def partials(folder):
    return sorted(p.name for p in folder.rglob("*.partial"))


def test_jsonl_stream_of_a_run_and_of_its_rerun(hub, tmp_path, quant_repo, capsys):
    hub.add_repo(REPO_ID, repo_files(quant_repo.path))
    work = tmp_path / "work"
    code, events = run_jsonl(capsys, "all", REPO_ID, "--dir", str(work), *BUILD)
    assert code == EXIT_OK
    assert outline(events) == [
        "start",
        "cleanup",
        "step_started:fetch",
        "progress:fetch",  # the small files, before the estimate
        "estimate",
        "progress:fetch",
        "step_finished:fetch",
        "step_started:convert",
        "progress:convert",
        "step_finished:convert",
        "step_started:quantize",
        "progress:quantize",
        "step_finished:quantize",
        "step_started:validate",
        "log",
        "step_finished:validate",
        "result",
    ]
    convert = [e for e in events if isinstance(e, Progress) and e.step == "convert"]
    assert [e.done for e in convert] == sorted(e.done for e in convert)
    assert convert[-1].done == convert[-1].total and convert[0].unit == "bytes"
    assert {e.unit for e in events if isinstance(e, Progress) and e.step == "quantize"} == {
        "tensors"
    }
    result = events[-1]
    assert isinstance(result, Result) and result.ok and result.validation_passed
    assert result.ran == ["fetch", "convert", "quantize", "validate"] and result.exit_code == 0
    assert result.output == str(work / "qwq-tiny-q8_0.gguf")
    finished = {e.step: e for e in events if isinstance(e, StepFinished)}
    assert finished["convert"].bytes == (work / "qwq-tiny-bf16.gguf").stat().st_size

    hub.stop()  # the rerun skips every step, offline
    code, events = run_jsonl(capsys, "all", REPO_ID, "--dir", str(work), *BUILD)
    assert code == EXIT_OK
    assert outline(events) == [
        "start",
        "cleanup",
        "estimate",
        "step_skipped:fetch",
        "step_skipped:convert",
        "step_skipped:quantize",
        "step_skipped:validate",
        "result",
    ]
    assert events[-1].skipped == ["fetch", "convert", "quantize", "validate"]


def test_a_typed_error_ends_the_stream(hub, tmp_path, capsys):
    repo = write_hf_repo(tmp_path / "src", HFRepoSpec(extra_config={"architectures": ["Foo"]}))
    hub.add_repo("someone/foo", repo_files(repo.path))
    code, events = run_jsonl(capsys, "all", "someone/foo", "--dir", str(tmp_path / "w"))
    assert code == EXIT_ERROR
    error = events[-1]
    assert isinstance(error, Failed) and error.step == "fetch" and error.exit_code == EXIT_ERROR
    assert error.error.type == "UnsupportedArchitectureError" and error.error.expected
    assert "Foo" in error.error.message and error.error.hint


def test_one_run_per_work_folder(hub, tmp_path, quant_repo, capsys):
    hub.add_repo(REPO_ID, repo_files(quant_repo.path))
    work = tmp_path / "work"
    work.mkdir()
    with folder_lock(work):
        code, events = run_jsonl(capsys, "all", REPO_ID, "--dir", str(work))
    assert code == EXIT_ERROR and events[-1].error.type == "RunInProgressError"


@pytest.fixture
def converting(hub, tmp_path, long_repo, held_child):
    """``all`` in a child, held in the middle of its conversion; its work folder."""
    hub.add_repo(REPO_ID, repo_files(long_repo.path))
    work = tmp_path / "work"
    child = held_child("all", REPO_ID, "--dir", str(work), *BUILD)
    child.read_until(lambda e: isinstance(e, Progress) and e.step == "convert")
    assert partials(work)  # the conversion is writing its temporary file
    return child, work


def test_sigterm_mid_conversion_then_the_rerun_continues(hub, converting, capsys):
    child, work = converting
    child.process.send_signal(signal.SIGTERM)
    assert child.drain() == EXIT_CANCELLED
    cancelled = child.events[-1]
    assert isinstance(cancelled, Cancelled) and cancelled.step == "convert"
    assert cancelled.finished == ["fetch"] and cancelled.exit_code == EXIT_CANCELLED
    assert not [e for e in child.events if isinstance(e, StepFinished) and e.step == "convert"]
    assert partials(work) == [] and not (work / "qwq-tiny-bf16.gguf").exists()
    assert set(json.loads((work / STATE_NAME).read_text())) == {"fetch"}

    hub.stop()  # fetched already: the rerun needs no network
    code, events = run_jsonl(capsys, "all", REPO_ID, "--dir", str(work), *BUILD)
    assert code == EXIT_OK
    assert events[-1].ran == ["convert", "quantize", "validate"]
    assert events[-1].skipped == ["fetch"]


def test_the_cancel_file_stops_a_quantisation_between_tensors(tmp_path, long_repo, held_child):
    bf16, out, cancel = tmp_path / "m-bf16.gguf", tmp_path / "m-q8_0.gguf", tmp_path / "stop"
    assert main(["-q", "convert", str(long_repo.path), "-o", str(bf16)]) == EXIT_OK
    args = ["quantize", str(bf16), "-o", str(out), "--type", "Q8_0", "--cancel-file", str(cancel)]
    child = held_child(*args)
    child.read_until(lambda e: isinstance(e, Progress) and e.step == "quantize")
    cancel.touch()
    assert wait_until(lambda: not cancel.exists())  # the child took the request
    assert child.drain() == EXIT_CANCELLED
    assert isinstance(child.events[-1], Cancelled) and child.events[-1].step == "quantize"
    assert partials(tmp_path) == [] and not out.exists()


def test_ctrl_c_stops_a_conversion(tmp_path, long_repo, held_child):
    out = tmp_path / "m-bf16.gguf"
    child = held_child("convert", str(long_repo.path), "-o", str(out))
    child.read_until(lambda e: isinstance(e, Progress))
    child.process.send_signal(signal.SIGINT)
    assert child.drain() == EXIT_CANCELLED
    assert isinstance(child.events[-1], Cancelled) and child.events[-1].step == "convert"
    assert partials(tmp_path) == [] and not out.exists()


def test_a_killed_runs_partial_files_are_removed_on_the_next_start(converting, capsys):
    child, work = converting
    child.process.send_signal(signal.SIGKILL)
    child.close()
    (left,) = (work / name for name in partials(work))
    size = left.stat().st_size
    assert size > 0
    user_files = [
        work / ".notes.partial",
        work / "model.gguf.partial",
        work / ".a.gguf.XYZ.partial",
    ]
    for path in user_files:
        path.write_text("mine")

    code, events = run_jsonl(capsys, "all", REPO_ID, "--dir", str(work), *BUILD)
    assert code == EXIT_OK
    cleanup = events[1]
    assert isinstance(cleanup, Cleanup) and cleanup.folder == str(work)
    assert [(r.path, r.bytes) for r in cleanup.removed] == [(str(left), size)]
    assert cleanup.bytes_freed == size
    assert json.loads(events[1].to_json())["bytes_freed"] == size
    assert all(path.read_text() == "mine" for path in user_files)
    assert not left.exists()


def test_the_terminal_reports_removed_files(tmp_path, long_repo, capsys):
    out = tmp_path / "m.gguf"
    stale = tmp_path / ".m.gguf.0123abcd.partial"
    stale.write_bytes(b"x" * 1234)
    other = tmp_path / ".other.gguf.0123abcd.partial"  # another output's: not this command's
    other.write_bytes(b"y")
    assert main(["-q", "convert", str(long_repo.path), "-o", str(out)]) == EXIT_OK
    printed = capsys.readouterr().out
    assert f"removed 1 partial file(s) left in {tmp_path}" in printed
    assert "(1,234 bytes freed)" in printed
    assert not stale.exists() and other.exists() and out.is_file()
