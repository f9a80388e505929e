"""UTF-8-safe incremental detokenisation."""

from app.engine.detokenizer import IncrementalDetokenizer


def test_multibyte_characters_split_across_tokens():
    data = "héllo 你好 👋".encode()
    pieces = {i: bytes([b]) for i, b in enumerate(data)}  # one byte per "token"
    detok = IncrementalDetokenizer(pieces.__getitem__)
    out = [detok.push(i) for i in range(len(data))]
    assert "".join(out) + detok.flush() == "héllo 你好 👋"
    assert "\ufffd" not in "".join(out)
    # A character is released exactly when its last byte arrives.
    emoji_last = len(data) - 1
    assert out[emoji_last] == "👋"


def test_incomplete_character_at_end_becomes_replacement():
    detok = IncrementalDetokenizer({0: "你".encode()[:2]}.__getitem__)
    assert detok.push(0) == ""
    assert detok.flush() == "\ufffd"
