"""UTF-8-safe incremental detokenisation: each token's bytes are decoded once, not the reply.

A token can end in the middle of a multi-byte character (emoji, CJK, accented letters split by
byte-level BPE); the incremental decoder holds those bytes until the character is complete.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable


class IncrementalDetokenizer:
    """Turns token ids into text pieces in O(1) per token."""

    def __init__(self, token_bytes: Callable[[int], bytes]) -> None:
        self._token_bytes = token_bytes
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def push(self, token: int) -> str:
        """Text completed by ``token`` ('' while a character is still incomplete)."""
        return self._decoder.decode(self._token_bytes(token))

    def push_bytes(self, data: bytes) -> str:
        return self._decoder.decode(data)

    def flush(self) -> str:
        """Whatever is left at the end (an incomplete character becomes U+FFFD)."""
        return self._decoder.decode(b"", final=True)
