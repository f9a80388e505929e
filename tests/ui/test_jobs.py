"""The background-job layer: one lane runs jobs in order; a job ends once with a typed outcome;
abort is checked between a generator's items; a discarded job says nothing more."""

from __future__ import annotations

import threading

import pytest

from app.errors import AppError, InternalError
from app.ui.common.jobs import Job, JobLane

WAIT_MS = 5_000


@pytest.fixture
def lane(qtbot):
    lane = JobLane("TestLane")
    yield lane
    lane.shutdown()


def outcomes(job: Job) -> list:
    seen: list = []
    job.yielded.connect(lambda item: seen.append(("item", item)))
    job.finished.connect(lambda result: seen.append(("finished", result)))
    job.errored.connect(lambda error: seen.append(("errored", error)))
    job.aborted.connect(lambda: seen.append(("aborted",)))
    job.ended.connect(lambda: seen.append(("ended",)))
    return seen


def test_a_job_runs_off_the_gui_thread_and_finishes_with_its_result(lane, qtbot):
    job = Job(lambda job: threading.current_thread() is threading.main_thread())
    seen = outcomes(job)
    with qtbot.waitSignal(job.ended, timeout=WAIT_MS):
        lane.submit(job)
    assert seen == [("finished", False), ("ended",)] and job.outcome == "finished"
    assert not job.running and not lane.busy


def test_items_arrive_in_order_then_the_generators_return_value(lane, qtbot):
    def count(job):
        job.emit("from emit()")
        yield from (1, 2, 3)
        return "done"

    job = Job(count)
    seen = outcomes(job)
    with qtbot.waitSignal(job.ended, timeout=WAIT_MS):
        lane.submit(job)
    assert seen == [
        ("item", "from emit()"),
        ("item", 1),
        ("item", 2),
        ("item", 3),
        ("finished", "done"),
        ("ended",),
    ]


def test_an_abort_is_checked_between_items_and_closes_the_generator(lane, qtbot):
    produced: list[int] = []
    closed = threading.Event()
    go_on = threading.Event()

    def endless(job):
        try:
            n = 0
            while True:
                produced.append(n)
                yield n
                n += 1
                go_on.wait(5)
        finally:
            closed.set()

    job = Job(endless)
    seen = outcomes(job)
    lane.submit(job)
    qtbot.waitUntil(lambda: bool(produced), timeout=WAIT_MS)
    job.abort()
    go_on.set()
    qtbot.waitUntil(lambda: not job.running, timeout=WAIT_MS)
    assert closed.is_set() and job.outcome == "aborted"
    assert seen[-2:] == [("aborted",), ("ended",)]
    assert len(produced) <= 2  # stopped at the next item, not later


def test_errors_arrive_as_typed_exceptions_and_bugs_carry_their_traceback(lane, qtbot):
    expected = AppError("The file is damaged", "download it again")

    def fails(job):
        raise expected

    def bug(job):
        return {}["missing"]

    first, second = Job(fails, "reading the file"), Job(bug, "reading the file")
    seen_first, seen_second = outcomes(first), outcomes(second)
    with qtbot.waitSignal(second.ended, timeout=WAIT_MS):
        lane.submit(first)
        lane.submit(second)
    assert seen_first == [("errored", expected), ("ended",)]
    (_, error), _ = seen_second
    assert isinstance(error, InternalError) and not error.expected
    assert error.message.startswith("Unexpected error while reading the file: KeyError")
    assert "Traceback" in error.details and isinstance(error.__cause__, KeyError)


def test_a_discarded_job_says_nothing_more_and_a_queued_one_never_runs(lane, qtbot):
    release = threading.Event()
    ran: list[str] = []

    def blocking(job):
        release.wait(5)
        return "late"

    running = Job(blocking)
    queued = Job(lambda job: ran.append("queued"))
    newest = Job(lambda job: "newest")
    seen_running, seen_queued, seen_newest = outcomes(running), outcomes(queued), outcomes(newest)
    lane.submit(running)
    lane.submit(queued)
    running.discard()
    queued.discard()
    lane.submit(newest)
    release.set()
    qtbot.waitUntil(lambda: not lane.busy, timeout=WAIT_MS)
    assert seen_running == [] and seen_queued == [] and ran == []
    assert seen_newest == [("finished", "newest"), ("ended",)]


def test_shutdown_is_idempotent_and_still_runs_what_must_not_be_aborted(qtbot):
    lane = JobLane("TestLane")
    release = threading.Event()
    saved: list[str] = []
    lane.submit(lambda job: release.wait(5))
    lane.submit(Job(lambda job: saved.append("saved"), abortable=False))
    lane.submit(lambda job: saved.append("dropped"))
    release.set()
    lane.shutdown(final=lambda: saved.append("final"))
    lane.shutdown()
    assert saved == ["saved", "final"] and not lane.thread.isRunning()
    with pytest.raises(RuntimeError):
        lane.submit(lambda job: None)
