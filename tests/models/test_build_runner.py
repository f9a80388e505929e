"""BuildRunner: ``qwq-desktop quantize all`` in a real child process, its typed events, and a
stop that ends it gracefully (killing it only when it does not listen)."""

from __future__ import annotations

import dataclasses
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from app.models.build_runner import BuildError, BuildRunner, Exited, quantize_command
from quantize.cli import EXIT_CANCELLED, EXIT_ERROR, EXIT_OK
from quantize.events import Cancelled, Cleanup, Progress, Result, Started, StepSkipped
from tests.fixtures.hf_repo import write_hf_repo
from tests.quantize.conftest import QUANT_SPEC

ROOT = Path(__file__).resolve().parents[2]
REPO_ID = "Qwen/QwQ-tiny"
ENV = {"PYTHONPATH": str(ROOT)}
BUILD = ("--type", "Q8_0", "--threads", "2")
# Shards of about 8 MB: seconds at the throttled rate, so a stop lands mid-download.
SLOW_SPEC = dataclasses.replace(QUANT_SPEC, n_ff=1024, n_layer=4)


def serve(hub, tmp_path: Path, spec) -> None:
    repo = write_hf_repo(tmp_path / "src", spec)
    hub.add_repo(REPO_ID, {p.name: p.read_bytes() for p in repo.path.iterdir() if p.is_file()})


def runner_for(work: Path, **options) -> BuildRunner:
    return BuildRunner.for_model(
        REPO_ID, work, qtype="Q8_0", extra_args=BUILD[2:], env=ENV, **options
    )


def downloading_a_shard(event) -> bool:
    return (
        isinstance(event, Progress)
        and event.item.endswith(".safetensors")
        and event.phase == "downloading"
        and event.done > 0
    )


def test_the_command_is_the_apps_quantize_command():
    packaged = BuildRunner.for_model("Qwen/QwQ-32B", "/w", executable="/opt/qwq", frozen=True)
    assert packaged.argv == [
        "/opt/qwq",
        "quantize",
        "all",
        "Qwen/QwQ-32B",
        "--type",
        "Q4_K_M",
        "--dir",
        "/w",
        "--progress",
        "jsonl",
        "--cancel-file",
        str(Path("/w") / ".qwq-quantize.cancel"),
    ]
    source = BuildRunner.for_model("Qwen/QwQ-32B", "/w", frozen=False)
    assert source.argv[:4] == [sys.executable, "-m", "app.cli", "quantize"]
    assert quantize_command(["all"], executable="/opt/qwq", frozen=True) == packaged.argv[:3]


def test_a_build_delivers_typed_events_and_ends_with_exited(fake_hub, tmp_path):
    serve(fake_hub, tmp_path, QUANT_SPEC)
    runner = runner_for(tmp_path / "work")
    runner.start()
    events = list(runner.events())
    assert isinstance(events[0], Started) and events[0].command == "all"
    result, exited = events[-2:]
    assert isinstance(result, Result) and result.ok and result.validation_passed
    assert Path(result.output).is_file()
    assert isinstance(exited, Exited) and exited.code == EXIT_OK and not exited.killed
    assert runner.wait(0) == EXIT_OK and not runner.running
    assert runner.outcome() == result


def test_stop_ends_the_child_gracefully_and_the_next_build_continues(fake_hub, tmp_path):
    serve(fake_hub, tmp_path, SLOW_SPEC)
    fake_hub.throttle(2_000_000)
    work = tmp_path / "work"
    runner = runner_for(work)
    runner.start()
    events = []
    for event in runner.events():
        events.append(event)
        if downloading_a_shard(event) and not runner.stop_requested:
            assert runner.stop(grace_s=30, wait=False) is None
    cancelled, exited = events[-2:]
    assert isinstance(cancelled, Cancelled) and cancelled.step == "fetch"
    assert cancelled.exit_code == EXIT_CANCELLED
    assert exited.code == EXIT_CANCELLED and not exited.killed and not runner.killed
    assert not list(work.rglob("*.partial")) and not (work / ".qwq-quantize.cancel").exists()
    assert runner.outcome() == cancelled

    fake_hub.throttle(None)
    again = runner_for(work)
    again.start()
    events = list(again.events())
    assert events[-1].code == EXIT_OK and events[-2].ok
    assert not [e for e in events if isinstance(e, StepSkipped)]  # fetch finished only now


