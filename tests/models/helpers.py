"""Helpers shared by the model-manager tests."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

from tests.fixtures.fake_hub import HUB_ENV

REPO_ROOT = Path(__file__).resolve().parents[2]


def random_bytes(n: int, seed: int = 0) -> bytes:
    """Deterministic incompressible test data."""
    return random.Random(seed).randbytes(n)


def child_env(endpoint: str, **extra: str) -> dict[str, str]:
    """Environment for a child Python process that talks to the fake Hub."""
    env = {k: v for k, v in os.environ.items() if k not in HUB_ENV}
    env["HF_ENDPOINT"] = endpoint
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def start_python(code: str, env: dict[str, str], *args: str) -> subprocess.Popen:
    """Run ``code`` in a new Python process (stdout/stderr captured as text)."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def write_unknown_arch_gguf(path: Path) -> Path:
    """A well-formed GGUF whose architecture no llama.cpp knows."""
    import gguf

    writer = gguf.GGUFWriter(str(path), "notanarch")
    writer.add_block_count(1)
    writer.add_context_length(128)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


TINY_FAMILY = {
    "name": "Tiny QwQ",
    "description": "the tiny test model",
    "license": "apache-2.0",
    "homepage": "http://127.0.0.1/",
    "reasoning": True,
    "default_quant": "F32",
    "architecture": "qwen2",
    "parameters_billion": 0.0004,
    "context_length": 4096,
    "n_layer": 2,
    "n_embd": 128,
    "n_head": 4,
    "n_kv_head": 2,
    "head_dim": 32,
    "n_ff": 256,
    "n_vocab": 462,
}


def write_tiny_catalogue(path: Path, repo_id: str, filename: str, data: bytes) -> Path:
    """A catalogue whose primary (and only) model is the tiny GGUF ``data`` at repo/filename,
    with its sha256 published."""
    catalogue = {
        "primary_family": "tiny",
        "families": {"tiny": TINY_FAMILY},
        "files": [
            {
                "id": "tiny-f32",
                "family": "tiny",
                "quant": "F32",
                "repo_id": repo_id,
                "filename": filename,
                "approx_size_bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        ],
    }
    path.write_text(json.dumps(catalogue))
    return path


DRAFT_REPO = "org/tiny-draft-GGUF"
DRAFT_FILE = "tiny-draft.gguf"


def write_draft_catalogue(
    path: Path, repo_id: str, filename: str, data: bytes, draft_data: bytes
) -> Path:
    """write_tiny_catalogue plus a smaller family of the same vocabulary ("tiny-draft", its
    file DRAFT_REPO/DRAFT_FILE holding ``draft_data``) named as the tiny model's draft."""
    write_tiny_catalogue(path, repo_id, filename, data)
    catalogue = json.loads(path.read_text())
    catalogue["files"][0]["approx_size_bytes"] = len(data) + len(draft_data)
    catalogue["families"]["tiny-draft"] = dict(TINY_FAMILY, name="Tiny Draft")
    catalogue["files"].append(
        {
            "id": "tiny-draft-f32",
            "family": "tiny-draft",
            "quant": "F32",
            "repo_id": DRAFT_REPO,
            "filename": DRAFT_FILE,
            "approx_size_bytes": len(draft_data),
            "sha256": hashlib.sha256(draft_data).hexdigest(),
        }
    )
    catalogue["drafts"] = {"tiny": "tiny-draft-f32"}
    path.write_text(json.dumps(catalogue))
    return path
