"""QwQ Desktop: a private, offline desktop chat app for QwQ-32B and other GGUF chat models."""

__version__ = "0.1.0"

import os as _os

# Offline by default: huggingface_hub must never phone home on its own (telemetry, agent checks).
_os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
