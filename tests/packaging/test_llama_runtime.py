"""quantize.llama_runtime: which llama.cpp CPU library is loaded, and never the AMX one by
itself (it crashes on VMs that advertise AMX without enabling it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from quantize.llama_runtime import (
    VARIANT_ENV,
    LlamaRuntimeError,
    choose_cpu_variant,
    cpu_variant_files,
    llama_lib_dir,
)

SCORES_ON_AMX_VM = {
    "x64": 1,
    "sse42": 3,
    "haswell": 31,
    "skylakex": 63,
    "icelake": 127,
    "zen4": 191,
    "sapphirerapids": 511,
    "alderlake": 0,
}


def test_best_variant_that_needs_no_amx_is_chosen():
    assert choose_cpu_variant(SCORES_ON_AMX_VM, None) == "zen4"


def test_a_forced_variant_is_honoured_even_the_amx_one():
    assert choose_cpu_variant(SCORES_ON_AMX_VM, "haswell") == "haswell"
    assert choose_cpu_variant(SCORES_ON_AMX_VM, "sapphirerapids") == "sapphirerapids"


def test_a_forced_variant_this_cpu_lacks_is_refused_with_what_to_do():
    with pytest.raises(LlamaRuntimeError) as info:
        choose_cpu_variant(SCORES_ON_AMX_VM, "alderlake")
    assert VARIANT_ENV in info.value.hint


def test_a_forced_variant_not_in_the_build_names_the_ones_there():
    with pytest.raises(LlamaRuntimeError) as info:
        choose_cpu_variant(SCORES_ON_AMX_VM, "znver9")
    assert "haswell" in info.value.hint and "znver9" in info.value.message


def test_no_usable_variant_is_an_error_not_a_crash():
    with pytest.raises(LlamaRuntimeError):
        choose_cpu_variant({"sapphirerapids": 511, "haswell": 0}, None)


LOAD_AND_RUN = """
import json, sys
from quantize.llama_runtime import load_llama_backends
from app.engine import ChatEngine, LoadOptions, SamplingParams
runtime = load_llama_backends()
engine = ChatEngine.load(sys.argv[1], LoadOptions(n_ctx=256, for_gui=False, seed=1))
result = engine.chat([{"role": "user", "content": "Capital?"}],
                     SamplingParams(temperature=0, max_tokens=12, seed=1))
engine.close()
print(json.dumps({"variant": runtime.cpu_variant, "answer": result.answer,
                  "available": list(runtime.variants_available)}))
"""


def _load_and_run(model, **env) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_AND_RUN, str(model)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_this_build_loads_its_cpu_library_and_answers(tiny_answer_gguf):
    seen = _load_and_run(tiny_answer_gguf)
    assert seen["answer"] == "Paris"
    assert seen["variant"] != "sapphirerapids"
    if seen["available"]:  # the portable build: one of its variants
        assert seen["variant"] in seen["available"]
    else:  # the developer build: one CPU library tuned for this machine
        assert seen["variant"] == "cpu"


@pytest.mark.skipif(
    not cpu_variant_files(llama_lib_dir()),
    reason="a build without CPU variants (make's host build)",
)
def test_the_baseline_variant_runs_on_any_x86_64(tiny_answer_gguf):
    # What a CPU without AVX would get: the model still answers, just slower.
    lowest = "x64" if "x64" in cpu_variant_files(llama_lib_dir()) else None
    if lowest is None:
        pytest.skip("not an x86-64 build")
    seen = _load_and_run(tiny_answer_gguf, **{VARIANT_ENV: lowest})
    assert seen == {**seen, "variant": "x64", "answer": "Paris"}
