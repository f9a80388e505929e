"""What a GGUF file found on the Hub is, and whether it would fit this computer. No Qt.

Used by the Hub search dialog before anything is downloaded:

* ``parse_quant("Qwen_QwQ-32B-Q4_K_M.gguf")`` -> ``"Q4_K_M"`` (the quantisation in the name);
* split parts (``-00001-of-00003.gguf``) and vision projectors (``mmproj``) are told apart
  from single-file chat models, which are the only ones the app can download and load;
* ``file_verdict`` asks the memory planner through the catalogue logic (``plan_entry``): with
  the catalogue's facts when the file is in the catalogue or its name names a catalogue model
  family (``QwQ-32B``, ``Qwen2.5-7B-Instruct``, ...), sized by the file's real size; for
  other models only the weights' size against the memory that is free can be compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from app.engine import HardwareInfo, InsufficientMemoryError
from app.engine.planner import GPU_RESERVE, ram_budget
from app.models import Catalogue, CatalogueEntry, LoadSettings, ModelFamily, Option, plan_entry
from app.models.hub_token import hub_token
from app.models.install import download_target
from app.models.registry import ModelRegistry
from app.sizes import format_bytes
from quantize.hub import RemoteFile, list_repo_files

_QUANT = re.compile(
    r"(?<![a-z0-9])"
    r"(iq\d_(?:xxs|xs|s|m|nl)|tq\d_\d|q\d_k(?:_(?:xl|s|m|l))?|q\d_\d|bf16|fp16|f16|fp32|f32|mxfp4)"
    r"(?![a-z0-9])",
    re.IGNORECASE,
)
_SPLIT = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)


def parse_quant(filename: str) -> str | None:
    """The quantisation type named in a GGUF file name ("Q4_K_M", "IQ4_XS", "F16"), or None."""
    found = _QUANT.findall(filename.rsplit("/", 1)[-1])
    if not found:
        return None
    return found[-1].upper().replace("FP", "F")


def split_part(filename: str) -> tuple[int, int] | None:
    """(part, of) for a split GGUF such as ``model-00001-of-00003.gguf``, else None."""
    match = _SPLIT.search(filename)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _normalised(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def match_family(catalogue: Catalogue, repo_id: str, filename: str) -> ModelFamily | None:
    """The catalogue family whose name the repository or file name contains ("QwQ-32B" in
    ``bartowski/Qwen_QwQ-32B-GGUF``); the longest name wins."""
    text = _normalised(f"{repo_id} {filename}")
    best: ModelFamily | None = None
    for family in catalogue.families.values():
        name = _normalised(family.name)
        if re.search(rf"(^|-){re.escape(name)}(-|$)", text) and (
            best is None or len(name) > len(_normalised(best.name))
        ):
            best = family
    return best


def memory_for_models(hw: HardwareInfo) -> int:
    """Bytes a model may occupy: free RAM less the planner's reserve, plus a discrete GPU's
    free memory (less its reserve)."""
    total = ram_budget(hw)
    if hw.gpu_backend and not hw.unified_memory and hw.gpu_free_bytes:
        total += max(0, hw.gpu_free_bytes - GPU_RESERVE)
    return total


@dataclass(frozen=True)
class Verdict:
    """Whether a file would run here: ``fits`` (None: cannot tell), a table cell, a sentence,
    and the load settings to store with it (for catalogue files only)."""

    fits: bool | None
    short: str
    detail: str
    settings: LoadSettings | None = None


@dataclass(frozen=True)
class HubFile:
    """One GGUF file of a repository with what the app makes of it."""

    remote: RemoteFile
    quant: str | None
    kind: str  # "model" (one-file chat model), "part" (of a split model), "projector"
    verdict: Verdict
    installed_name: str | None = None

    @property
    def path(self) -> str:
        return self.remote.path

    @property
    def downloadable(self) -> bool:
        return self.kind == "model"


@dataclass(frozen=True)
class RepoListing:
    """The GGUF files of a repository at one commit (downloads are pinned to it)."""

    repo_id: str
    commit_sha: str
    files: tuple[HubFile, ...]


def file_verdict(
    repo_id: str, remote: RemoteFile, catalogue: Catalogue, hardware: HardwareInfo
) -> Verdict:
    """The memory planner's verdict on one file for ``hardware`` (see the module docs)."""
    size = remote.size
    if size is None:
        return Verdict(None, "Size unknown", "The Hub did not publish this file's size.")
    entry = catalogue.find_file(repo_id, remote.path)
    exact = entry is not None
    if entry is not None:
        entry = replace(entry, approx_size_bytes=size)
    else:
        family = match_family(catalogue, repo_id, remote.path)
        if family is not None:
            entry = CatalogueEntry(
                id=f"{repo_id}/{remote.path}",
                family=family,
                quant=parse_quant(remote.path) or "unknown",
                repo_id=repo_id,
                filename=remote.path,
                approx_size_bytes=size,
                sha256=remote.sha256,
            )
    if entry is None:
        return _weights_verdict(size, hardware)
    as_what = "" if exact else f"Planned as {entry.family.name} (by its name): "
    try:
        plan = plan_entry(entry, hardware)
    except InsufficientMemoryError as exc:
        hint = f"; {exc.hint}" if exc.hint else ""
        return Verdict(False, "Does not fit", f"{as_what}{exc.message}{hint}.")
    context = f"{plan.n_ctx // 1024}K" if plan.n_ctx % 1024 == 0 else str(plan.n_ctx)
    settings = (
        LoadSettings(
            n_ctx=plan.n_ctx, n_gpu_layers=plan.n_gpu_layers, kv_cache_type=plan.kv_cache_type
        )
        if exact
        else None
    )
    if Option(entry, plan).fits:
        return Verdict(True, f"Fits · {context} context", f"{as_what}{plan.summary()}.", settings)
    return Verdict(
        False,
        f"Only {context} context",
        f"{as_what}{plan.summary()}: too little context for a useful conversation.",
        settings,
    )


