"""Byte sizes in words for the app: the formatter lives in the shared foundation
(``quantize/sizes.py``) so the quantisation tool's messages read the same."""

from quantize.sizes import format_bytes

__all__ = ["format_bytes"]
