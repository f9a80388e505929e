"""Entry point of the packaged app: the same `qwq-desktop` command line."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
