"""NATS authentication and TLS from the hub's config, for the embedded server and an external one."""

from __future__ import annotations

import os
import stat

import nats
import nkeys
import pytest
from nats.errors import Error as NatsError

from hub import bus
from hub.config import ConfigError, parse_config
from hub.natsserver import NatsServer, ServerAuth, ServerTls, read_url
from hub.secrets import client_options, client_tls
from hub.testing import HubProcess, wait_until
from tests.core.helpers import adjustments, copy_example, read_ndjson, write_ndjson
from tests.faults.certs import make_certs
from tests.faults.helpers import child_pids, cmdline, hub_cli

pytestmark = pytest.mark.fault

SECRET = "s3cr3t-$pass{word}"  # characters a config file could misread


def _user_seed() -> str:
    return nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER).decode()


@pytest.mark.parametrize("mode", ["user", "token", "nkey"])
def test_embedded_server_admits_only_the_configured_credentials(tmp_path, mode):
    seed = _user_seed()
    (tmp_path / "seed").write_text(seed)
    section = {"user": 'user = "hub"\npassword = "env:HUB_NATS_PASSWORD"',
               "token": 'token = "env:HUB_NATS_PASSWORD"',
               "nkey": f'nkey_seed = "file:{tmp_path / "seed"}"'}[mode]
    config = copy_example("quickstart", tmp_path, append=f"\n[nats]\n{section}\n")
    env = {"HUB_NATS_PASSWORD": SECRET}
    hub = HubProcess(config, env=env).start()
    try:
        server_pid = child_pids(hub.process.pid)[0]
        url = read_url(config.parent / ".hub")
        write_ndjson(config.parent / "inbox" / "a.ndjson", adjustments(20, prefix="A"))
        wait_until(lambda: len(read_ndjson(config.parent / "outbox" / "events.ndjson")) == 20, timeout=20,
                   what="20 events through an authenticated embedded server")
        with pytest.raises((NatsError, OSError)):
            _connect_once(url)
        status = hub_cli("status", "--json", "--config", str(config), env=env)
        server_args = cmdline(server_pid)
        conf_mode = stat.S_IMODE((config.parent / ".hub" / "nats" / "nats-server.conf").stat().st_mode)
    finally:
        assert hub.stop() == 0, hub.log_tail()
    assert status.returncode == 0, status.stderr
    assert SECRET not in server_args and seed not in server_args and "nats-server.conf" in server_args
    assert conf_mode == 0o600


def test_embedded_server_with_tls_and_client_certificates(tmp_path):
    certs = make_certs(tmp_path / "certs")
    config = copy_example("quickstart", tmp_path, append=f"""
[nats]
token = "env:HUB_NATS_PASSWORD"

[nats.tls]
ca_file = "{certs.ca}"
cert_file = "{certs.client_cert}"
key_file = "{certs.client_key}"
server_cert_file = "{certs.server_cert}"
server_key_file = "{certs.server_key}"
verify_clients = true
""")
    env = {"HUB_NATS_PASSWORD": SECRET}
    hub = HubProcess(config, env=env).start()
    try:
        url = read_url(config.parent / ".hub")
        write_ndjson(config.parent / "inbox" / "a.ndjson", adjustments(20, prefix="T"))
        wait_until(lambda: len(read_ndjson(config.parent / "outbox" / "events.ndjson")) == 20, timeout=20,
                   what="20 events over TLS")
        status = hub_cli("status", "--json", "--config", str(config), env=env)
        plain = hub_cli("status", "--nats-url", url.replace("tls://", "nats://"))
    finally:
        assert hub.stop() == 0, hub.log_tail()
    assert url.startswith("tls://127.0.0.1:")
    assert status.returncode == 0, status.stderr
    assert plain.returncode != 0 and "connecting to NATS" in plain.stderr


async def test_external_server_with_auth_and_tls_refuses_what_lacks_either(tmp_path):
    certs = make_certs(tmp_path / "certs")
    server = NatsServer(store_dir=tmp_path / "nats", auth=ServerAuth(user="hub", password=SECRET),
                        tls=ServerTls(certs.server_cert, certs.server_key, certs.ca, verify_clients=True)).start()
    try:
        config = parse_config({"nats": {"url": server.url, "user": "hub", "password": "env:HUB_TEST_SECRET",
                                        "tls": {"ca_file": str(certs.ca), "cert_file": str(certs.client_cert),
                                                "key_file": str(certs.client_key)}}})
        os.environ["HUB_TEST_SECRET"] = SECRET
        try:
            good = await bus.connect(server.url, **client_options(config.nats, tmp_path))
            await good.declare()
            await good.close()
            no_cert = client_options(config.nats, tmp_path) | {
                "tls": client_tls(config.nats.tls.model_copy(update={"cert_file": None, "key_file": None}), tmp_path)}
            with pytest.raises(ConnectionError, match="connecting to NATS"):
                await bus.connect(server.url, **no_cert)
            with pytest.raises(ConnectionError, match="connecting to NATS"):
                await bus.connect(server.url, **(client_options(config.nats, tmp_path) | {"password": "wrong"}))
        finally:
            del os.environ["HUB_TEST_SECRET"]
    finally:
        server.stop()


@pytest.mark.parametrize("nats_section, expected", [
    ({"user": "hub"}, "user and password go together"),
    ({"user": "hub", "password": "env:X", "token": "env:Y"}, "one way to authenticate"),
    ({"tls": {"ca_file": "ca.pem", "cert_file": "c.pem"}}, "cert_file and key_file go together"),
    ({"tls": {"cert_file": "c.pem"}}, "nats.tls.ca_file"),
])
def test_inconsistent_nats_security_is_a_config_error_naming_the_key(nats_section, expected):
    with pytest.raises(ConfigError, match=expected) as caught:
        parse_config({"nats": nats_section})
    assert "nats" in str(caught.value)


async def _connect_once_async(url: str) -> None:
    nc = await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2)
    await nc.close()


def _connect_once(url: str) -> None:
    import asyncio

    asyncio.run(_connect_once_async(url))
