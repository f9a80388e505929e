"""Fusing BM25 and vector rankings into one.

Plain reciprocal rank fusion (RRF, k = 60) throws the scores away: a chunk that is second in
one list and absent from the other ties with one that is middling in both, so on paraphrased
questions (few shared words: BM25 ranks noise) it drags vectors down, and on lexical ones it
drags BM25 down. ``fuse(..., "hybrid")`` instead combines normalised scores, and trusts BM25
per chunk only as far as the chunk matches the question's words:

    score = w_vec * (cos - cos_min) / (cos_max - cos_min)
          + w_lex * bm25 / bm25_max * coverage ** p

where min/max run over each method's candidates, a chunk missing from a list gets 0 there, and
``coverage`` is the fraction of the question's content words the chunk contains
(``search.light_stem`` on both sides). A chunk matching one common word of a paraphrased
question gets little from BM25; one matching every word of a lexical question gets its full
BM25 weight. The defaults (0.5, 0.5, p = 2) were set before measuring; the benchmark's 2-fold
check (weights picked from a grid on half of the questions, judged on the other half) scores
the same as the defaults (benchmarks/bench_docs.py, docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass

RRF_K = 60
METHODS = ("hybrid", "bm25", "vector", "rrf")


@dataclass(frozen=True)
class FusionWeights:
    """The hybrid fusion's parameters."""

    vector: float = 0.5
    lexical: float = 0.5
    coverage_power: float = 2.0


def _minmax(scores: dict[int, float]) -> dict[int, float]:
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    if hi - lo < 1e-9:
        return dict.fromkeys(scores, 1.0)
    return {i: (s - lo) / (hi - lo) for i, s in scores.items()}


def fuse(
    lexical: list[tuple[int, float]],
    dense: list[tuple[int, float]],
    matched: dict[int, set[str]],
    n_terms: int,
    method: str = "hybrid",
    weights: FusionWeights | None = None,
) -> list[tuple[int, float]]:
    """(chunk id, score) best first, by ``method`` (see ``METHODS``)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}")
    if method == "bm25" or (not dense and method != "vector"):
        return sorted(lexical, key=lambda x: -x[1])
    if method == "vector" or not lexical:
        return sorted(dense, key=lambda x: -x[1])
    scores: dict[int, float] = {}
    if method == "rrf":
        for ranking in (lexical, dense):
            for rank, (i, _) in enumerate(sorted(ranking, key=lambda x: -x[1])):
                scores[i] = scores.get(i, 0.0) + 1.0 / (RRF_K + rank + 1)
    else:
        w = weights or FusionWeights()
        top = max(s for _, s in lexical) or 1.0
        for i, s in lexical:
            coverage = len(matched.get(i, ())) / max(1, n_terms)
            scores[i] = w.lexical * s / top * coverage**w.coverage_power
        for i, s in _minmax(dict(dense)).items():
            scores[i] = scores.get(i, 0.0) + w.vector * s
    return sorted(scores.items(), key=lambda x: -x[1])
