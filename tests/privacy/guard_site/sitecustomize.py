"""Installs tests/privacy/socket_guard in every Python process started with this folder on
PYTHONPATH and QWQ_NET_GUARD_LOG set (the privacy tests' children)."""

import os

if os.environ.get("QWQ_NET_GUARD_LOG"):
    from tests.privacy.socket_guard import install

    install(os.environ["QWQ_NET_GUARD_LOG"])
