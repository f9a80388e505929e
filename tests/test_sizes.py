"""The one byte formatter (``app.sizes.format_bytes``): decimal units, the unit chosen after
rounding."""

import pytest

from app.sizes import format_bytes


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (None, "unknown"),
        (0, "0 B"),
        (999, "999 B"),
        (1499, "1 kB"),
        (999_960, "1.0 MB"),
        (1_700_000, "1.7 MB"),
        (52_300_000.0, "52.3 MB"),
        (8_980_000_000, "8.98 GB"),
        (19_853_623_296, "19.85 GB"),
        (999_999_999_999, "1.00 TB"),
        (-2_000_000, "-2.0 MB"),
    ],
)
def test_format_bytes(n, text):
    assert format_bytes(n) == text
