"""Terminal progress bars (tqdm on stderr) for the command line's TerminalReporter.

A bar appears with the first report, so a command that fails early prints only its error.
"""

from __future__ import annotations

from tqdm import tqdm


class Bar:
    """One lazily created tqdm bar, reset when its total or label changes."""

    def __init__(self, enabled: bool, **options) -> None:
        self.enabled = enabled
        self.options = options
        self.bar: tqdm | None = None
        self.key: object = None

    def show(self, done: int, total: int | None, key: object = None, note: str = "") -> None:
        if not self.enabled:
            return
        if self.bar is None or key != self.key:
            self.close()
            desc = str(key)[-40:] if key is not None else self.options.get("desc")
            self.bar = tqdm(**{**self.options, "desc": desc}, total=total, leave=True)
            self.key = key
        if self.bar.total != total:
            self.bar.reset(total=total)
        self.bar.n = done
        if note:
            self.bar.set_postfix_str(note[-32:], refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
