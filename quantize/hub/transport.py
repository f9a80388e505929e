"""HTTP to the Hub with the standard library: endpoint, token, timeouts and typed errors.

Settings follow huggingface_hub's environment variables, read at call time (so a test or a
user can change them without re-importing anything): ``HF_ENDPOINT``, ``HF_TOKEN`` (and the
token saved by ``hf auth login``), ``HF_HUB_OFFLINE``, ``HF_HUB_ETAG_TIMEOUT`` (metadata) and
``HF_HUB_DOWNLOAD_TIMEOUT`` (file transfer). Proxies come from the usual ``https_proxy`` etc.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from .errors import HubAuthError, HubError, HubNotFoundError, HubOfflineError, HubProtocolError

DEFAULT_ENDPOINT = "https://huggingface.co"
DEFAULT_TIMEOUT_S = 10.0
USER_AGENT_LIBRARY = "qwq-desktop"


class TransientHubError(HubProtocolError):
    """A failure worth retrying (HTTP 429/5xx, a dropped connection)."""


class RangeNotSatisfiable(HubProtocolError):
    """HTTP 416: the requested byte range starts at or after the end of the file."""


def hub_endpoint() -> str:
    """The Hub's base URL: ``$HF_ENDPOINT`` or https://huggingface.co, without a trailing slash."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def is_offline_mode() -> bool:
    """True when ``HF_HUB_OFFLINE`` asks for no network access at all."""
    return _env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE")


def require_online() -> None:
    """Raise HubOfflineError when offline mode is on."""
    if is_offline_mode():
        raise HubOfflineError(
            "Offline mode is on (HF_HUB_OFFLINE), so nothing can be downloaded",
            "unset HF_HUB_OFFLINE to download, or use a model file you already have",
        )


def _env_seconds(name: str) -> float:
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return DEFAULT_TIMEOUT_S
    return value if value > 0 else DEFAULT_TIMEOUT_S


def metadata_timeout() -> float:
    """Seconds to wait for an API answer (``HF_HUB_ETAG_TIMEOUT``, default 10)."""
    return _env_seconds("HF_HUB_ETAG_TIMEOUT")


def download_timeout() -> float:
    """Seconds a transfer may stall before it counts as failed (``HF_HUB_DOWNLOAD_TIMEOUT``)."""
    return _env_seconds("HF_HUB_DOWNLOAD_TIMEOUT")


def hub_headers(token: str | bool | None = None) -> dict[str, str]:
    """User agent and ``Authorization`` for a Hub request, with huggingface_hub's token rules.

    ``token``: a string is sent as is; None uses ``$HF_TOKEN`` or the login saved by
    ``hf auth login`` (unless ``HF_HUB_DISABLE_IMPLICIT_TOKEN`` is set); True requires one;
    False sends none. (huggingface_hub's own ``build_hf_headers`` is not used: it may contact
    the Hub to detect "agent harnesses" for telemetry, which an offline app must not do.)
    """
    headers = {"User-Agent": f"{USER_AGENT_LIBRARY}/{_own_version()}; python/{_python()}"}
    chosen = resolve_token(token)
    if chosen:
        headers["Authorization"] = f"Bearer {chosen}"
    return headers


def resolve_token(token: str | bool | None = None) -> str | None:
    """The token a request should carry (see ``hub_headers``), or None."""
    if isinstance(token, str):
        return token or None
    if token is False:
        return None
    if token is None and _env_true("HF_HUB_DISABLE_IMPLICIT_TOKEN"):
        return None
    from huggingface_hub import get_token  # HF_TOKEN, then the saved login

    found = get_token()
    if token is True and not found:
        raise HubAuthError(
            "A Hugging Face token is required but none is set",
            "set HF_TOKEN or run `hf auth login`",
        )
    return found


