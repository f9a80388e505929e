"""Byte sizes in words: the one formatter the GUI, the command line and the quantisation tool
use for file sizes, download progress, speeds and free space (the app imports it as app.sizes).

Decimal units, as model files are sized on the Hub and by disks ("19.85 GB"): gigabytes and
terabytes with two decimals, megabytes with one, kilobytes with none, bytes as a whole number.
The unit is chosen after rounding, so 999,960 bytes read "1.0 MB", never "1000 kB".
"""

from __future__ import annotations

# (unit, bytes in one, decimals shown), smallest first
_UNITS = (("kB", 10**3, 0), ("MB", 10**6, 1), ("GB", 10**9, 2), ("TB", 10**12, 2))


def format_bytes(n: int | float | None) -> str:
    """``19_853_623_296`` -> "19.85 GB", ``52_300_000`` -> "52.3 MB", ``512`` -> "512 B";
    None (not known yet) -> "unknown". For a speed, add "/s"."""
    if n is None:
        return "unknown"
    if abs(n) < 1000:
        return f"{int(n)} B"
    unit, scale, decimals = next(
        (u for u in _UNITS if abs(round(n / u[1], u[2])) < 1000), _UNITS[-1]
    )
    return f"{n / scale:.{decimals}f} {unit}"
