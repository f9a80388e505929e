"""QwQ Desktop: a private, offline desktop chat app for QwQ-32B and other GGUF chat models."""

import os as _os

from .about import VERSION as __version__  # one place: pyproject.toml's [project] version

__all__ = ["__version__"]

# Offline by default: huggingface_hub must never phone home on its own (telemetry, agent checks).
_os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
