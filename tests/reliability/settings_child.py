"""Child process of the small-files kill: saves the app's settings over and over until killed.

    python -m tests.reliability.settings_child START [COUNT]

Saves ``AppSettings(thinking_budget=n)`` for n = START, START+1, ... through the app's own
``save_settings`` (an atomic write) and prints n once each save has returned; COUNT saves and
exits (default: until killed). The settings file is the app's (``$QWQ_DESKTOP_HOME``).
"""

from __future__ import annotations

import itertools
import sys

from app.settings import AppSettings, save_settings


def main(start: int, count: int | None) -> int:
    numbers = itertools.count(start) if count is None else range(start, start + count)
    for n in numbers:
        save_settings(None, AppSettings(thinking_budget=n))
        print(n, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else None))
