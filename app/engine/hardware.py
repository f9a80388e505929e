"""What this machine offers: RAM, physical cores, and whether llama.cpp can offload to a GPU.

Memory and core counts come from psutil on every OS; this module adds only what psutil lacks:
container (cgroup) limits, Apple's performance-core count, and GPU memory (nvidia-smi, or
Metal's share of the unified memory).
"""

from __future__ import annotations

import contextlib
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

# What psutil does not see: a container's limits (cgroup v2, then v1).
CGROUP_MEMORY_LIMIT_FILES = (
    Path("/sys/fs/cgroup/memory.max"),
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
)
CGROUP_CPU_MAX_FILE = Path("/sys/fs/cgroup/cpu.max")


@dataclass
class HardwareInfo:
    """Memory and compute available to the app. Byte counts; ``None`` where unknown."""

    ram_total: int
    ram_available: int
    physical_cores: int
    logical_cores: int
    gpu_backend: str | None = None  # "Metal", "CUDA", "Vulkan", ... when this build offloads
    gpu_name: str | None = None
    gpu_total_bytes: int | None = None
    gpu_free_bytes: int | None = None
    unified_memory: bool = False  # Apple silicon: GPU memory is the RAM

    @property
    def device(self) -> str:
        return self.gpu_backend or "CPU"

    def to_dict(self) -> dict:
        return asdict(self)


def probe_hardware() -> HardwareInfo:
    """Probe RAM, cores and GPU offload support (cheap: no model is loaded)."""
    total, available = _memory()
    physical, logical = _cores()
    info = HardwareInfo(
        ram_total=total, ram_available=available, physical_cores=physical, logical_cores=logical
    )
    backend = llama_gpu_backend()
    if backend:
        info.gpu_backend = backend
        if backend == "Metal":
            info.unified_memory = True
            # Metal lets one process wire about 2/3 (small Macs) to 3/4 of RAM for the GPU.
            share = 0.75 if total >= 36 * 2**30 else 0.66
            info.gpu_total_bytes = int(total * share)
            info.gpu_free_bytes = min(info.gpu_total_bytes, available)
            info.gpu_name = platform.processor() or "Apple GPU"
        elif backend == "CUDA":
            info.gpu_name, info.gpu_total_bytes, info.gpu_free_bytes = _nvidia_smi()
    return info


def llama_gpu_backend() -> str | None:
    """The GPU backend this llama-cpp-python build offloads to, or None for a CPU-only build."""
    try:
        import llama_cpp

        from quantize.llama_runtime import load_llama_backends
    except ImportError:
        return None
    load_llama_backends()
    try:
        if not llama_cpp.llama_supports_gpu_offload():
            return None
    except AttributeError:
        return None
    lib_dir = Path(llama_cpp.__file__).parent / "lib"
    names = " ".join(p.name.lower() for p in lib_dir.glob("*")) if lib_dir.exists() else ""
    for key, label in (
        ("cuda", "CUDA"),
        ("metal", "Metal"),
        ("vulkan", "Vulkan"),
        ("hip", "ROCm"),
        ("sycl", "SYCL"),
    ):
        if key in names:
            return label
    if sys.platform == "darwin":
        return "Metal"
    return "GPU"


def _memory() -> tuple[int, int]:
    """(total, available) RAM from psutil, capped by the container's cgroup memory limit."""
    memory = psutil.virtual_memory()
    total, available = int(memory.total), int(memory.available)
    limit = _cgroup_memory_limit()
    if limit and limit < total:
        total = limit
        available = min(available, limit)
    return total, available or total


def _cgroup_memory_limit() -> int | None:
    for path in CGROUP_MEMORY_LIMIT_FILES:
        try:
            raw = path.read_text().strip()
        except OSError:
            continue
        if raw.isdigit() and int(raw) < 2**60:  # cgroup v1 writes a huge number for "no limit"
            return int(raw)
    return None


def _cores() -> tuple[int, int]:
    """(physical, logical) cores this process may use: psutil's counts, narrowed by its CPU
    affinity, macOS's performance cores and the container's CPU quota."""
    logical = psutil.cpu_count(logical=True) or 1
    with contextlib.suppress(AttributeError, OSError, psutil.Error):  # no affinity on macOS
        logical = len(psutil.Process().cpu_affinity()) or logical
    physical = _performance_cores() or psutil.cpu_count(logical=False) or logical
    physical = min(physical, logical)
    quota = _cgroup_cpu_quota()
    if quota:
        physical = max(1, min(physical, quota))
        logical = max(1, min(logical, quota))
    return physical, logical


def _performance_cores() -> int | None:
    """Apple silicon's performance cores (psutil counts the efficiency cores too, and
    llama.cpp threads on those slow every other thread down); None elsewhere."""
    if sys.platform != "darwin":
        return None
    try:
        out = subprocess.run(
            ["sysctl", "-n", "hw.perflevel0.physicalcpu"], capture_output=True, text=True, timeout=2
        )
        return int(out.stdout.strip()) or None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None  # an Intel Mac has no performance levels


def _cgroup_cpu_quota() -> int | None:
    try:
        quota, period = CGROUP_CPU_MAX_FILE.read_text().split()
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return max(1, int(int(quota) / int(period)))


def _nvidia_smi() -> tuple[str | None, int | None, int | None]:
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None, None, None
    try:
        out = (
            subprocess.run(
                [exe, "--query-gpu=name,memory.total,memory.free", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=5,
            )
            .stdout.strip()
            .splitlines()
        )
        name, total, free = (part.strip() for part in out[0].split(","))
        return name, int(total) * 2**20, int(free) * 2**20
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return None, None, None