def _weights_verdict(size: int, hardware: HardwareInfo) -> Verdict:
    free = memory_for_models(hardware)
    if size <= free:
        return Verdict(
            True,
            "Weights fit",
            f"Not a model the catalogue knows: its {format_bytes(size)} of weights fit in the "
            f"{format_bytes(free)} of memory free; the context is planned from its header once "
            "it is downloaded.",
        )
    return Verdict(
        False,
        "Does not fit",
        f"Its {format_bytes(size)} of weights alone exceed the {format_bytes(free)} of memory "
        "free here.",
    )


def describe_file(
    repo_id: str,
    remote: RemoteFile,
    catalogue: Catalogue,
    hardware: HardwareInfo,
    registry: ModelRegistry | None = None,
) -> HubFile:
    """A HubFile for ``remote``: its kind, quantisation, verdict and installed name (if any)."""
    quant = parse_quant(remote.path)
    name = remote.path.rsplit("/", 1)[-1].lower()
    part = split_part(remote.path)
    if "mmproj" in name:
        kind = "projector"
        verdict = Verdict(
            None, "Vision add-on", "A vision projector for a multimodal model, not a chat model."
        )
    elif part is not None:
        kind = "part"
        verdict = Verdict(
            None,
            f"Part {part[0]} of {part[1]}",
            "One part of a model split into several files; the app downloads one-file models "
            "only. Choose another quantisation, or download the parts and join them with "
            "llama.cpp's gguf-split --merge, then import the result.",
        )
    else:
        kind = "model"
        verdict = file_verdict(repo_id, remote, catalogue, hardware)
    installed = None
    if registry is not None:
        models_dir, _ = download_target(registry, repo_id)
        found = registry.find_by_path(models_dir / remote.path)
        installed = found.name if found is not None else None
    return HubFile(remote, quant, kind, verdict, installed)


def list_gguf_files(
    repo_id: str,
    catalogue: Catalogue,
    hardware: HardwareInfo,
    registry: ModelRegistry | None = None,
    *,
    revision: str = "main",
    token: str | bool | None = None,
) -> RepoListing:
    """Ask the Hub for ``repo_id``'s files and describe its GGUF ones (network; HubError).
    ``token`` None: ``hub_token()`` ($HF_TOKEN or the one kept in the keyring)."""
    snap = list_repo_files(repo_id, revision, token=hub_token() if token is None else token)
    files = tuple(
        describe_file(repo_id, remote, catalogue, hardware, registry)
        for remote in snap.files
        if remote.path.lower().endswith(".gguf")
    )
    return RepoListing(repo_id, snap.commit_sha, files)
