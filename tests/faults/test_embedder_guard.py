"""Embedding GGUFs pass the model guard (the Python check, then llama.cpp in a child process)
before llama.cpp opens them in the app's process."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.docs.embedder import Embedder
from app.docs.errors import EmbedderError
from app.engine.load_guard import DamagedModelError, ModelRefusedError
from app.paths import app_paths
from tests.gguf_variants import with_duplicate_token


@pytest.fixture(scope="module")
def minilm(tmp_path_factory) -> Path:
    """all-MiniLM-L6-v2 converted to an f16 embedding GGUF (as tests/docs builds it)."""
    from quantize.convert import convert
    from tests.quantize.minilm import extract_minilm

    folder = extract_minilm(tmp_path_factory.mktemp("minilm"))
    return convert(folder, tmp_path_factory.mktemp("gguf") / "minilm-f16.gguf", "f16").path


def test_a_good_embedder_loads_and_its_verdict_is_cached(minilm):
    with Embedder(minilm, n_threads=1) as embedder:
        assert embedder.embed_query("hello").shape == (embedder.dim,)
    assert (app_paths().cache_dir / "gguf-verdicts.json").is_file()


def test_a_damaged_embedder_is_refused_before_llama_cpp_opens_it(minilm, tmp_path):
    bad = with_duplicate_token(minilm, tmp_path / "dup.gguf", a=1000, b=1001)
    with pytest.raises(EmbedderError) as refused:
        Embedder(bad, n_threads=1)
    assert isinstance(refused.value.__cause__, DamagedModelError)
    assert refused.value.message.startswith("The embedding model cannot be used:")


def test_llama_cpp_refusing_an_embedder_is_seen_in_the_check_process(minilm, tmp_path):
    odd = tmp_path / "odd.gguf"
    odd.write_bytes(minilm.read_bytes().replace(b"bert", b"berX"))
    with pytest.raises(EmbedderError) as refused:
        Embedder(odd, n_threads=1)
    assert isinstance(refused.value.__cause__, ModelRefusedError)
    assert "unknown model architecture" in refused.value.message


CUT_SHORT = """
import os, sys
from app.docs.embedder import Embedder
from app.docs.errors import EmbedderError
path = sys.argv[1]
with Embedder(path, n_threads=1) as embedder:
    embedder.embed_query("before")
    os.truncate(path, os.path.getsize(path) // 2)
    try:
        embedder.embed_query("after")
    except EmbedderError as exc:
        print(exc.message)
"""


def test_an_embedder_file_cut_short_while_loaded_is_refused_not_a_crash(minilm, tmp_path):
    """The weights are memory-mapped: reading past a truncated file's end is a SIGBUS, so the
    change is noticed before the next text is embedded (in a child: the old code died)."""
    import os
    import shutil
    import subprocess
    import sys

    copy = shutil.copy(minilm, tmp_path / "minilm.gguf")
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": root}
    done = subprocess.run(
        [sys.executable, "-c", CUT_SHORT, str(copy)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "changed on disk while it was loaded" in done.stdout and "cut short" in done.stdout
