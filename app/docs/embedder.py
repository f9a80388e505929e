"""Dense embeddings from a local embedding GGUF, run by llama-cpp-python (``embedding=True``).

Each model family wants its own text before queries and documents (nomic-embed:
"search_query: "/"search_document: ", bge/mxbai: an instruction before queries, e5:
"query: "/"passage: ", MiniLM: nothing); ``profile_for`` recognises them by the GGUF's name.
Vectors come back L2-normalised float32, so a dot product is the cosine similarity.

The file goes through the same guard as a chat model before llama.cpp opens it in this process
(``app.engine.load_guard.guard_model_file``: the Python check, then llama.cpp in a child
process once per version of the file), so a damaged embedding GGUF is a message, not a crash.

One ``Embedder`` owns one ``Llama``; its methods take a lock, so it may be shared between the
indexing worker and a search, which then wait for each other's batch (milliseconds).
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from app.errors import UserFacingError

from .errors import EmbedderError

BGE_QUERY = "Represent this sentence for searching relevant passages: "


@dataclass(frozen=True)
class EmbedderProfile:
    """Prefixes a family needs, and the cosine below which a hit is "not relevant"."""

    family: str
    query_prefix: str = ""
    document_prefix: str = ""
    min_similarity: float = 0.3


PROFILES: tuple[tuple[str, EmbedderProfile], ...] = (
    ("nomic-embed", EmbedderProfile("nomic-embed", "search_query: ", "search_document: ", 0.45)),
    ("mxbai-embed", EmbedderProfile("mxbai-embed", BGE_QUERY, "", 0.45)),
    ("bge-", EmbedderProfile("bge", BGE_QUERY, "", 0.55)),
    ("e5-", EmbedderProfile("e5", "query: ", "passage: ", 0.75)),
    ("minilm", EmbedderProfile("minilm", "", "", 0.25)),
    ("gte-", EmbedderProfile("gte", "", "", 0.75)),
)
GENERIC = EmbedderProfile("generic")


def profile_for(name: str) -> EmbedderProfile:
    """The profile whose key occurs in ``name`` (a GGUF's general.name or file name)."""
    lowered = name.lower()
    return next((p for key, p in PROFILES if key in lowered), GENERIC)


@dataclass(frozen=True)
class EmbedderInfo:
    """What a collection remembers of the embedder it was indexed with."""

    path: str
    name: str
    sha256: str
    dim: int
    family: str

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> EmbedderInfo:
        return cls(**{k: data[k] for k in ("path", "name", "sha256", "dim", "family")})


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(4 * 1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def default_threads() -> int:
    """One core fewer than the machine has (the GUI and a chat keep running), at least one."""
    return max(1, (os.cpu_count() or 2) - 1)


def _guard(path: Path) -> None:
    """The model guard's verdict on ``path``; its refusal as an ``EmbedderError``."""
    from app.engine.load_guard import guard_model_file
    from app.errors import AppError

    try:
        guard_model_file(path)
    except AppError as exc:  # damaged, refused or crashed in the check process
        raise EmbedderError(
            f"The embedding model cannot be used: {exc.message}", exc.hint, details=exc.details
        ) from exc


class Embedder:
    """A loaded embedding model. ``embed_documents``/``embed_query`` are thread-safe."""

    def __init__(
        self, path: str | os.PathLike[str], n_threads: int | None = None, max_tokens: int = 512
    ) -> None:
        from llama_cpp import Llama

        from app.engine.model_file_watch import ModelFileWatch
        from quantize.llama_runtime import load_llama_backends

        self.path = Path(path)
        if not self.path.is_file():
            raise EmbedderError(
                f"The embedding model {self.path} does not exist",
                "choose another file, or download the default embedder in Models",
            )
        _guard(self.path)
        load_llama_backends()
        threads = n_threads or default_threads()
        # The weights are memory-mapped: a file cut short under them would be a SIGBUS.
        self._watch = ModelFileWatch(self.path)
        try:
            self._llm = Llama(
                str(self.path),
                embedding=True,
                n_ctx=max_tokens,
                n_batch=max_tokens,
                n_ubatch=max_tokens,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            self._watch.close()
            raise EmbedderError(
                f"{self.path.name} cannot be loaded as an embedding model ({exc})",
                "choose an embedding GGUF (e.g. bge-small-en-v1.5, nomic-embed-text)",
            ) from exc
        import llama_cpp

        if self._llm.pooling_type() == llama_cpp.LLAMA_POOLING_TYPE_NONE:
            self._llm.close()
            self._watch.close()
            raise EmbedderError(
                f"{self.path.name} is not an embedding model (it pools no sentence vector)",
                "choose an embedding GGUF such as bge-small-en-v1.5 or all-MiniLM-L6-v2",
            )
        self._lock = threading.Lock()
        self.dim = int(self._llm.n_embd())
        self.name = str(self._llm.metadata.get("general.name") or self.path.stem)
        self.profile = profile_for(f"{self.name} {self.path.name}")
        self._sha256: str | None = None

    @property
    def info(self) -> EmbedderInfo:
        """Identity for the collection (the file's sha256 is computed once)."""
        if self._sha256 is None:
            self._sha256 = file_sha256(self.path)
        return EmbedderInfo(str(self.path), self.name, self._sha256, self.dim, self.profile.family)

    def _embed(self, texts: list[str]) -> np.ndarray:
        """One text per decode, the lock taken per text: for BERT-style encoders on a CPU this
        measured faster than llama-cpp-python's multi-sequence batches (170 vs 300 ms for a
        170-token chunk with MiniLM), and a question waits for one chunk, not a batch."""
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            with self._lock:
                if self._llm is None:
                    raise EmbedderError("The embedding model was closed", "this is a bug")
                try:
                    self._watch.check()
                except UserFacingError as exc:  # the file changed on disk (ModelFileChangedError)
                    raise EmbedderError(exc.message, exc.hint) from exc
                try:
                    out[i] = self._llm.embed(text, normalize=False, truncate=True)
                except (ValueError, RuntimeError) as exc:
                    raise EmbedderError(
                        f"Embedding failed ({exc})", "try another embedder"
                    ) from exc
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) normalised vectors of passages (the document prefix added)."""
        prefix = self.profile.document_prefix
        return self._embed([prefix + t for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) normalised vector of a question (the query prefix added)."""
        return self._embed([self.profile.query_prefix + text])[0]

    def close(self) -> None:
        """Free the model (idempotent)."""
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None
            self._watch.close()

    def __enter__(self) -> Embedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
