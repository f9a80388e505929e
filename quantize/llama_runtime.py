"""Load llama.cpp's backends before first use, choosing the CPU variant ourselves.

The recipe (packaging/build_llama.py) builds llama.cpp with `GGML_BACKEND_DL` and one CPU
library per instruction-set level (`libggml-cpu-haswell.so`, `-icelake`, ...). llama.cpp would
look for them beside the Python executable and in the current folder, and would pick the AMX
variant (`sapphirerapids`) on any CPU that advertises AMX, which crashes with SIGILL on VMs that
advertise AMX without enabling it. So we load them from llama_cpp's own folder and choose the
best-scoring variant that does not need AMX; `QWQ_LLAMA_CPU_VARIANT=<name>` forces one (for
example `sapphirerapids` where AMX is known to work, or `haswell` to try an AVX2-only path).

A build without dynamic backends (a plain `pip install llama-cpp-python`, a GPU build made by
hand) has its CPU backend linked in: then nothing is loaded and the variant is "built-in".
Every caller that creates a `Llama` or asks about GPU offload calls `load_llama_backends()`
first; it is idempotent and thread-safe.
"""

from __future__ import annotations

import _ctypes
import ctypes
import os
import re
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .errors import QuantizeToolError
from .llama_log import captured_llama_log

VARIANT_ENV = "QWQ_LLAMA_CPU_VARIANT"
# Variants never chosen by score alone: they need instructions that a CPU may advertise but an
# operating system or hypervisor may not enable (AMX needs the kernel's XTILEDATA permission).
UNPROVEN_VARIANTS = frozenset({"sapphirerapids"})
# Non-CPU backends llama.cpp may have built as modules, in llama.cpp's own loading order.
OTHER_BACKENDS = ("blas", "cuda", "hip", "metal", "rpc", "sycl", "vulkan", "opencl", "musa")


class LlamaRuntimeError(QuantizeToolError):
    """llama.cpp's backends cannot be loaded (missing library, a forced variant this CPU lacks)."""


@dataclass(frozen=True)
class LlamaRuntime:
    """What was loaded: the library folder, the CPU variant and the other backends."""

    lib_dir: Path
    cpu_variant: str  # "haswell", "icelake", ... or "built-in" for a build without variants
    variants_available: tuple[str, ...] = ()
    variant_scores: dict[str, int] = field(default_factory=dict)
    other_backends: tuple[str, ...] = ()
    version: str = ""


_lock = threading.Lock()
_runtime: LlamaRuntime | None = None


def _lib_names() -> tuple[str, str]:
    """(prefix, suffix) of backend module file names on this platform."""
    if sys.platform == "win32":
        return "ggml-", ".dll"
    return "libggml-", ".so"


def llama_lib_dir() -> Path:
    """The folder llama_cpp loads its shared libraries from (honours LLAMA_CPP_LIB_PATH)."""
    override = os.environ.get("LLAMA_CPP_LIB_PATH")
    if override:
        return Path(override)
    import llama_cpp

    return Path(llama_cpp.__file__).parent / "lib"


def cpu_variant_files(lib_dir: Path) -> dict[str, Path]:
    """The CPU variant libraries in ``lib_dir`` by variant name (empty without variants)."""
    prefix, suffix = _lib_names()
    pattern = re.compile(re.escape(prefix + "cpu-") + r"(.+)" + re.escape(suffix) + "$")
    found = {}
    for path in sorted(lib_dir.glob(f"{prefix}cpu-*{suffix}")):
        match = pattern.match(path.name)
        if match and path.is_file():
            found[match.group(1)] = path
    return found


def _score(path: Path) -> int:
    """The variant's own score for this CPU (0: this CPU lacks what it needs), as ggml does."""
    lib = ctypes.CDLL(str(path), mode=getattr(os, "RTLD_LOCAL", 0))
    try:
        fn = lib.ggml_backend_score
        fn.restype = ctypes.c_int
        fn.argtypes = []
        return int(fn())
    except AttributeError:
        return 0
    finally:
        if hasattr(_ctypes, "dlclose"):  # ggml_backend_load opens the chosen one again
            _ctypes.dlclose(lib._handle)


