"""Find the Hugging Face tokenizer of a reference GGUF when validate was given no --source."""

from __future__ import annotations

from pathlib import Path

from ..convert import SOURCE_DIR_KEY
from .gguf_file import GGUFFile


def find_tokenizer_folder(model: GGUFFile, reference: GGUFFile) -> tuple[Path, str] | None:
    """The folder holding tokenizer.json and how it was found: the source folder convert
    recorded in the reference (or, copied over by quantize, in the model), relative to the
    reference's folder; else the reference's own folder. None if neither has one."""
    candidates: list[tuple[Path, str]] = []
    for g in (reference, model):
        recorded = g.value(SOURCE_DIR_KEY)
        if isinstance(recorded, str) and recorded:
            candidates.append(
                (reference.path.parent / recorded, f"source folder recorded in {g.path.name}")
            )
    candidates.append((reference.path.parent, "beside the reference"))
    for folder, how in candidates:
        if (folder / "tokenizer.json").is_file():
            return folder.resolve(), how
    return None