def test_the_cancel_file_alone_stops_it(fake_hub, tmp_path):
    """Windows' way (no SIGTERM there), here on POSIX; events arrive through on_event."""
    serve(fake_hub, tmp_path, SLOW_SPEC)
    fake_hub.throttle(2_000_000)
    events, shard = [], threading.Event()

    def on_event(event) -> None:
        events.append(event)
        if downloading_a_shard(event):
            shard.set()

    runner = runner_for(tmp_path / "work", on_event=on_event, use_signal=False)
    runner.start()
    with pytest.raises(RuntimeError):
        next(runner.events())
    assert shard.wait(60)
    assert runner.stop(grace_s=30) == EXIT_CANCELLED
    assert isinstance(events[-2], Cancelled) and isinstance(events[-1], Exited)
    assert not runner.killed


def test_a_child_that_ignores_the_request_is_killed_and_its_leftovers_removed(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    left = work / ".model.gguf.0123abcd.partial"  # what a killed writer leaves
    left.write_bytes(b"x" * 100)
    deaf = textwrap.dedent(
        """
        import signal, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print('{"event": "start", "command": "all", "pid": 1, "schema": 1}', flush=True)
        print("a stray line", flush=True)
        time.sleep(120)
        """
    )
    runner = BuildRunner([sys.executable, "-c", deaf], work, cancel_file=work / "cancel")
    runner.start()
    stream = runner.events()
    assert isinstance(next(stream), Started)
    assert next(stream).message == "a stray line"  # stray output arrives as a Log event
    assert runner.stop(grace_s=0.5) not in (None, 0)
    cleanup, exited = list(stream)
    assert isinstance(cleanup, Cleanup) and [r.path for r in cleanup.removed] == [str(left)]
    assert exited.killed and runner.killed and not left.exists()
    assert isinstance(runner.outcome(), Cancelled)  # stopped, if the hard way


def test_a_failed_build_raises_the_tools_typed_error(fake_hub, tmp_path):
    runner = runner_for(tmp_path / "work")
    runner.start()
    assert runner.wait(60) == EXIT_ERROR
    with pytest.raises(BuildError) as caught:
        runner.outcome()
    error = caught.value
    assert error.error_type == "HubNotFoundError" and error.step == "fetch"
    assert error.expected and error.message and error.hint


def test_a_child_that_dies_without_a_word_is_a_bug_with_details(tmp_path):
    crash = "import sys; print('Segmentation fault', file=sys.stderr); sys.exit(139)"
    runner = BuildRunner([sys.executable, "-c", crash], tmp_path, cancel_file=tmp_path / "c")
    runner.start()
    assert runner.wait(60) == 139
    with pytest.raises(BuildError) as caught:
        runner.outcome()
    assert not caught.value.expected and "Segmentation fault" in caught.value.details


def test_a_stop_right_after_start_is_not_lost(fake_hub, tmp_path):
    """Before the child handles SIGTERM only the cancel file is used: it is read at start."""
    serve(fake_hub, tmp_path, QUANT_SPEC)
    runner = runner_for(tmp_path / "work")
    runner.start()
    assert runner.stop(grace_s=60) == EXIT_CANCELLED
    assert not runner.killed


def test_asking_twice_signals_once(tmp_path):
    """Closing the window asks twice (the panel, then its job's cleanup); a second SIGTERM
    could land after the child put back the default handler, killing a clean stop (-15)."""
    polite = textwrap.dedent(
        """
        import signal, sys, time
        asked = []
        signal.signal(signal.SIGTERM, lambda *a: asked.append(1))
        print('{"event": "start", "command": "all", "pid": 1, "schema": 1}', flush=True)
        while not asked:
            time.sleep(0.01)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # what leaving the run does
        time.sleep(0.5)
        sys.exit(130)
        """
    )
    runner = BuildRunner([sys.executable, "-c", polite], tmp_path, cancel_file=tmp_path / "c")
    runner.start()
    assert isinstance(next(runner.events()), Started)
    runner.stop(grace_s=30, wait=False)
    time.sleep(0.2)  # the child has taken the first request and restored the default
    assert runner.stop(grace_s=30) == EXIT_CANCELLED and not runner.killed
