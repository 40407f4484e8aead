"""Fixtures for the ERP connector tests: the reference ERP on loopback and connectors bound to it."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.erp import ErpSoap, ErpSoapConfig
from hub.testing import RecordingContext
from sim.erp import ReferenceErp, seed

SIM = Path(__file__).resolve().parents[2] / "sim" / "erp"
CONFIG_FILES = {"sap": SIM / "erp_sap.toml", "netsuite": SIM / "erp_netsuite.toml"}
PASSWORD = "erp-secret"

MakeConnector = Callable[..., Awaitable[ErpSoap]]


def load_config(kind: str, **overrides: Any) -> dict[str, Any]:
    raw = tomllib.loads(CONFIG_FILES[kind].read_text())
    raw.update(overrides)
    return raw


@pytest.fixture
def erp() -> Iterator[ReferenceErp]:
    server = ReferenceErp(password=PASSWORD)
    seed(server.state, skus=4, stores=2, dcs=1)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def make_connector(erp: ReferenceErp, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[MakeConnector]:
    """Start an erp.soap instance from the example config of `kind`, aimed at the reference ERP."""
    monkeypatch.setenv("ERP_PASSWORD", PASSWORD)
    started: list[ErpSoap] = []

    async def make(kind: str, name: str | None = None, **overrides: Any) -> ErpSoap:
        raw = load_config(kind, **{"endpoint": erp.endpoint(kind), "poll": False, **overrides})
        raw.setdefault("retry", {"in_process_attempts": 3, "in_process_wait": 0.01})
        config = ErpSoapConfig.model_validate(raw)
        connector = ErpSoap(name or kind, config, RecordingContext(name=name or kind, base_dir=SIM))
        await connector.start()
        started.append(connector)
        return connector

    yield make
    for connector in started:
        await connector.stop()


def recorded(connector: ErpSoap) -> RecordingContext:
    assert isinstance(connector.ctx, RecordingContext)
    return connector.ctx
