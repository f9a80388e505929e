"""Embeddings for /v1/embeddings: any object with ``model_id``, ``dim`` and ``embed(texts)``.

``RawEmbedder`` is the document Q&A embedder (app.docs) loaded for the API: it embeds the
client's text exactly as sent, without the family prefixes the app's own index adds (OpenAI
clients add their own, e.g. nomic's "search_query: ").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

from app.docs.embedder import GENERIC, Embedder


class EmbeddingBackend(Protocol):
    model_id: str
    dim: int

    def embed(self, texts: list[str]) -> tuple[np.ndarray, int]:
        """(len(texts), dim) float32 vectors, L2-normalised, and the tokens read."""
        ...


class RawEmbedder(Embedder):
    """An embedding GGUF served as it is (raises EmbedderError when it is not one)."""

    def __init__(self, path: str | os.PathLike[str], n_threads: int | None = None) -> None:
        super().__init__(path, n_threads=n_threads)
        self.profile = GENERIC  # no prefix: the client's text as it is
        self.model_id = Path(path).stem

    def embed(self, texts: list[str]) -> tuple[np.ndarray, int]:
        vectors = self.embed_documents(texts)
        with self._lock:
            tokens = sum(len(self._llm.tokenize(t.encode("utf-8"), add_bos=True)) for t in texts)
        return vectors, tokens
