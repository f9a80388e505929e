"""Prove that llama.cpp's libraries use AVX-512 and AMX only where a CPU check chose them.

A bundle built here must not crash on a CPU without AVX-512 (or with AMX advertised but not
enabled). llama.cpp's CPU code is split into variant libraries (`libggml-cpu-<variant>.so`),
of which `quantize.llama_runtime` loads the one whose CPU check passes. This script disassembles
every library in a folder (objdump) and fails when an instruction appears outside the variants
allowed to use it:

- AMX (tile registers, `tdpb*`, `ldtilecfg`): only in variants named for AMX CPUs;
- AVX-512 (zmm registers, xmm/ymm 16-31, opmask registers): only in AVX-512 variants;
- AVX/AVX2 (ymm registers): only in AVX variants; never in the libraries every CPU loads.

Usage: python packaging/check_isa.py FOLDER [--json]   (exit 0: clean, 1: violation, 2: error)
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

LEVELS = ("sse", "avx", "avx512", "amx")
# Highest instruction-set level of each x86 CPU variant llama.cpp builds (ggml/src/CMakeLists.txt,
# GGML_CPU_ALL_VARIANTS). A variant missing here fails the check, so a llama.cpp update that adds
# one is looked at before it ships.
VARIANT_LEVEL = {
    "x64": "sse",
    "sse42": "sse",
    "sandybridge": "avx",
    "ivybridge": "avx",
    "piledriver": "avx",
    "haswell": "avx",
    "alderlake": "avx",
    "skylakex": "avx512",
    "cannonlake": "avx512",
    "cascadelake": "avx512",
    "icelake": "avx512",
    "cooperlake": "avx512",
    "zen4": "avx512",
    "sapphirerapids": "amx",
}
PATTERNS = {
    "amx": re.compile(
        r"%tmm\d|\b(?:tilezero|tileloadd\w*|tilestored|tdpb\w+|ldtilecfg|sttilecfg)\b"
    ),
    "avx512": re.compile(r"%zmm\d|%[xy]mm(?:1[6-9]|2\d|3[01])\b|%k[0-7]\b"),
    "avx": re.compile(r"%ymm\d"),
}


def library_level(name: str) -> str | None:
    """The highest level a library may use; None for a CPU variant this script does not know."""
    match = re.match(r"(?:lib)?ggml-cpu-(.+?)\.(?:so|dll|dylib)", name)
    if match:
        return VARIANT_LEVEL.get(match.group(1))
    return "sse"  # libllama, libggml, libggml-base, GPU backends: loaded on every CPU


def scan(path: Path) -> dict[str, int]:
    """How many instructions of each level above SSE the library's code contains."""
    counts = dict.fromkeys(PATTERNS, 0)
    proc = subprocess.Popen(
        ["objdump", "-d", "--no-show-raw-insn", str(path)],
        stdout=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "%" not in line and "til" not in line and "tdp" not in line:
            continue
        for level, pattern in PATTERNS.items():
            if pattern.search(line):
                counts[level] += 1
                break  # count each instruction once, at its highest level
    if proc.wait() != 0:
        raise RuntimeError(f"objdump failed on {path}")
    return counts


def check_folder(folder: Path) -> list[dict]:
    """One row per shared library in ``folder`` (symlinks skipped): its allowed level, the
    counts found and whether it passes."""
    rows = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file() or not re.search(r"\.so(\.|$)", path.name):
            continue
        if "ggml" not in path.name and "llama" not in path.name:
            continue
        allowed = library_level(path.name)
        counts = scan(path)
        limit = LEVELS.index(allowed) if allowed else -1
        bad = [lvl for lvl, n in counts.items() if n and LEVELS.index(lvl) > limit]
        rows.append(
            {
                "library": str(path.relative_to(folder)),
                "allowed": allowed or "unknown variant",
                **counts,
                "ok": allowed is not None and not bad,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args(argv)
    if platform.machine().lower() not in ("x86_64", "amd64"):
        print("check_isa: not an x86-64 build, nothing to check")
        return 0
    if shutil.which("objdump") is None:
        print("check_isa: objdump not found (Debian: binutils)", file=sys.stderr)
        return 2
    rows = check_folder(opts.folder)
    if not rows:
        print(f"check_isa: no llama.cpp libraries under {opts.folder}", file=sys.stderr)
        return 2
    if opts.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'library':58} {'allowed':>8} {'avx':>8} {'avx512':>8} {'amx':>6}  verdict")
        for r in rows:
            verdict = "ok" if r["ok"] else "VIOLATION"
            print(
                f"{r['library']:58} {r['allowed']:>8} {r['avx']:>8} {r['avx512']:>8}"
                f" {r['amx']:>6}  {verdict}"
            )
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
