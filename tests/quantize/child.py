"""Run qwq-quantize as a child process whose event stream the test can hold back.

Its stdout is a pipe of one page (Linux) read one byte at a time: once the test stops reading,
the child can write at most a page more and then waits inside the step it is in. A signal sent
then reaches it at a known place (mid-conversion, mid-quantisation) without any hook in the
tool. ``drain()`` lets it go on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from quantize.events import Event, parse_event

ROOT = Path(__file__).resolve().parents[2]
PIPE_BYTES = 4096


class HeldChild:
    def __init__(self, args: list[str], stderr: Path) -> None:
        import fcntl  # Linux only: the tests using it are skipped elsewhere

        read_end, write_end = os.pipe()
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with open(stderr, "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "quantize.cli", *args],
                stdout=write_end,
                stderr=err,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                env=env,
            )
        os.close(write_end)
        self.fd = read_end
        self.events: list[Event] = []

    def next_event(self) -> Event | None:
        """The next event (read byte by byte, nothing beyond it); None at the end."""
        line = bytearray()
        while not line.endswith(b"\n"):
            byte = os.read(self.fd, 1)
            if not byte:
                return None
            line += byte
        event = parse_event(line.decode())
        assert event is not None, line
        self.events.append(event)
        return event

    def read_until(self, predicate) -> Event:
        while (event := self.next_event()) is not None:
            if predicate(event):
                return event
        raise AssertionError(f"the stream ended first: {[e.name for e in self.events]}")

    def drain(self, timeout: float = 60) -> int:
        """Read the rest of the stream; the exit code."""
        while self.next_event() is not None:
            pass
        code = self.process.wait(timeout)
        self.close()
        return code

    def close(self) -> None:
        """Kill the child if it still runs; close the pipe."""
        if self.process.poll() is None:
            self.process.kill()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        self.process.wait(10)
