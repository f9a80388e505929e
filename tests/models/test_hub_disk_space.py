"""Disk space: checked before a download, and a disk filling up during one, on a real tmpfs.

Each test runs its download in a child process inside a private user and mount namespace
(``unshare``) with a tiny tmpfs mounted on the destination, so no root rights are needed and
nothing stays mounted. Skipped where the OS does not allow that.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile

import pytest

from quantize.hub import InsufficientDiskSpaceError
from quantize.hub.storage import DISK_SPACE_MARGIN
from tests.models.helpers import child_env, random_bytes

REPO = "org/disk-GGUF"
MODEL = "model.gguf"
SIZE = 3 * 2**20
MiB = 2**20


def _unshare_works() -> bool:
    exe = shutil.which("unshare")
    if sys.platform != "linux" or exe is None:
        return False
    with tempfile.TemporaryDirectory() as folder:
        probe = subprocess.run(
            [exe, "--user", "--map-root-user", "--mount", "mount", "-t", "tmpfs", "tmpfs", folder],
            capture_output=True,
        )
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _unshare_works(), reason="needs unshare and tmpfs mounts")

CHILD = """
import json, sys
from pathlib import Path
from quantize.hub import HubError, download_file

repo, model, dest, filler_mb = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
filler = dest / "filler.bin"

def fill_disk_once(progress):
    if filler_mb and progress.phase == "downloading" and not filler.exists():
        with open(filler, "wb") as fh:
            try:
                fh.write(b"\\0" * filler_mb * 2**20)
            except OSError:
                pass

def attempt(progress=None):
    try:
        download_file(repo, model, dest, progress=progress)
        return {"ok": True}
    except HubError as exc:
        return {"error": type(exc).__name__, "message": str(exc),
                "needed": getattr(exc, "needed_bytes", None),
                "free": getattr(exc, "free_bytes", None)}

results = [attempt(fill_disk_once)]
results[0]["files"] = sorted(p.name for p in dest.iterdir())
if filler.exists():
    filler.unlink()  # the user frees space and tries again
    results.append(attempt())
    results[1]["files"] = sorted(p.name for p in dest.iterdir())
print(json.dumps(results))
"""


def run_on_tmpfs(endpoint: str, dest, tmpfs_mb: int, filler_mb: int) -> list[dict]:
    dest.mkdir()
    script = f'mount -t tmpfs -o size={tmpfs_mb}m tmpfs "$1" && shift && exec "$@"'
    done = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            script,
            "sh",
            str(dest),
            sys.executable,
            "-c",
            CHILD,
            REPO,
            MODEL,
            str(dest),
            str(filler_mb),
        ],
        env=child_env(endpoint),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def served(fake_hub):
    fake_hub.add_repo(REPO, {MODEL: random_bytes(SIZE)})
    return fake_hub


def test_space_is_checked_before_any_byte_is_fetched(served, tmp_path):
    [result] = run_on_tmpfs(served.endpoint, tmp_path / "small", tmpfs_mb=4, filler_mb=0)
    assert result["error"] == InsufficientDiskSpaceError.__name__
    assert result["needed"] == SIZE + DISK_SPACE_MARGIN
    assert 3 * MiB < result["free"] <= 4 * MiB
    assert "Not enough disk space" in result["message"] and "free at least" in result["message"]
    assert result["files"] == []
    assert served.served_bytes(MODEL) == 0


def test_a_disk_filling_up_mid_download_is_reported_and_resumes(served, tmp_path):
    first, second = run_on_tmpfs(served.endpoint, tmp_path / "fills", tmpfs_mb=20, filler_mb=19)
    assert first["error"] == InsufficientDiskSpaceError.__name__
    assert MODEL not in first["files"]  # nothing unverified under the final name
    assert second == {"ok": True, "files": [MODEL]}
    assert served.served_bytes(MODEL) < 2 * SIZE  # the bytes written before were kept
