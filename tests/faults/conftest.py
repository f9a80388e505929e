"""Fixtures for resource faults: small and read-only file systems (tmpfs mounts, as root) and
children run as the user would run them."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

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


def run_app(
    args: list[str], home: Path, *, module: str = "app.cli", timeout: float = 300, **env: str
) -> subprocess.CompletedProcess:
    """``python -m MODULE ARGS`` (``module`` "": ``python ARGS``) with the app's home at
    ``home`` (text output captured)."""
    return subprocess.run(
        [sys.executable, *(["-m", module] if module else []), *args],
        cwd=ROOT,
        env={**os.environ, "QWQ_DESKTOP_HOME": str(home), "QT_QPA_PLATFORM": "offscreen", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
