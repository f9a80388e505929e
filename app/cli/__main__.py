"""`python -m app.cli`: the same as the `qwq-desktop` command."""

import sys

from app.cli import main

sys.exit(main())
