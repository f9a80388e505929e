"""The per-file download lock holds across processes, and is free again after release.

Each contender is a real process (``LOCKER`` below) driven line by line over its stdin and
stdout, so every step is a handshake: no sleeps.
"""

import os
import subprocess
import sys
import textwrap

import pytest

from quantize.hub.errors import DownloadInProgressError
from quantize.hub.storage import exclusive_lock, lock_file_for

# argv: lock path, mode. "try": take the lock once and say so. "hold": take it, say so, keep it
# until a line arrives on stdin. "hold-late": like "hold", but stop just before the first
# flock() call (the lock file is open) until a line arrives: the moment a release can race.
LOCKER = textwrap.dedent(
    """
    import fcntl, sys
    from pathlib import Path
    from quantize.hub.errors import DownloadInProgressError
    from quantize.hub.storage import exclusive_lock

    path, mode = Path(sys.argv[1]), sys.argv[2]
    if mode == "hold-late":
        real_flock, first = fcntl.flock, [True]

        def late_flock(fd, op):
            if first[0] and op & fcntl.LOCK_EX:
                first[0] = False
                print("opened", flush=True)
                sys.stdin.readline()
            return real_flock(fd, op)

        fcntl.flock = late_flock
    try:
        with exclusive_lock(path, "model.gguf"):
            print("acquired", flush=True)
            if mode != "try":
                sys.stdin.readline()
    except DownloadInProgressError as exc:
        print("busy:", exc.message, "| hint:", exc.hint, flush=True)
    """
)
pytestmark = pytest.mark.skipif(os.name == "nt", reason="drives fcntl.flock")


class Locker:
    """A process contending for the lock."""

    def __init__(self, lock_path, mode: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LOCKER, str(lock_path), mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def says(self) -> str:
        return self.proc.stdout.readline().strip()

    def go_on(self) -> None:
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()

    def finish(self) -> None:
        if self.proc.poll() is None:
            self.go_on()
        assert self.proc.wait(60) == 0
        self.proc.stdin.close()
        self.proc.stdout.close()


def try_once(lock_path) -> str:
    locker = Locker(lock_path, "try")
    answer = locker.says()
    locker.finish()
    return answer


def test_second_process_is_refused_while_the_first_holds_the_lock(tmp_path):
    lock_path = tmp_path / "model.gguf.abc.part.lock"
    holder = Locker(lock_path, "hold")
    try:
        assert holder.says() == "acquired"
        answer = try_once(lock_path)
        assert answer.startswith("busy: model.gguf is already being downloaded")
        assert "stop the other download" in answer
    finally:
        holder.finish()
    assert try_once(lock_path) == "acquired"


def test_a_release_racing_a_new_holder_never_lets_two_hold_it(tmp_path):
    # B opens the lock file while A holds it, and locks it just after A released it: B holds
    # the lock now, so a third process must be refused.
    lock_path = tmp_path / "model.gguf.abc.part.lock"
    a = Locker(lock_path, "hold")
    b = Locker(lock_path, "hold-late")
    try:
        assert a.says() == "acquired"
        assert b.says() == "opened"
        a.finish()
        b.go_on()
        assert b.says() == "acquired"
        assert try_once(lock_path).startswith("busy:")
    finally:
        a.finish()
        b.finish()
    assert try_once(lock_path) == "acquired"


def test_the_same_process_cannot_take_it_twice_and_gets_it_after_release(tmp_path):
    lock_path = tmp_path / "sub" / "model.gguf.abc.part.lock"
    with exclusive_lock(lock_path, "model.gguf"):
        with pytest.raises(DownloadInProgressError) as caught, exclusive_lock(lock_path, "x"):
            pass
        assert "stop the other download" in caught.value.hint
        assert try_once(lock_path).startswith("busy:")
    with exclusive_lock(lock_path, "model.gguf"):
        assert try_once(lock_path).startswith("busy:")
    assert try_once(lock_path) == "acquired"


def test_the_lock_leaves_nothing_in_the_download_folder(tmp_path):
    lock_path = tmp_path / "model.gguf.abc.part.lock"
    with exclusive_lock(lock_path, "model.gguf"):
        assert list(tmp_path.iterdir()) == []
    assert list(tmp_path.iterdir()) == []
    assert lock_file_for(lock_path) == lock_file_for(tmp_path / "." / lock_path.name)
    assert lock_file_for(lock_path) != lock_file_for(tmp_path / "other.part.lock")
