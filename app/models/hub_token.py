"""The Hugging Face token the app sends to the Hub: from ``$HF_TOKEN``, else the one the user
gave the app (kept in the OS keyring by ``app.secrets``; where there is no keyring, for this
session only), never from a settings file or a command line.

``hub_token()`` is what every Hub call of the app passes on (downloads, file lists, the build
runner's child, which gets it as ``HF_TOKEN`` in its environment, not on its command line).
None lets ``quantize.hub`` fall back to huggingface_hub's own login (``hf auth login``).
"""

from __future__ import annotations

import logging
import os
from typing import TextIO

from app import secrets
from app.models.errors import ModelsError

log = logging.getLogger(__name__)
ENV = "HF_TOKEN"
_session: dict[str, str] = {}  # the token given where no keyring exists: this process only


class TokenInputError(ModelsError):
    """No token was given where one was asked for."""


def hub_token() -> str | None:
    """``$HF_TOKEN``, else the token kept in the keyring (or this session), else None."""
    from_env = (os.environ.get(ENV) or "").strip()
    if from_env:
        return from_env
    try:
        kept = secrets.load_secret(secrets.HUB_TOKEN)
    except secrets.SecretStoreError as exc:  # a locked keyring: go on without the token
        log.warning("%s", exc.message)
        kept = None
    return kept or _session.get(secrets.HUB_TOKEN)


def remember_token(token: str) -> bool:
    """Keep ``token`` for later Hub calls: True when it went to the keyring (it lasts), False
    when there is none (kept for this session only: tell the user). SecretStoreError when the
    keyring refused."""
    token = token.strip()
    if not token:
        raise TokenInputError("The Hugging Face token is empty", "paste the whole token")
    if secrets.save_secret(secrets.HUB_TOKEN, token):
        _session.pop(secrets.HUB_TOKEN, None)
        return True
    _session[secrets.HUB_TOKEN] = token
    return False


def forget_token() -> None:
    """Remove the kept token from the keyring and this session."""
    _session.pop(secrets.HUB_TOKEN, None)
    secrets.delete_secret(secrets.HUB_TOKEN)


def token_environment() -> dict[str, str]:
    """``{"HF_TOKEN": token}`` for a child process that calls the Hub (empty without one)."""
    token = hub_token()
    return {ENV: token} if token else {}


def read_token(stream: TextIO) -> str:
    """The token on the first line of ``stream`` (standard input: ``--token-stdin``)."""
    token = stream.readline().strip()
    if not token:
        raise TokenInputError(
            "No Hugging Face token on standard input",
            f"pipe it in (e.g. `pass hf | qwq-desktop ...`) or set {ENV} instead",
        )
    return token
