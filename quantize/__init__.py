"""qwq-quantize: Hugging Face safetensors -> GGUF -> Q4_K_M, validated. Never imports `app`."""

import os as _os

# Offline by default: huggingface_hub must never phone home on its own (telemetry, agent checks).
_os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
