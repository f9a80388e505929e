"""A download placed across file systems (its ``.part`` in the cache, the model folder on
another disk) is copied beside the model first: a kill during that copy left a hidden copy
as big as the model that no run removed. Now the copy is the atomic writer's, and the next
placement of that file removes what a killed one left."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import quantize.hub.storage as storage
from quantize.atomic import partial_target
from tests.reliability.harness import ROOT, child_env

SHM = Path("/dev/shm")

PLACE = """
import sys
from pathlib import Path
from quantize.hub.storage import place_file
place_file(Path(sys.argv[1]), Path(sys.argv[2]))
"""


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if partial_target(p)]


def test_the_next_placement_removes_a_killed_copy(tmp_path, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    left = models / f".model.gguf.0123abcd.p{_dead_pid()}.partial"
    left.write_bytes(b"half a model")
    part = tmp_path / "model.gguf.abc.part"
    part.write_bytes(b"the whole model")
    real_replace = os.replace

    def across_disks(src, dst):
        if Path(src) == part:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(src, dst)

    monkeypatch.setattr(storage.os, "replace", across_disks)
    storage.place_file(part, models / "model.gguf")
    assert (models / "model.gguf").read_bytes() == b"the whole model"
    assert not part.exists() and _leftovers(models) == []


@pytest.mark.slow
@pytest.mark.skipif(
    os.name != "posix" or not SHM.is_dir(), reason="needs SIGKILL and a second file system"
)
def test_a_kill_during_a_copy_across_file_systems_leaves_nothing_for_good(tmp_path):
    if SHM.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("/dev/shm is on the same file system as the test folder")
    models = tmp_path / "models"
    models.mkdir()
    dest = models / "model.gguf"
    part = SHM / f"reliability-{os.getpid()}.part"
    try:
        for _attempt in range(5):
            part.write_bytes(os.urandom(1 << 20) * 128)  # 128 MiB: a copy takes a moment
            child = subprocess.Popen([sys.executable, "-c", PLACE, str(part), str(dest)],
                                     cwd=ROOT, env=child_env(tmp_path / "home"))  # fmt: skip
            deadline = time.monotonic() + 30
            while not _leftovers(models) and child.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.002)
            child.send_signal(signal.SIGKILL)
            child.wait(30)
            if _leftovers(models):
                break
            dest.unlink(missing_ok=True)  # the copy finished first: try again
        assert _leftovers(models) and not dest.exists()
        storage.place_file(part, dest)  # the download run again places its verified part
        assert dest.stat().st_size == 128 << 20 and _leftovers(models) == []
    finally:
        part.unlink(missing_ok=True)
