"""The llama.cpp build recipe (packaging/build_llama.py) and the instruction-set check
(packaging/check_isa.py)."""

from __future__ import annotations

import importlib.util
import platform
import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "packaging" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


build_llama = _load("build_llama")
check_isa = _load("check_isa")
X86 = platform.machine().lower() in ("x86_64", "amd64")


def test_the_pinned_version_is_the_installed_one():
    import llama_cpp

    assert build_llama.pinned_version() == llama_cpp.__version__


def test_portable_profile_chooses_cpu_code_at_run_time():
    args = build_llama.cmake_args("portable", "cpu")
    assert {"-DGGML_NATIVE=OFF", "-DGGML_BACKEND_DL=ON", "-DGGML_CPU_ALL_VARIANTS=ON"} <= set(args)


AVX2_FLAGS = {"sse4_2", "avx", "f16c", "fma", "bmi2", "avx2"}
AVX512_FLAGS = {"avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw", "avx512vbmi"}
AMX_VM_FLAGS = AVX2_FLAGS | AVX512_FLAGS | {"avx_vnni", "avx512_vnni", "avx512_bf16", "amx_tile"}


@pytest.mark.skipif(not X86 or not sys.platform.startswith("linux"), reason="x86-64 Linux only")
def test_host_profile_keeps_avx512_but_never_amx():
    args = build_llama.cmake_args("host", "cpu", AMX_VM_FLAGS)
    assert "-DGGML_NATIVE=OFF" in args and "-DGGML_BACKEND_DL=ON" in args
    assert {"-DGGML_AVX2=ON", "-DGGML_AVX512=ON", "-DGGML_AVX512_BF16=ON"} <= set(args)
    assert {"-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"} <= set(args)
    assert not any("ALL_VARIANTS" in a for a in args)


@pytest.mark.skipif(not X86 or not sys.platform.startswith("linux"), reason="x86-64 Linux only")
def test_host_profile_on_an_avx2_cpu_has_no_avx512():
    args = build_llama.cmake_args("host", "cpu", AVX2_FLAGS)
    assert "-DGGML_AVX2=ON" in args and "-DGGML_AVX512=OFF" in args
    assert "-DGGML_AVX_VNNI=OFF" in args


def test_without_cpu_flags_host_falls_back_to_portable():
    assert build_llama.cmake_args("host", "cpu", set()) == build_llama.cmake_args(
        "portable", "cpu", set()
    )


def test_the_wheel_cache_key_changes_with_the_flags():
    # pip's own cache ignores CMAKE_ARGS; ours must not.
    keys = {
        build_llama.cache_key("0.3.36", build_llama.cmake_args(profile, backend, flags))
        for profile, flags in (("host", AMX_VM_FLAGS), ("host", {"avx2"}), ("portable", set()))
        for backend in ("cpu", "cuda")
    }
    assert len(keys) == 6 if X86 and sys.platform.startswith("linux") else len(keys) == 2


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("libggml-cpu-x64.so", "sse"),
        ("libggml-cpu-haswell.so", "avx"),
        ("libggml-cpu-icelake.so", "avx512"),
        ("libggml-cpu-sapphirerapids.so", "amx"),
        ("ggml-cpu-zen4.dll", "avx512"),
        ("libllama.so", "sse"),
        ("libggml-base.so.0.9.4", "sse"),
        ("libggml-cpu-futurelake.so", None),
    ],
)
def test_each_library_has_the_level_its_cpu_check_allows(name, level):
    assert check_isa.library_level(name) == level


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("  4011a0:\tvmovdqu64 (%rax),%zmm1", "avx512"),
        ("  4011a0:\tvpaddd %ymm17,%ymm2,%ymm3", "avx512"),
        ("  4011a0:\tkmovw  %k1,%eax", "avx512"),
        ("  4011a0:\ttilezero %tmm0", "amx"),
        ("  4011a0:\tldtilecfg (%rsi)", "amx"),
        ("  4011a0:\tvfmadd231ps %ymm1,%ymm2,%ymm3", "avx"),
        ("  4011a0:\tpaddd  %xmm1,%xmm2", None),
    ],
)
def test_instructions_are_classified(line, level):
    found = [lvl for lvl, pattern in check_isa.PATTERNS.items() if pattern.search(line)]
    assert (found[0] if found else None) == level


@pytest.mark.skipif(not X86 or shutil.which("objdump") is None, reason="needs objdump on x86-64")
def test_libraries_every_cpu_loads_have_no_avx512_or_amx():
    # libllama, libggml and libggml-base are loaded before any CPU check: whatever the build
    # profile, they must run on a CPU without AVX-512 (and without AMX).
    from quantize.llama_runtime import llama_lib_dir

    lib = llama_lib_dir()
    shared = [
        p
        for p in lib.iterdir()
        if not p.is_symlink() and re.match(r"lib(llama|ggml|ggml-base)\.so", p.name)
    ]
    assert len(shared) >= 3, sorted(p.name for p in lib.iterdir())
    for path in shared:
        counts = check_isa.scan(path)
        assert counts["avx512"] == 0 and counts["amx"] == 0, (path.name, counts)
