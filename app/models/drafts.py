"""Draft models for speculative decoding: the catalogue's draft for an installed model, and
whether it is installed too (then its file is what ``--draft`` and the load settings take)."""

from __future__ import annotations

from collections.abc import Iterable

from .catalogue import Catalogue, CatalogueEntry
from .registry import InstalledModel


def catalogue_entry_of(catalogue: Catalogue, model: InstalledModel) -> CatalogueEntry | None:
    """The catalogue file an installed model is (by its id, else its repository file)."""
    if model.catalogue_id and catalogue.get(model.catalogue_id) is not None:
        return catalogue.get(model.catalogue_id)
    if model.repo_id and model.filename:
        return catalogue.find_file(model.repo_id, model.filename)
    return None


def installed_as(models: Iterable[InstalledModel], entry: CatalogueEntry) -> InstalledModel | None:
    """The installed model that is the catalogue file ``entry`` (its file still there)."""
    return next((m for m in models if m.exists and _is_entry(m, entry)), None)


def _is_entry(model: InstalledModel, entry: CatalogueEntry) -> bool:
    if model.catalogue_id == entry.id:
        return True
    pair = ((model.repo_id or "").lower(), (model.filename or "").lower())
    return pair == (entry.repo_id.lower(), entry.filename.lower())


def draft_to_offer(
    catalogue: Catalogue, models: Iterable[InstalledModel], model: InstalledModel
) -> CatalogueEntry | None:
    """The catalogue's draft model for ``model`` when it is not installed yet, else None."""
    entry = catalogue_entry_of(catalogue, model)
    draft = catalogue.draft_for(entry.id) if entry is not None else None
    if draft is None or installed_as(models, draft) is not None:
        return None
    return draft
