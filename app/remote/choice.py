"""Which engine the user chose: this computer, or an OpenAI-compatible endpoint.

The endpoint's address and model are kept in their own small JSON file (``remote.json`` in the
config folder, written atomically); its API key never goes there, but to the OS keyring
(``app.secrets``) or, where there is none, to this session only (``KeyChain``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from app import secrets
from app.atomic import atomic_write_text

from .endpoint import RemoteEndpoint

log = logging.getLogger(__name__)

FILE_NAME = "remote.json"


@dataclass(frozen=True)
class EndpointChoice:
    """An endpoint the user set: ``active`` False means "this computer" (the address is kept
    for next time). ``model`` None takes the endpoint's first model."""

    url: str
    model: str | None = None
    active: bool = True

    def endpoint(self, api_key: str | None = None) -> RemoteEndpoint:
        return RemoteEndpoint(self.url, api_key=api_key or None, model=self.model or None)


def choice_path(config_dir: Path) -> Path:
    return Path(config_dir) / FILE_NAME


def load_choice(path: Path) -> EndpointChoice | None:
    """The saved choice, or None (none saved, or a file that cannot be read: logged)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        url = data["url"]
        if not isinstance(url, str) or not url.strip():
            raise ValueError("no address")
        model = data.get("model")
        return EndpointChoice(
            url, model if isinstance(model, str) else None, data.get("active") is True
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("Ignoring the remote endpoint file %s: %s", path, exc)
        return None


def save_choice(path: Path, choice: EndpointChoice) -> None:
    """Write ``choice`` atomically (OSError when the folder cannot be written)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(asdict(choice), indent=2) + "\n")


class KeyChain:
    """API keys of endpoints: the OS keyring, else kept for this session only."""

    def __init__(self) -> None:
        self._session: dict[str, str] = {}

    def save(self, url: str, key: str | None) -> bool:
        """Keep ``key`` for ``url`` (forget it when empty). True when it is remembered across
        restarts (or there was nothing to remember); False: this session only. Raises
        SecretStoreError when the keyring refuses (the key is then kept for the session)."""
        name = secrets.remote_key_name(url)
        if not key:
            self._session.pop(name, None)
            secrets.delete_secret(name)
            return True
        self._session[name] = key
        if secrets.save_secret(name, key):
            del self._session[name]
            return True
        return False

    def load(self, url: str) -> str | None:
        """The key for ``url``: this session's, else the keyring's (SecretStoreError when the
        keyring refuses)."""
        name = secrets.remote_key_name(url)
        return self._session.get(name) or secrets.load_secret(name)
