"""Write one benchmark's block of docs/performance.md (between BEGIN/END markers), atomically."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"
HEADER = (
    "# Performance\n\nEvery figure here is produced by a script in `benchmarks/`; each section "
    "names the command that reproduces it. Machines are shared and noisy, so benchmarks compare "
    "ratios measured in one run, alternating the contenders.\n"
)


def write_block(area: str, body: str, doc: Path = DOC) -> None:
    """Replace (or append) the ``area`` block of the performance document."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else HEADER
    block = f"<!-- BEGIN {area} -->\n{body.strip()}\n<!-- END {area} -->"
    name = re.escape(area)
    pattern = re.compile(rf"<!-- BEGIN {name} -->.*?<!-- END {name} -->", re.S)
    text = (
        pattern.sub(lambda _m: block, text)
        if pattern.search(text)
        else (text.rstrip("\n") + "\n\n" + block + "\n")
    )
    doc.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=doc.parent, prefix=".performance.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, doc)
