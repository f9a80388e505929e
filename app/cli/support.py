"""What the `chat` and `info` commands share: expected errors printed for a person."""

from __future__ import annotations

from app.errors import UserFacingError
from quantize.errors import print_error


def report_error(error: UserFacingError) -> int:
    """Print an expected error for a person (no traceback): ``error: MESSAGE`` and, below it,
    ``  try: HINT``, from the error's fields. Returns the exit code."""
    print_error(error, hint_label="try")
    return 2
