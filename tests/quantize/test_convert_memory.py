"""Peak memory of convert is bounded independently of the model's size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.hf_repo import write_large_hf_repo

MODEL_BYTES = 400 * 10**6
ROOT = Path(__file__).resolve().parents[2]
BOUND_BYTES = 200 * 2**20  # python + numpy + gguf + tokenizers (~70 MB) and the streamed blocks

# Runs convert in a child of a fresh interpreter, whose RUSAGE_CHILDREN then holds exactly the
# converter's peak resident set (kilobytes on Linux).
MEASURE = """
import resource, subprocess, sys
subprocess.run([sys.executable, "-m", "quantize.cli", "-q", "convert", sys.argv[1],
                "--outtype", "f32", "-o", sys.argv[2]], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in kilobytes on Linux only")
def test_peak_memory_stays_below_bound_on_a_larger_model(tmp_path):
    repo = write_large_hf_repo(tmp_path / "big", MODEL_BYTES)
    weights = sum(p.stat().st_size for p in repo.glob("*.safetensors"))
    assert weights > 1.5 * BOUND_BYTES
    out = tmp_path / "big-f32.gguf"
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, str(repo), str(out)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    peak = int(run.stdout.split()[-1]) * 1024
    assert out.stat().st_size > 2 * weights * 0.99  # really converted (bf16 -> f32)
    assert peak < BOUND_BYTES, f"peak RSS {peak / 2**20:.0f} MiB"
