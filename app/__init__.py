"""QwQ Desktop: a private, offline desktop chat app for QwQ-32B and other GGUF chat models."""

__version__ = "0.1.0"