def choose_cpu_variant(scores: dict[str, int], forced: str | None) -> str:
    """The variant to load: ``forced`` if given (it must suit this CPU), else the best-scoring
    one outside UNPROVEN_VARIANTS."""
    if forced:
        if forced not in scores:
            raise LlamaRuntimeError(
                f"The llama.cpp CPU variant {forced!r} is not in this build",
                f"unset {VARIANT_ENV} or use one of: {', '.join(sorted(scores))}",
            )
        if scores[forced] <= 0:
            raise LlamaRuntimeError(
                f"This CPU lacks instructions the llama.cpp CPU variant {forced!r} needs",
                f"unset {VARIANT_ENV} to let the app choose",
            )
        return forced
    usable = {n: s for n, s in scores.items() if s > 0 and n not in UNPROVEN_VARIANTS}
    if not usable:
        raise LlamaRuntimeError(
            "None of llama.cpp's CPU libraries suits this CPU",
            "reinstall the app; a build from source needs packaging/build_llama.py",
        )
    return max(usable, key=lambda n: (usable[n], n))


def _ggml_path(lib_dir: Path) -> Path:
    """The libggml file that libllama itself uses. Wheels store the soname symlinks
    (libggml.so -> libggml.so.0 -> ...) as copies, and opening another copy than libllama's
    would give a second, empty backend registry that llama.cpp never sees."""
    if sys.platform == "win32":
        return lib_dir / "ggml.dll"
    maps = Path("/proc/self/maps")
    if maps.exists():  # Linux: the copy the dynamic loader really mapped for libllama
        for line in maps.read_text().splitlines():
            path = Path(line.split(maxsplit=5)[-1]) if "/" in line else None
            if path and path.parent == lib_dir and re.match(r"libggml\.so(\.\d+)*$", path.name):
                return path
    # The name with the major version only is what libllama records as its dependency.
    for pattern in (r"libggml\.so\.\d+$", r"libggml\.\d+\.dylib$", r"libggml\.(so|dylib)$"):
        for path in sorted(lib_dir.iterdir()):
            if re.match(pattern, path.name):
                return path
    raise LlamaRuntimeError(
        f"llama.cpp's libggml is missing from {lib_dir}",
        "reinstall the app; a build from source needs packaging/build_llama.py",
    )


def _ggml(lib_dir: Path) -> ctypes.CDLL:
    import llama_cpp  # noqa: F401  (loads libllama and, with it, libggml)

    lib = ctypes.CDLL(str(_ggml_path(lib_dir)))
    lib.ggml_backend_reg_count.restype = ctypes.c_size_t
    lib.ggml_backend_reg_count.argtypes = []
    lib.ggml_backend_load.restype = ctypes.c_void_p
    lib.ggml_backend_load.argtypes = [ctypes.c_char_p]
    return lib


def load_llama_backends() -> LlamaRuntime:
    """Load llama.cpp's backends once (see the module docstring) and say what was loaded."""
    global _runtime
    with _lock:
        if _runtime is None:
            with captured_llama_log():  # ggml announces each backend it loads on stderr
                _runtime = _load()
        return _runtime


def loaded_runtime() -> LlamaRuntime | None:
    """What load_llama_backends() loaded, or None before it ran (never loads anything)."""
    return _runtime


def _load() -> LlamaRuntime:
    import llama_cpp

    lib_dir = llama_lib_dir()
    variants = cpu_variant_files(lib_dir)
    prefix, suffix = _lib_names()
    ggml = _ggml(lib_dir)
    version = getattr(llama_cpp, "__version__", "")
    if ggml.ggml_backend_reg_count() > 0:
        # Backends linked in (no GGML_BACKEND_DL), or someone loaded them before us.
        return LlamaRuntime(lib_dir, "built-in", tuple(sorted(variants)), version=version)
    others = []
    for name in OTHER_BACKENDS:
        path = lib_dir / f"{prefix}{name}{suffix}"
        if path.exists() and ggml.ggml_backend_load(str(path).encode()):
            others.append(name)
    scores = {name: _score(path) for name, path in variants.items()}
    forced = os.environ.get(VARIANT_ENV) or None
    if variants:
        chosen = choose_cpu_variant(scores, forced)
        cpu_path = variants[chosen]
    elif forced:
        raise LlamaRuntimeError(
            f"This llama.cpp build has one CPU library, so {VARIANT_ENV}={forced} cannot apply",
            f"unset {VARIANT_ENV}; CPU variants come with the portable build (the bundle)",
        )
    else:
        chosen, cpu_path = "cpu", lib_dir / f"{prefix}cpu{suffix}"
    if not cpu_path.exists() or not ggml.ggml_backend_load(str(cpu_path).encode()):
        raise LlamaRuntimeError(
            f"llama.cpp's CPU library could not be loaded from {lib_dir}",
            "reinstall the app; a build from source needs packaging/build_llama.py",
        )
    return LlamaRuntime(
        lib_dir, chosen, tuple(sorted(variants)), scores, tuple(others), version=version
    )
