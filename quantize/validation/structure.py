"""Structure checks: the GGUF's metadata and tensor table against config.json, or against the
reference GGUF when the Hugging Face folder is not at hand."""

from __future__ import annotations

import math
from typing import Any

import gguf

from ..architectures import HParams, expected_tensors, rope_scaling_type
from .gguf_file import GGUFFile
from .report import CheckResult

Q = gguf.GGMLQuantizationType
# Tensor types that are a sane outcome of converting/quantising to each file type (k-quants fall
# back to legacy types for rows that are not a multiple of 256).
_K_FALLBACKS = {Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0, Q.IQ4_NL, Q.F16, Q.BF16, Q.F32}
SANE_TYPES: dict[str, tuple[Q, set[Q]]] = {
    "F32": (Q.F32, {Q.F32}),
    "F16": (Q.F16, {Q.F16, Q.F32}),
    "BF16": (Q.BF16, {Q.BF16, Q.F32}),
    "Q8_0": (Q.Q8_0, {Q.Q8_0, Q.F16, Q.BF16, Q.F32}),
    "Q6_K": (Q.Q6_K, {Q.Q6_K} | _K_FALLBACKS),
    "Q5_K_M": (Q.Q5_K, {Q.Q5_K, Q.Q6_K} | _K_FALLBACKS),
    "Q4_K_M": (Q.Q4_K, {Q.Q4_K, Q.Q5_K, Q.Q6_K} | _K_FALLBACKS),
}


def _close(a: float, b: float) -> bool:
    return math.isclose(float(a), float(b), rel_tol=1e-5, abs_tol=0.0)


def check_metadata(g: GGUFFile, hp: HParams) -> CheckResult:
    """Architecture and every hyper-parameter llama.cpp reads, against config.json."""
    if g.architecture != hp.spec.name:
        return CheckResult(
            "metadata",
            False,
            f"architecture is {g.architecture!r}, config.json implies {hp.spec.name!r}",
        )
    expected: list[tuple[str, object, str]] = [
        ("context_length", hp.context_length, "max_position_embeddings"),
        ("embedding_length", hp.n_embd, "hidden_size"),
        ("block_count", hp.n_layer, "num_hidden_layers"),
        ("feed_forward_length", hp.n_ff, "intermediate_size"),
        ("attention.head_count", hp.n_head, "num_attention_heads"),
        ("attention.head_count_kv", hp.n_kv_head, "num_key_value_heads"),
        ("rope.freq_base", hp.rope_theta, "rope_theta"),
        ("attention.layer_norm_rms_epsilon", hp.rms_eps, "rms_norm_eps"),
    ]
    if hp.head_dim != hp.n_embd // hp.n_head:
        expected.append(("attention.key_length", hp.head_dim, "head_dim"))
    kind = rope_scaling_type(hp)
    if kind in ("linear", "yarn"):
        expected.append(
            ("rope.scaling.factor", float(hp.rope_scaling["factor"]), "rope_scaling.factor")
        )
    if kind == "yarn":
        expected.append(
            (
                "rope.scaling.original_context_length",
                hp.rope_scaling["original_max_position_embeddings"],
                "rope_scaling.original_max_position_embeddings",
            )
        )
    problems = []
    for key, want, config_key in expected:
        have = g.arch_value(key)
        if have is None:
            problems.append(
                f"{g.architecture}.{key} is missing (config.json {config_key} = {want})"
            )
        elif not _close(have, want):
            problems.append(
                f"{g.architecture}.{key} is {have} but config.json {config_key} is {want}"
            )
    if kind in ("linear", "yarn") and g.arch_value("rope.scaling.type") != kind:
        problems.append(
            f"rope.scaling.type is {g.arch_value('rope.scaling.type')!r}, expected {kind!r}"
        )
    n_tokens = len(g.value("tokenizer.ggml.tokens") or [])
    if n_tokens != hp.vocab_size:
        problems.append(
            f"the vocabulary has {n_tokens} tokens but config.json vocab_size is {hp.vocab_size}"
        )
    if problems:
        return CheckResult("metadata", False, "; ".join(problems))
    return CheckResult("metadata", True, f"{len(expected) + 2} fields match config.json")


def check_tensors(g: GGUFFile, hp: HParams) -> CheckResult:
    """Every tensor config.json implies is present, with the right shape and a sane type."""
    expected = expected_tensors(hp)
    return _compare_tensors(
        g,
        expected,
        shape_of="expected",
        extra="unexpected",
        passed=f"{len(expected)} tensors with expected shapes",
    )


