"""What this machine offers: RAM, physical cores, and whether llama.cpp can offload to a GPU."""

from __future__ import annotations

import ctypes
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path


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
    total = available = 0
    if sys.platform.startswith("linux"):
        try:
            text = Path("/proc/meminfo").read_text()
            values = {
                m.group(1): int(m.group(2)) * 1024
                for m in re.finditer(r"^(\w+):\s+(\d+) kB", text, re.M)
            }
            total = values.get("MemTotal", 0)
            available = values.get("MemAvailable", values.get("MemFree", 0))
        except OSError:
            pass
        limit = _cgroup_memory_limit()
        if limit and limit < total:
            total = limit
            available = min(available, limit)
    elif sys.platform == "darwin":
        total = _sysctl_int("hw.memsize")
        available = _darwin_available(total)
    elif sys.platform == "win32":
        total, available = _windows_memory()
    if not total and hasattr(os, "sysconf"):
        try:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
            available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
        except (ValueError, OSError):
            pass
    return total, available or total


def _cgroup_memory_limit() -> int | None:
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            raw = Path(path).read_text().strip()
        except OSError:
            continue
        if raw.isdigit() and int(raw) < 2**60:
            return int(raw)
    return None


def _sysctl_int(name: str) -> int:
    try:
        out = subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=2)
        return int(out.stdout.strip())
    except (OSError, ValueError, subprocess.SubprocessError):
        return 0


def _darwin_available(total: int) -> int:
    try:
        out = subprocess.run(["vm_stat"], capture_output=True, text=True, timeout=2).stdout
    except (OSError, subprocess.SubprocessError):
        return total
    page = int(re.search(r"page size of (\d+)", out).group(1)) if "page size" in out else 4096
    pages = 0
    for key in ("Pages free", "Pages inactive", "Pages purgeable", "Pages speculative"):
        m = re.search(rf"{key}:\s+(\d+)", out)
        if m:
            pages += int(m.group(1))
    return pages * page or total


def _windows_memory() -> tuple[int, int]:
    class MemoryStatus(ctypes.Structure):
        _fields_ = [
            ("dwLength", ctypes.c_ulong),
            ("dwMemoryLoad", ctypes.c_ulong),
            ("ullTotalPhys", ctypes.c_ulonglong),
            ("ullAvailPhys", ctypes.c_ulonglong),
            ("ullTotalPageFile", ctypes.c_ulonglong),
            ("ullAvailPageFile", ctypes.c_ulonglong),
            ("ullTotalVirtual", ctypes.c_ulonglong),
            ("ullAvailVirtual", ctypes.c_ulonglong),
            ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
        ]

    status = MemoryStatus()
    status.dwLength = ctypes.sizeof(MemoryStatus)
    if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
        return int(status.ullTotalPhys), int(status.ullAvailPhys)
    return 0, 0


def _cores() -> tuple[int, int]:
    logical = os.cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        logical = len(os.sched_getaffinity(0)) or logical
    physical = 0
    if sys.platform.startswith("linux"):
        cores = set()
        for topo in Path("/sys/devices/system/cpu").glob("cpu[0-9]*/topology"):
            try:
                package = (topo / "physical_package_id").read_text().strip()
                core = (topo / "core_id").read_text().strip()
            except OSError:
                continue
            cores.add((package, core))
        physical = len(cores)
    elif sys.platform == "darwin":
        physical = _sysctl_int("hw.perflevel0.physicalcpu") or _sysctl_int("hw.physicalcpu")
    physical = min(physical or logical, logical)
    quota = _cgroup_cpu_quota()
    if quota:
        physical = max(1, min(physical, quota))
        logical = max(1, min(logical, quota))
    return physical, logical


def _cgroup_cpu_quota() -> int | None:
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
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
