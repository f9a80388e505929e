"""qwq-quantize: Hugging Face safetensors -> GGUF -> Q4_K_M, validated. Never imports `app`."""
