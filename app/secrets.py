"""Secrets the user types (a Hugging Face token, the API key of a remote endpoint), kept in the
operating system's keyring (macOS Keychain, Windows Credential Locker, the Secret Service on
Linux) through the ``keyring`` package, and never in the settings file.

Where no keyring exists (a bare Linux box, a CI machine), ``save_secret`` returns False and the
caller keeps the secret for this session only and tells the user it will not be remembered;
``load_secret`` then finds nothing. A locked or failing keyring is an ``AppError`` saying so.
"""

from __future__ import annotations

import importlib
import sys

from app.errors import AppError

SERVICE = "QwQ Desktop"
HUB_TOKEN = "huggingface-token"


def remote_key_name(url: str) -> str:
    """The keyring entry holding the API key of the endpoint at ``url``."""
    return f"api-key:{url.rstrip('/')}"


class SecretStoreError(AppError):
    """The keyring exists but refused (locked, access denied, its service failed)."""


def available() -> bool:
    """Whether a real keyring backend is there (not keyring's "fail" or null backends)."""
    try:
        import keyring
    except ImportError:
        return False
    backend = keyring.get_keyring()
    return getattr(backend, "priority", 0) > 0


# The keyring backend each OS is expected to have (the module under keyring.backends).
PLATFORM_BACKENDS = {"linux": "SecretService", "darwin": "macOS", "win32": "Windows"}


def keyring_report() -> dict:
    """Where secrets go on this machine, for the self-test: ``backend`` (a name, or None when
    secrets are kept for the session only), ``reason`` (why none), and ``shipped``: whether
    this OS's backend and what it needs can be imported (False in a bundle that left them out).
    """
    expected = PLATFORM_BACKENDS.get("linux" if sys.platform.startswith("linux") else sys.platform)
    try:
        import keyring
    except ImportError as exc:
        return {"backend": None, "reason": f"keyring is not installed ({exc})", "shipped": False}
    shipped, reason = True, "no keyring backend on this machine"
    if expected:
        try:
            module = importlib.import_module(f"keyring.backends.{expected}")
            if expected == "SecretService":
                importlib.import_module("secretstorage")
            module.Keyring.priority  # noqa: B018 (raises why the backend cannot be used)
        except ImportError as exc:
            shipped, reason = False, f"{expected} backend missing ({exc})"
        except Exception as exc:  # each backend says in its own words why it is unusable
            reason = str(exc)
    if available():
        backend = keyring.get_keyring()
        return {
            "backend": type(backend).__module__.rsplit(".", 1)[-1],
            "reason": "",
            "shipped": shipped,
        }
    return {"backend": None, "reason": reason, "shipped": shipped}


def save_secret(name: str, value: str) -> bool:
    """Keep ``value`` under ``name``; False when there is no keyring to keep it in."""
    if not available():
        return False
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(SERVICE, name, value)
    except KeyringError as exc:
        raise _refused("save", exc) from exc
    return True


def load_secret(name: str) -> str | None:
    """The secret kept under ``name``, or None (none kept, or no keyring)."""
    if not available():
        return None
    import keyring
    from keyring.errors import KeyringError

    try:
        return keyring.get_password(SERVICE, name)
    except KeyringError as exc:
        raise _refused("read", exc) from exc


def delete_secret(name: str) -> None:
    """Forget the secret kept under ``name`` (nothing happens if there is none)."""
    if not available():
        return
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        keyring.delete_password(SERVICE, name)
    except PasswordDeleteError:
        return  # there was none
    except KeyringError as exc:
        raise _refused("remove", exc) from exc


def _refused(doing: str, exc: Exception) -> SecretStoreError:
    return SecretStoreError(
        f"The system keyring would not {doing} the secret: {exc}",
        "unlock the keyring (your login keychain or wallet) and try again",
    )