def _compare_tensors(
    g: GGUFFile, expected: dict, *, shape_of: str, extra: str, passed: str
) -> CheckResult:
    """The "tensors" check: names and shapes against ``expected`` (name -> shape), sane types.

    ``shape_of`` words a wrong shape's origin ("expected", "the reference's"), ``extra`` the
    list of tensors that should not be there, ``passed`` the summary when all is well.
    """
    missing = sorted(set(expected) - set(g.tensors))
    unexpected = sorted(set(g.tensors) - set(expected))
    wrong_shape = [
        f"{n} is {list(g.shape(n))}, {shape_of} {list(expected[n])}"
        for n in expected
        if n in g.tensors and g.shape(n) != expected[n]
    ]
    problems = []
    if missing:
        problems.append(f"missing: {', '.join(missing[:5])}")
    if unexpected:
        problems.append(f"{extra}: {', '.join(unexpected[:5])}")
    problems += wrong_shape[:5]
    problems += _type_problems(g)
    if problems:
        return CheckResult("tensors", False, "; ".join(problems))
    types = sorted({g.tensors[n].tensor_type.name for n in g.tensors})
    return CheckResult(
        "tensors", True, f"{passed}; types {', '.join(types)}", {"tensor_types": types}
    )


def _type_problems(g: GGUFFile) -> list[str]:
    nominal, allowed = SANE_TYPES.get(g.type_name, (None, set(Q)))
    problems = []
    main_params = nominal_params = 0
    for name, tensor in g.tensors.items():
        qtype = tensor.tensor_type
        if len(tensor.dims) == 1 and qtype != Q.F32:
            problems.append(f"{name} is 1-D but stored as {qtype.name} (llama.cpp expects F32)")
        elif len(tensor.dims) > 1 and qtype not in allowed:
            problems.append(f"{name} is {qtype.name}, not a type a {g.type_name} file should hold")
        block = gguf.GGML_QUANT_SIZES[nominal][0] if nominal is not None else 1
        if len(tensor.dims) > 1 and int(tensor.dims[0]) % block == 0:
            main_params += int(tensor.n_elements)
            nominal_params += int(tensor.n_elements) if qtype == nominal else 0
    if nominal is not None and main_params and nominal_params < main_params / 3:
        problems.append(
            f"only {nominal_params / main_params:.0%} of the weights are {nominal.name} in a "
            f"{g.type_name} file"
        )
    return problems[:5]


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and _close(a, b)
    return a == b


def check_metadata_against_reference(g: GGUFFile, ref: GGUFFile) -> CheckResult:
    """Architecture, every ``<arch>.*`` hyper-parameter and the vocabulary size, against the
    reference GGUF (used when no config.json is given)."""
    if g.architecture != ref.architecture:
        return CheckResult(
            "metadata",
            False,
            f"architecture is {g.architecture!r}, the reference's is {ref.architecture!r}",
        )
    prefix = f"{ref.architecture}."
    keys = sorted(k for k in {*g.header.fields, *ref.header.fields} if k.startswith(prefix))
    problems = []
    for key in keys:
        have, want = g.value(key), ref.value(key)
        if have is None:
            problems.append(f"{key} is missing (the reference has {want})")
        elif want is None:
            problems.append(f"{key} = {have} is not in the reference")
        elif not _same_value(have, want):
            problems.append(f"{key} is {have} but the reference has {want}")
    n_tokens = len(g.value("tokenizer.ggml.tokens") or [])
    n_reference = len(ref.value("tokenizer.ggml.tokens") or [])
    if n_tokens != n_reference:
        problems.append(f"the vocabulary has {n_tokens} tokens, the reference {n_reference}")
    if problems:
        return CheckResult("metadata", False, "; ".join(problems[:5]))
    return CheckResult(
        "metadata",
        True,
        f"{len(keys)} {prefix}* fields and the vocabulary size match the reference",
    )


def check_tensors_against_reference(g: GGUFFile, ref: GGUFFile) -> CheckResult:
    """The reference's tensors are all present with the same shapes, each of a sane type."""
    return _compare_tensors(
        g,
        {n: ref.shape(n) for n in ref.tensors},
        shape_of="the reference's",
        extra="not in the reference",
        passed=f"{len(ref.tensors)} tensors with the reference's shapes",
    )
