"""The embedding models the app offers (the ``embedders`` section of resources/catalogue.json).

The model manager downloads them like chat models (repo_id, filename, sha256); the docs layer
only reads which one is the default and which prefixes each needs (``embedder.PROFILES``
recognises the same families by name, for files added by hand).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from app.models import catalogue as model_catalogue


@dataclass(frozen=True)
class EmbedderEntry:
    id: str
    name: str
    repo_id: str
    filename: str
    approx_size_bytes: int
    sha256: str | None
    dimensions: int
    query_prefix: str
    document_prefix: str
    default: bool


def embedder_entries(path: str | Path | None = None) -> list[EmbedderEntry]:
    """The catalogue's embedders, default first."""
    source = Path(path) if path else model_catalogue.default_catalogue_path()
    data = json.loads(source.read_text(encoding="utf-8"))
    fields = EmbedderEntry.__dataclass_fields__
    entries = [
        EmbedderEntry(**{k: item.get(k) for k in fields}) for item in data.get("embedders", [])
    ]
    return sorted(entries, key=lambda e: not e.default)


def default_embedder_entry(path: str | Path | None = None) -> EmbedderEntry | None:
    entries = embedder_entries(path)
    return entries[0] if entries else None


def find_embedder_entry(entry_id: str, path: str | Path | None = None) -> EmbedderEntry | None:
    """The catalogue embedder with this id (``qwq-desktop models download ID``), or None."""
    return next((e for e in embedder_entries(path) if e.id == entry_id), None)
