"""A small generated set of PDF manuals with two known facts on known pages (the CLI and GUI
document tests share it)."""

from __future__ import annotations

from pathlib import Path

from tests.docs.makers import write_pdf

FILLER = (
    "This page covers routine matters of the appliance in general terms: packaging, casing "
    "colour, the accessories in the box and the cardboard inserts that protect them."
)
PUMP = "The coolant pump must be replaced every 4000 operating hours."
FUSE = "The main fuse is rated at 16 amperes and sits behind the left panel."


def write_pdfs(folder: Path, pages_per_file: int = 8) -> Path:
    """Three manuals of ``pages_per_file`` pages (at least 6); the pump fact on page 3 of b.pdf,
    the fuse on page 6 of c.pdf (too much to give whole in a small context, so passages are
    retrieved)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, facts in (("a.pdf", {}), ("b.pdf", {3: PUMP}), ("c.pdf", {6: FUSE})):
        pages = [f"{FILLER} {FILLER} Section {n} of {name}." for n in range(1, pages_per_file + 1)]
        for page, fact in facts.items():
            pages[page - 1] += " " + fact
        write_pdf(folder / name, pages)
    return folder
