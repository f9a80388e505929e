"""The model catalogue (``resources/catalogue.json``): what the app offers to download.

The catalogue is data. Each file entry knows its repository, file name, approximate size,
quantisation and, through its family, the architecture numbers the memory planner needs, so a
recommendation can be made before anything is downloaded. ``drafts`` maps a family to the file
of a small model of the same vocabulary that drafts for it (speculative decoding).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from app.engine import ModelFacts
from app.engine.draft_model import MAX_VOCAB_SIZE_DIFFERENCE
from app.errors import AppError


class CatalogueError(AppError):
    """The catalogue file is missing or malformed (a packaging bug, not a user error)."""


@dataclass(frozen=True)
class ModelFamily:
    """A model (all its quantisations share these facts)."""

    id: str
    name: str
    description: str
    license: str
    homepage: str
    reasoning: bool
    default_quant: str
    architecture: str
    parameters_billion: float
    context_length: int
    n_layer: int
    n_embd: int
    n_head: int
    n_kv_head: int
    head_dim: int
    n_ff: int
    n_vocab: int


@dataclass(frozen=True)
class CatalogueEntry:
    """One downloadable GGUF file."""

    id: str
    family: ModelFamily
    quant: str
    repo_id: str
    filename: str
    approx_size_bytes: int
    sha256: str | None

    @property
    def display_name(self) -> str:
        return f"{self.family.name} {self.quant}"

    @property
    def is_default_quant(self) -> bool:
        return self.quant == self.family.default_quant

    def planning_facts(self) -> ModelFacts:
        """ModelFacts for the memory planner, from the catalogue instead of a file header."""
        fam = self.family
        return ModelFacts(
            path=self.filename,
            file_size=self.approx_size_bytes,
            name=self.display_name,
            architecture=fam.architecture,
            parameters=int(fam.parameters_billion * 1e9),
            quant_type=self.quant,
            context_length=fam.context_length,
            n_layer=fam.n_layer,
            n_embd=fam.n_embd,
            n_head=fam.n_head,
            n_kv_head=fam.n_kv_head,
            head_dim=fam.head_dim,
            n_vocab=fam.n_vocab,
            n_ff=fam.n_ff,
            tensor_bytes=self.approx_size_bytes,
            chat_template=None,
            bos_token_id=None,
            eos_token_id=None,
            add_bos=False,
        )

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.display_name,
            "family": self.family.id,
            "quant": self.quant,
            "repo_id": self.repo_id,
            "filename": self.filename,
            "approx_size_bytes": self.approx_size_bytes,
            "sha256": self.sha256,
            "reasoning": self.family.reasoning,
            "license": self.family.license,
        }


@dataclass(frozen=True)
class Catalogue:
    """All families and files, in the catalogue's order of preference."""

    primary_family: str
    families: dict[str, ModelFamily]
    entries: tuple[CatalogueEntry, ...]
    drafts: dict[str, CatalogueEntry] = field(default_factory=dict)  # family id -> draft file

    def get(self, entry_id: str) -> CatalogueEntry | None:
        return next((e for e in self.entries if e.id == entry_id), None)

    def find_file(self, repo_id: str, filename: str) -> CatalogueEntry | None:
        """The entry for a repository file (case-insensitive match on both)."""
        key = (repo_id.lower(), filename.lower())
        return next(
            (e for e in self.entries if (e.repo_id.lower(), e.filename.lower()) == key), None
        )

    def of_family(self, family_id: str) -> list[CatalogueEntry]:
        return [e for e in self.entries if e.family.id == family_id]

    def default_entry(self, family_id: str) -> CatalogueEntry | None:
        return next((e for e in self.of_family(family_id) if e.is_default_quant), None)

    def draft_for(self, entry_id: str | None) -> CatalogueEntry | None:
        """The draft model for a catalogue file (or a family id), None when there is none."""
        entry = self.get(entry_id) if entry_id else None
        family = entry.family.id if entry is not None else entry_id
        return self.drafts.get(family) if family else None

    def resolve(self, name: str) -> CatalogueEntry | None:
        """The file a catalogue id names: a file id, or a family id for its default quant."""
        return self.get(name) or self.default_entry(name)


def default_catalogue_path() -> Path:
    """The catalogue shipped with the app (package data of ``resources``)."""
    return Path(str(resources.files("resources") / "catalogue.json"))


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read and check a catalogue file (the shipped one by default)."""
    source = Path(path) if path is not None else default_catalogue_path()
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
        families = {fid: ModelFamily(id=fid, **fields) for fid, fields in data["families"].items()}
        entries = tuple(
            CatalogueEntry(
                id=item["id"],
                family=families[item["family"]],
                quant=item["quant"],
                repo_id=item["repo_id"],
                filename=item["filename"],
                approx_size_bytes=int(item["approx_size_bytes"]),
                sha256=(item.get("sha256") or None),
            )
            for item in data["files"]
        )
        primary = data["primary_family"]
        drafts = dict(data.get("drafts") or {})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CatalogueError(f"The model catalogue {source} is unreadable: {exc!r}") from exc
    if primary not in families:
        raise CatalogueError(f"The catalogue's primary family {primary!r} is not defined")
    ids = [e.id for e in entries]
    if len(set(ids)) != len(ids):
        raise CatalogueError("The catalogue lists an id twice")
    catalogue = Catalogue(primary_family=primary, families=families, entries=entries)
    return replace(catalogue, drafts=_checked_drafts(catalogue, drafts))


def _checked_drafts(catalogue: Catalogue, drafts: dict) -> dict[str, CatalogueEntry]:
    """The ``drafts`` section as entries, each a file of another, smaller family with the same
    vocabulary (token counts within llama.cpp's padding allowance); CatalogueError if not."""
    checked: dict[str, CatalogueEntry] = {}
    for family_id, entry_id in drafts.items():
        target = catalogue.families.get(family_id)
        draft = catalogue.get(entry_id) if isinstance(entry_id, str) else None
        if target is None or draft is None:
            raise CatalogueError(
                f"The catalogue's draft {family_id!r}: {entry_id!r} names no family or file"
            )
        sizes = [e.approx_size_bytes for e in catalogue.of_family(family_id)]
        if draft.family.id == family_id or any(draft.approx_size_bytes >= n for n in sizes):
            raise CatalogueError(
                f"The catalogue's draft {entry_id!r} for {family_id!r} is not a smaller model"
            )
        if abs(draft.family.n_vocab - target.n_vocab) > MAX_VOCAB_SIZE_DIFFERENCE:
            raise CatalogueError(
                f"The catalogue's draft {entry_id!r} has another vocabulary than {family_id!r} "
                f"({draft.family.n_vocab:,} tokens against {target.n_vocab:,})"
            )
        checked[family_id] = draft
    return checked
