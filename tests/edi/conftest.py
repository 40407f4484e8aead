"""Fixtures for the EDI tests: a real loopback SFTP server with its own host key, and partner configs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.edi_3pl.config import EdiSftpConfig
from connectors.edi_3pl.connector import EdiSftp
from hub.testing import RecordingContext
from sim.sftp import SftpServer

CORPUS = Path(__file__).parent / "corpus"
PASSWORD = "s3cret-acme"


@pytest.fixture
def sftp_server(tmp_path: Path) -> Iterator[SftpServer]:
    server = SftpServer(tmp_path / "sftp", passwords={"acme": PASSWORD}).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def make_config(sftp_server: SftpServer, monkeypatch: pytest.MonkeyPatch) -> Callable[..., EdiSftpConfig]:
    monkeypatch.setenv("EDI_TEST_PASSWORD", PASSWORD)

    def make(**overrides: Any) -> EdiSftpConfig:
        fields: dict[str, Any] = {
            "partner": "acme", "host": "127.0.0.1", "port": sftp_server.port, "username": "acme",
            "password": "env:EDI_TEST_PASSWORD", "host_key": sftp_server.known_hosts_line,
            "inbound_dir": "to_hub", "outbound_dir": "from_hub", "our_id": "RETAILHUB", "partner_id": "ACME3PL",
            "supplier_id": "SUP-ACME", "location": "3PL-WEST", "poll_interval": 0.05, "attempts": 2,
            "backoff": 0.01, "connect_timeout": 3, "operation_timeout": 5,
        }
        fields.update(overrides)
        return EdiSftpConfig(**fields)

    return make


@pytest.fixture
async def make_connector(make_config: Callable[..., EdiSftpConfig],
                         tmp_path: Path) -> AsyncIterator[Callable[..., EdiSftp]]:
    made: list[EdiSftp] = []

    def make(ctx: RecordingContext | None = None, **overrides: Any) -> EdiSftp:
        connector = EdiSftp("edi-acme", make_config(**overrides), ctx or RecordingContext("edi-acme", tmp_path))
        made.append(connector)
        return connector

    yield make
    for connector in made:
        await connector.stop()


def drop(server: SftpServer, folder: str, name: str, data: bytes) -> Path:
    """A partner dropping a file: written under a temporary name, then renamed."""
    target = server.root / folder
    target.mkdir(parents=True, exist_ok=True)
    temp = target / f".{name}.tmp"
    temp.write_bytes(data)
    temp.rename(target / name)
    return target / name
