"""A guard that fails any network use: an audit hook (``sys.addaudithook``) on Python's socket
calls. ``connect`` and ``sendto`` are refused unless the socket is AF_UNIX (what Qt, D-Bus or
a socketpair use inside the machine); name lookups (``getaddrinfo``, ``gethostbyname``...)
are refused always, even for localhost. A refused call raises ``NetworkAttempt`` (an OSError,
so it fails where a network failure would) and is recorded with the Python stack that made
it, so an attempt that the code catches and swallows is still seen.

In this process: ``guarded()`` (a context manager yielding the attempts). In a child: put
``guard_site`` on PYTHONPATH with ``QWQ_NET_GUARD_LOG=FILE``: its sitecustomize installs the
guard at start and every attempt is appended to FILE as a JSON line.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

LOG_ENV = "QWQ_NET_GUARD_LOG"
SITE_DIR = Path(__file__).with_name("guard_site")
LOOKUPS = {
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyname_ex",
    "socket.gethostbyaddr",
    "socket.getnameinfo",
}
SENDS = {"socket.connect", "socket.sendto"}
_state: dict = {"installed": False, "active": False, "attempts": [], "log": None}


class NetworkAttempt(OSError):
    """Raised where the code under test tried to use the network."""


def _refuse(event: str, args: tuple) -> str | None:
    """What the call tried, or None when it stays inside the machine (AF_UNIX)."""
    if event in LOOKUPS:
        return f"{event}{args!r}"
    if event in SENDS:
        sock, address = args[0], args[1]
        if getattr(sock, "family", None) == getattr(socket, "AF_UNIX", object()):
            return None
        return f"{event} to {address!r} (family {getattr(sock, 'family', '?')!r})"
    return None


def _hook(event: str, args: tuple) -> None:
    if not _state["active"] or (event not in LOOKUPS and event not in SENDS):
        return
    what = _refuse(event, args)
    if what is None:
        return
    stack = "".join(traceback.format_stack(limit=16)[:-1])  # without this hook
    _state["attempts"].append(f"{what}\n{stack}")
    if _state["log"]:
        with open(_state["log"], "a", encoding="utf-8") as log:
            log.write(json.dumps({"attempt": what, "stack": stack}) + "\n")
    raise NetworkAttempt(f"network use in a privacy test: {what}")


def install(log: str | None = None) -> None:
    """Install the hook once per process (audit hooks cannot be removed) and switch it on."""
    if not _state["installed"]:
        sys.addaudithook(_hook)
        _state["installed"] = True
    _state["log"] = log
    _state["active"] = True


@contextlib.contextmanager
def guarded() -> Iterator[list[str]]:
    """Refuse network use inside the block; yields the list of attempts (filled as they come)."""
    install()
    _state["attempts"] = attempts = []
    try:
        yield attempts
    finally:
        _state["active"] = False


def read_log(path: Path) -> list[str]:
    """The attempts a guarded child appended to ``path`` (attempt and stack), if any."""
    if not path.exists():
        return []
    return [
        "{attempt}\n{stack}".format(**json.loads(line))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
