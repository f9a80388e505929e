"""The hardware probe: memory and cores from psutil, capped by cgroup limits in containers."""

import subprocess
import sys
from types import SimpleNamespace

import psutil
import pytest

from app.engine import hardware
from app.engine.hardware import probe_hardware

GiB = 2**30


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(hardware, "llama_gpu_backend", lambda: None)


@pytest.fixture
def no_cgroup(monkeypatch, tmp_path):
    """No container limits: the cgroup files point at nothing."""
    monkeypatch.setattr(hardware, "CGROUP_MEMORY_LIMIT_FILES", (tmp_path / "none",))
    monkeypatch.setattr(hardware, "CGROUP_CPU_MAX_FILE", tmp_path / "none")


@pytest.fixture
def fake_machine(monkeypatch):
    """psutil reports 64 GiB (40 GiB available), 8 physical and 16 logical cores."""
    memory = SimpleNamespace(total=64 * GiB, available=40 * GiB)
    monkeypatch.setattr(psutil, "virtual_memory", lambda: memory)
    monkeypatch.setattr(psutil, "cpu_count", lambda logical=True: 16 if logical else 8)

    class Process:
        def cpu_affinity(self):
            return list(range(16))

    monkeypatch.setattr(psutil, "Process", Process)


def test_memory_and_cores_come_from_psutil(no_gpu, no_cgroup, fake_machine, monkeypatch):
    monkeypatch.setattr(hardware, "_performance_cores", lambda: None)
    info = probe_hardware()
    assert (info.ram_total, info.ram_available) == (64 * GiB, 40 * GiB)
    assert (info.physical_cores, info.logical_cores) == (8, 16)


def test_probe_agrees_with_psutil_on_this_machine(no_gpu, no_cgroup):
    info = probe_hardware()
    memory = psutil.virtual_memory()
    assert info.ram_total == memory.total
    assert abs(info.ram_available - memory.available) < 0.1 * memory.total
    logical = psutil.cpu_count()
    if hasattr(psutil.Process(), "cpu_affinity"):
        logical = len(psutil.Process().cpu_affinity())
    assert info.logical_cores == logical
    if sys.platform != "darwin":  # macOS counts its performance cores only
        assert info.physical_cores == min(psutil.cpu_count(logical=False) or logical, logical)


def test_a_cgroup_memory_limit_below_the_ram_caps_total_and_available(
    no_gpu, no_cgroup, fake_machine, tmp_path, monkeypatch
):
    limit = tmp_path / "memory.max"
    limit.write_text(f"{8 * GiB}\n")
    monkeypatch.setattr(hardware, "CGROUP_MEMORY_LIMIT_FILES", (tmp_path / "v2-none", limit))
    info = probe_hardware()
    assert (info.ram_total, info.ram_available) == (8 * GiB, 8 * GiB)
    # No limit ("max", or cgroup v1's huge number), or one above the RAM: psutil's figures.
    for unlimited in ("max", "9223372036854771712", str(128 * GiB)):
        limit.write_text(unlimited + "\n")
        info = probe_hardware()
        assert (info.ram_total, info.ram_available) == (64 * GiB, 40 * GiB)


def test_a_cgroup_cpu_quota_caps_the_cores(no_gpu, no_cgroup, fake_machine, tmp_path, monkeypatch):
    monkeypatch.setattr(hardware, "_performance_cores", lambda: None)
    quota = tmp_path / "cpu.max"
    quota.write_text("250000 100000\n")
    monkeypatch.setattr(hardware, "CGROUP_CPU_MAX_FILE", quota)
    info = probe_hardware()
    assert (info.physical_cores, info.logical_cores) == (2, 2)


def test_macos_counts_performance_cores_only(no_gpu, no_cgroup, fake_machine, monkeypatch):
    asked = []

    def sysctl(cmd, **_kwargs):
        asked.append(cmd)
        return SimpleNamespace(stdout="4\n")

    monkeypatch.setattr(hardware.sys, "platform", "darwin")
    monkeypatch.setattr(subprocess, "run", sysctl)
    info = probe_hardware()
    assert asked == [["sysctl", "-n", "hw.perflevel0.physicalcpu"]]
    assert (info.physical_cores, info.logical_cores) == (4, 16)
