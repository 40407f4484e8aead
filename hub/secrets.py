"""Secrets given by reference in the hub's own config, and the NATS credentials and TLS built from them.

Both sides come from one `[nats]` section: the options a client connects with, and the security
of the embedded nats-server (the same user, token or NKey, the same CA), so a hub that starts
its own server and a CLI that talks to it always agree.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from hub.config import ConfigError, NatsSettings, NatsTls
from hub.natsserver import ServerAuth, ServerTls
from hub.sdk import SecretRef, resolve_path


def reveal(value: str | None) -> str | None:
    return SecretRef(value).reveal() if value else None


def client_options(settings: NatsSettings, base_dir: Path) -> dict[str, Any]:
    """Keyword arguments for `hub.bus.connect`: credentials revealed, TLS as an SSL context."""
    options: dict[str, Any] = {}
    if settings.user is not None:
        options |= {"user": settings.user, "password": reveal(settings.password)}
    if settings.token is not None:
        options["token"] = reveal(settings.token)
    if settings.nkey_seed is not None:
        options["nkey_seed"] = _seed(settings.nkey_seed)
    if settings.tls is not None:
        options["tls"] = client_tls(settings.tls, base_dir)
        options["tls_hostname"] = settings.tls.server_name
    return options


def client_tls(tls: NatsTls, base_dir: Path) -> ssl.SSLContext:
    """A client context that verifies the server against `ca_file` and, if given, shows a client certificate."""
    ca = resolve_path(base_dir, tls.ca_file)
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))
        if tls.cert_file and tls.key_file:
            context.load_cert_chain(str(resolve_path(base_dir, tls.cert_file)),
                                    str(resolve_path(base_dir, tls.key_file)))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"nats.tls: cannot load certificates (ca_file {ca}): {exc}") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def server_auth(settings: NatsSettings) -> ServerAuth | None:
    """What the embedded server requires of clients: the same credentials the hub connects with."""
    if settings.user is not None:
        return ServerAuth(user=settings.user, password=reveal(settings.password))
    if settings.token is not None:
        return ServerAuth(token=reveal(settings.token))
    if settings.nkey_seed is not None:
        return ServerAuth(nkey=nkey_public(_seed(settings.nkey_seed)))
    return None


def server_tls(settings: NatsSettings, base_dir: Path) -> ServerTls | None:
    tls = settings.tls
    if tls is None:
        return None
    if not (tls.server_cert_file and tls.server_key_file):
        raise ConfigError("nats.tls: the embedded nats-server needs server_cert_file and server_key_file "
                         "(or set nats.url to use an external server)")
    return ServerTls(cert_file=resolve_path(base_dir, tls.server_cert_file),
                     key_file=resolve_path(base_dir, tls.server_key_file),
                     ca_file=resolve_path(base_dir, tls.ca_file), verify_clients=tls.verify_clients)


def nkey_public(seed: str) -> str:
    """The public key (U...) of an NKey user seed (SU...)."""
    import nkeys

    try:
        return nkeys.from_seed(seed.encode()).public_key.decode()
    except (nkeys.NkeysError, ValueError) as exc:
        raise ConfigError(f"nats.nkey_seed: not a valid NKey seed ({type(exc).__name__})") from None


def _seed(ref: str) -> str:
    seed = reveal(ref) or ""
    if not seed.startswith("SU"):
        raise ConfigError("nats.nkey_seed: expected a user seed starting with SU (from `nk -gen user`)")
    return seed
