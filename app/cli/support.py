"""Small helpers shared by the command-line tools: readable errors, sizes."""

from __future__ import annotations

from quantize.errors import print_error

from .errors import UserFacingError


def report_error(error: UserFacingError) -> int:
    """Print an expected error for a person (no traceback): ``error: MESSAGE`` and, below it,
    ``  try: HINT``, from the error's fields. Returns the exit code."""
    print_error(error, hint_label="try")
    return 2


def human_bytes(n: int | float | None) -> str:
    if n is None:
        return "unknown"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"
