"""Fixtures for resource faults: small and read-only file systems (tmpfs mounts, as root) and
children run as the user would run them."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import (GUI tests here)

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)


def can_mount() -> bool:
    """Whether this process may mount a tmpfs (root on Linux, ``mount`` present)."""
    return sys.platform.startswith("linux") and os.geteuid() == 0 and bool(shutil.which("mount"))


@contextlib.contextmanager
def tmpfs(folder: Path, size: int) -> Iterator[Path]:
    """A file system of ``size`` bytes at ``folder`` for the block (unmounted after)."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _mount("-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder))
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)


def remount(folder: Path, mode: str) -> None:
    """Make the tmpfs at ``folder`` read-only ("ro") or writable again ("rw")."""
    _mount("-o", f"remount,{mode}", str(folder))


@pytest.fixture
def small_disk(tmp_path):
    """``small_disk(size)``: a fresh tmpfs of ``size`` bytes (skips where none can be mounted)."""
    if not can_mount():
        pytest.skip("mounting a small file system needs root on Linux")
    with contextlib.ExitStack() as stack:

        def make(size: int, name: str = "disk") -> Path:
            return stack.enter_context(tmpfs(tmp_path / name, size))

        yield make


def fill(folder: Path) -> Path:
    """Fill the file system of ``folder`` to the last byte; returns the filler file (delete it
    to free the space again)."""
    filler = folder / "filler.bin"
    block = b"\0" * (64 << 10)
    with open(filler, "wb", buffering=0) as handle:
        for size in (len(block), 4096, 512, 1):
            try:
                while True:
                    handle.write(block[:size])
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    return filler


def run_app(
    args: list[str],
    home: Path,
    *,
    module: str = "app.cli",
    timeout: float = 300,
    background: bool = False,
    **env: str,
):
    """``python -m MODULE ARGS`` (``module`` "": ``python ARGS``) with the app's home at
    ``home``: the finished process (text output captured), or with ``background`` the running
    ``Popen`` (pipes for stdout and stderr)."""
    command = [sys.executable, *(["-m", module] if module else []), *args]
    environment = {
        **os.environ,
        **env,
        "QWQ_DESKTOP_HOME": str(home),
        "QT_QPA_PLATFORM": "offscreen",
    }
    if background:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    return subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=timeout
    )


def wait_for(condition, child: subprocess.Popen, timeout: float = 120) -> None:
    """Poll ``condition`` until true; fail (with the child's output) if the child ends first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            out, err = child.communicate()
            pytest.fail(f"the child ended or stalled first (rc {child.returncode}): {err[-2000:]}")
        time.sleep(0.05)
