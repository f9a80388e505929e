"""Small helpers shared by the command-line tools: readable errors, sizes."""

from __future__ import annotations

import sys

from .errors import AppError


def report_error(error: AppError) -> int:
    """Print an expected error for a person (no traceback) and return the exit code."""
    print(f"error: {error.message}", file=sys.stderr)
    if error.hint:
        print(f"  try: {error.hint}", file=sys.stderr)
    return 2


def human_bytes(n: int | float | None) -> str:
    if n is None:
        return "unknown"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"