def _env_true(name: str) -> bool:
    return (os.environ.get(name) or "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def _python() -> str:
    import platform

    return platform.python_version()


def _own_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("qwq-desktop")
    except PackageNotFoundError:
        return "dev"


class _RedirectKeepingAuthOnOrigin(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but never send the Hub token to another host (the Hub's file CDN
    gets a signed URL instead, and rejects requests that also carry a token)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(newurl) != _origin(req.full_url):
            new.remove_header("Authorization")
        return new


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def _ssl_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not context.get_ca_certs():  # some Python builds ship without system CAs
        try:
            import certifi

            context.load_verify_locations(certifi.where())
        except ImportError:
            pass
    return context


_opener: urllib.request.OpenerDirector | None = None


def _get_opener() -> urllib.request.OpenerDirector:
    global _opener
    if _opener is None:
        _opener = urllib.request.build_opener(
            _RedirectKeepingAuthOnOrigin(), urllib.request.HTTPSHandler(context=_ssl_context())
        )
    return _opener


def open_url(
    url: str,
    headers: dict[str, str],
    timeout: float,
    *,
    what: str,
    method: str = "GET",
) -> http.client.HTTPResponse:
    """Open ``url`` and return the response of a 2xx answer; every failure is a HubError.

    ``what`` names the thing asked for in messages ("Qwen/QwQ-32B-GGUF", "model.gguf").
    """
    request = urllib.request.Request(url, headers=headers, method=method)
    try:
        return _get_opener().open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        with exc:
            raise http_error(exc.code, exc.headers, what, url) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise network_error(exc, url) from exc


_GIVE_TOKEN = "set HF_TOKEN, or keep it with `qwq-desktop models login` (the system keyring)"


def http_error(status: int, headers, what: str, url: str) -> HubError:
    """The typed error for an HTTP error status (using the Hub's ``X-Error-Code`` header)."""
    code = (headers.get("X-Error-Code") or "") if headers is not None else ""
    server_message = (headers.get("X-Error-Message") or "") if headers is not None else ""
    repo_page = _repo_page(url)
    if code == "GatedRepo" or (status == 403 and "gated" in server_message.lower()):
        return HubAuthError(
            f"{what} is in a gated repository: access needs an accepted licence and a token",
            f"accept the terms at {repo_page}, then give a token of that account: {_GIVE_TOKEN}",
        )
    if status in (401, 403):
        return HubAuthError(
            f"The Hub refused access to {what} (HTTP {status}); it is private, gated or the "
            "token is wrong",
            f"give a valid token of an account that can see the repository: {_GIVE_TOKEN}",
        )
    if status == 404:
        kind = {
            "RevisionNotFound": "revision",
            "EntryNotFound": "file",
            "RepoNotFound": "repository",
        }.get(code, "file or repository")
        return HubNotFoundError(
            f"The Hub has no such {kind}: {what}",
            "check the spelling of the repository, revision and file name",
        )
    if status == 416:
        return RangeNotSatisfiable(f"Byte range not satisfiable for {what}")
    if status == 429 or status >= 500:
        return TransientHubError(
            f"The Hub answered HTTP {status} for {what}", "wait a minute and try again"
        )
    return HubProtocolError(f"Unexpected HTTP {status} from the Hub for {what}", server_message)


def network_error(exc: BaseException, url: str) -> HubOfflineError:
    """A HubOfflineError describing why ``url`` could not be reached."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    host = urlsplit(url).netloc
    if isinstance(reason, (TimeoutError, socket.timeout)):
        why = "no answer in time"
    elif isinstance(reason, socket.gaierror):
        why = "the name does not resolve (no network?)"
    elif isinstance(reason, ConnectionRefusedError):
        why = "connection refused"
    elif isinstance(reason, (ConnectionError, http.client.HTTPException)):
        why = "the connection dropped"
    else:
        why = str(reason) or type(reason).__name__
    return HubOfflineError(
        f"Cannot reach the Hugging Face Hub at {host}: {why}",
        "check the internet connection (and HF_ENDPOINT or proxy settings), then try again; "
        "partly downloaded files are kept and resume",
    )


def _repo_page(url: str) -> str:
    """The repository's web page for a resolve or API URL (best effort, for messages)."""
    endpoint = hub_endpoint()
    path = url[len(endpoint) :] if url.startswith(endpoint) else urlsplit(url).path
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "models"]:
        parts = parts[2:]
    return f"{endpoint}/{'/'.join(parts[:2])}" if len(parts) >= 2 else endpoint
