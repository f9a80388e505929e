"""Model manager (no Qt): catalogue, recommendation, installed models, downloads, imports.

* ``load_catalogue()`` — the shipped catalogue (``resources/catalogue.json``).
* ``recommend(catalogue, probe_hardware())`` — what this machine should run, why, with which
  load settings (``Recommendation.load_settings()``).
* ``ModelRegistry()`` — installed models (``<data>/models.json``).
* ``DownloadManager(registry)`` — queued Hub downloads with pause/resume/cancel and progress.
* ``install_download`` / ``import_gguf`` / ``verify_model`` — the single-shot operations.
* ``check_gguf(path)`` — header readable and architecture loadable by this llama.cpp.

Hub transfers are done by ``quantize.hub`` (pinned, resumable, sha256-verified).
"""

from .catalogue import Catalogue, CatalogueEntry, ModelFamily, load_catalogue
from .checks import check_gguf
from .downloads import DownloadManager, DownloadTask, TaskState
from .errors import (
    ModelFileMissingError,
    ModelNotInstalledError,
    ModelsError,
    UnsupportedModelError,
    VerificationFailedError,
)
from .install import (
    VerifyResult,
    adopt_found_models,
    import_gguf,
    install_download,
    verify_model,
)
from .load_settings import LoadSettings
from .recommend import (
    Option,
    Recommendation,
    describe_hardware,
    hypothetical_hardware,
    plan_entry,
    recommend,
)
from .registry import InstalledModel, ModelRegistry

__all__ = [
    "Catalogue",
    "CatalogueEntry",
    "DownloadManager",
    "DownloadTask",
    "InstalledModel",
    "LoadSettings",
    "ModelFamily",
    "ModelFileMissingError",
    "ModelNotInstalledError",
    "ModelRegistry",
    "ModelsError",
    "Option",
    "Recommendation",
    "TaskState",
    "UnsupportedModelError",
    "VerificationFailedError",
    "VerifyResult",
    "adopt_found_models",
    "check_gguf",
    "describe_hardware",
    "hypothetical_hardware",
    "import_gguf",
    "install_download",
    "load_catalogue",
    "plan_entry",
    "recommend",
    "verify_model",
]
