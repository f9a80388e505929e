"""Which embedding model a new collection gets: the one installed through the model manager,
if any (else None: BM25 only). Shared by ``qwq-desktop docs add`` and the GUI."""

from __future__ import annotations

from app.errors import UserFacingError

ENCODERS = ("bert", "nomic-bert", "jina-bert-v2", "modern-bert")


def installed_embedder(paths=None) -> str | None:
    """The path of an installed embedding GGUF (``paths``: an ``AppPaths``, default the app's)."""
    try:
        from app.models.registry import ModelRegistry

        models = ModelRegistry(paths).list()
    except (UserFacingError, OSError, ValueError):
        return None
    for model in models:
        if model.exists and (model.architecture or "").lower() in ENCODERS:
            return model.path
    return None


def embedder_to_offer(paths=None):
    """The catalogue's default embedder while none is installed (else None): what the CLI
    hint and the Documents dialog offer to download."""
    if installed_embedder(paths) is not None:
        return None
    from app.docs.catalogue import default_embedder_entry

    return default_embedder_entry()
