"""The one recipe that builds and installs llama-cpp-python, for `make` and for the bundle.

Why a recipe: a default source build targets the build machine's CPU (`GGML_NATIVE`), which
crashes on other CPUs and even on the build machine when its CPU advertises AMX that the VM
does not enable (SIGILL at `tilezero`). And pip's wheel cache ignores `CMAKE_ARGS`, so a wheel
built earlier with other flags is reused silently. So this script:

- has two profiles, both with `GGML_BACKEND_DL=ON` (the CPU code is a module that
  `quantize.llama_runtime` loads from llama_cpp's folder):
  `portable` (the bundle): `GGML_NATIVE=OFF` and `GGML_CPU_ALL_VARIANTS=ON`, one CPU library
  per instruction-set level, chosen at run time (never the AMX one unless asked to);
  `host` (`make`, the developer install, x86-64 Linux): one CPU library for the instruction
  sets this machine's CPU reports (/proc/cpuinfo), AVX2/AVX-512 included, AMX never (a VM may
  advertise AMX it does not enable). llama.cpp refuses `GGML_NATIVE` with dynamic backends, so
  the sets are named one by one; the library's own CPU check then refuses a CPU that lacks one
  (a clear error, not SIGILL). It builds in about half the time of `portable`. Elsewhere
  (macOS, Windows, ARM) `host` is the same as `portable`;
- builds with pip's cache off, and keeps its own wheel cache keyed by version, flags and
  platform (`~/.cache/qwq-desktop/llama-wheels/<key>/`), so a rebuild with the same flags takes
  seconds and a different flag set never gets an old wheel;
- installs the wheel into the given Python environment with `--no-deps --force-reinstall`.

Usage: python packaging/build_llama.py [--profile host|portable] [--backend cpu|metal|cuda|vulkan]
       [--python PY] [--rebuild] [--print-cmake-args]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "llama-cpp-python"

COMMON = [
    "-DGGML_BACKEND_DL=ON",
    # Backend modules go beside libllama, where quantize.llama_runtime loads them from.
    "-DCMAKE_INSTALL_BINDIR=llama_cpp/lib",
    # The multimodal library (mtmd) is not used by the app: skipping it saves build time.
    "-DLLAVA_BUILD=OFF",
]
PORTABLE = ["-DGGML_NATIVE=OFF", "-DGGML_CPU_ALL_VARIANTS=ON"]
PROFILES = ("host", "portable")
# llama.cpp's x86 instruction-set options and the /proc/cpuinfo flags each one needs.
X86_OPTIONS = {
    "GGML_SSE42": ["sse4_2"],
    "GGML_AVX": ["avx"],
    "GGML_F16C": ["f16c"],
    "GGML_FMA": ["fma"],
    "GGML_BMI2": ["bmi2"],
    "GGML_AVX2": ["avx2"],
    "GGML_AVX_VNNI": ["avx_vnni"],
    "GGML_AVX512": ["avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"],
    "GGML_AVX512_VBMI": ["avx512vbmi"],
    "GGML_AVX512_VNNI": ["avx512_vnni"],
    "GGML_AVX512_BF16": ["avx512_bf16"],
    "GGML_AMX_TILE": None,  # never: advertised by VMs that fault on it
    "GGML_AMX_INT8": None,
    "GGML_AMX_BF16": None,
}


def cpu_flags() -> set[str]:
    """This CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    match = re.search(r"^flags\s*:(.*)$", text, re.M)
    return set(match.group(1).split()) if match else set()


def host_x86_args(flags: set[str]) -> list[str]:
    """One CPU library for exactly the instruction sets in ``flags``, AMX off."""
    args = ["-DGGML_NATIVE=OFF"]
    for option, needs in X86_OPTIONS.items():
        on = needs is not None and all(flag in flags for flag in needs)
        args.append(f"-D{option}={'ON' if on else 'OFF'}")
    return args


BACKEND_ARGS = {
    "cpu": [],
    "metal": ["-DGGML_METAL=ON", "-DGGML_METAL_EMBED_LIBRARY=ON"],
    "cuda": ["-DGGML_CUDA=ON"],
    "vulkan": ["-DGGML_VULKAN=ON"],
}


def pinned_version() -> str:
    """The llama-cpp-python version pinned in pyproject.toml (the engine uses its internals)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'"llama-cpp-python==([0-9][0-9a-z.]*)"', text)
    if not match:
        raise SystemExit("pyproject.toml must pin llama-cpp-python with == (one tested version)")
    return match.group(1)


def cmake_args(profile: str, backend: str, flags: set[str] | None = None) -> list[str]:
    """CMake flags of the recipe for one profile and backend (``flags``: the CPU's, for tests)."""
    flags = cpu_flags() if flags is None else flags
    x86_linux = platform.system() == "Linux" and platform.machine().lower() in ("x86_64", "amd64")
    cpu = host_x86_args(flags) if profile == "host" and x86_linux and flags else PORTABLE
    return [*cpu, *COMMON, *BACKEND_ARGS[backend]]


def cache_key(version: str, args: list[str]) -> str:
    """A key that changes with anything that changes the wheel's contents."""
    compiler = shutil.which(os.environ.get("CC", "cc")) or "cc"
    material = "\n".join(
        [version, *args, platform.system(), platform.machine(), os.path.realpath(compiler)]
    )
    return f"{version}-{hashlib.sha256(material.encode()).hexdigest()[:16]}"


def wheel_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(
        os.environ.get("QWQ_LLAMA_WHEELS", os.path.join(base, "qwq-desktop", "llama-wheels"))
    )


def build_wheel(python: str, version: str, args: list[str], dest: Path) -> Path:
    """Build the wheel from the sdist with pip's cache off; return its path in `dest`."""
    env = dict(os.environ)
    env["CMAKE_ARGS"] = shlex.join(args)
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
    env["PIP_NO_CACHE_DIR"] = "1"
    with tempfile.TemporaryDirectory(prefix="llama-wheel-") as tmp:
        cmd = [
            python, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir",
            "--no-binary", PACKAGE, "-w", tmp, f"{PACKAGE}=={version}",
        ]  # fmt: skip
        print("building", PACKAGE, version, "with", env["CMAKE_ARGS"], flush=True)
        subprocess.run(cmd, check=True, env=env)
        wheels = list(Path(tmp).glob("llama_cpp_python-*.whl"))
        if len(wheels) != 1:
            raise SystemExit(f"expected one wheel, found {wheels}")
        dest.mkdir(parents=True, exist_ok=True)
        final = dest / wheels[0].name
        partial = dest / (wheels[0].name + ".partial")
        shutil.copyfile(wheels[0], partial)
        os.replace(partial, final)
        return final


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, default="host")
    parser.add_argument("--backend", choices=sorted(BACKEND_ARGS), default="cpu")
    parser.add_argument("--python", default=sys.executable, help="environment to install into")
    parser.add_argument("--rebuild", action="store_true", help="ignore the recipe's wheel cache")
    parser.add_argument("--print-cmake-args", action="store_true")
    opts = parser.parse_args(argv)

    version = pinned_version()
    args = cmake_args(opts.profile, opts.backend)
    if opts.print_cmake_args:
        print(shlex.join(args))
        return 0
    folder = wheel_cache_dir() / cache_key(version, args)
    wheels = sorted(folder.glob("llama_cpp_python-*.whl")) if not opts.rebuild else []
    wheel = wheels[-1] if wheels else build_wheel(opts.python, version, args, folder)
    print("installing", wheel, flush=True)
    subprocess.run(
        [opts.python, "-m", "pip", "install", "--no-deps", "--force-reinstall", str(wheel)],
        check=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
