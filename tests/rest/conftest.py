"""Fixtures for the REST connector tests: the simulated commerce and WMS peers on loopback, and the
connectors under test started against them with a RecordingContext."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from connectors.pos import CommerceRest, PosRest
from connectors.wms import WmsRest
from hub.testing import RecordingContext
from sim.commerce import CommercePeer
from sim.wms import WmsPeer

TOKEN = "tok-4c1f9e2b7a"
SECRET = "whsec-91d3a0c4e8"


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REST_TEST_TOKEN", TOKEN)
    monkeypatch.setenv("REST_TEST_WEBHOOK_SECRET", SECRET)


def feed_config(type_name: str, url: str, **overrides: Any) -> dict[str, Any]:
    return {"type": type_name, "system": "shop" if type_name == "pos.rest" else "wms1", "base_url": url,
            "token": "env:REST_TEST_TOKEN", "poll_interval_seconds": 0, "page_size": 20,
            "webhook": {"secret": "env:REST_TEST_WEBHOOK_SECRET", "path": "/hooks"}, **overrides}


@pytest.fixture
async def commerce_peer() -> AsyncIterator[CommercePeer]:
    peer = CommercePeer(token=TOKEN, webhook_secret=SECRET)
    peer.seed(skus=50, stores=5)
    await peer.start()
    yield peer
    await peer.stop()


@pytest.fixture
async def wms_peer() -> AsyncIterator[WmsPeer]:
    peer = WmsPeer(token=TOKEN, webhook_secret=SECRET)
    peer.seed(skus=20, warehouses=2)
    await peer.start()
    yield peer
    await peer.stop()


@pytest.fixture
async def pos_source(commerce_peer: CommercePeer, secrets_env: None) -> AsyncIterator[PosRest]:
    source = PosRest("pos", PosRest.config_model.model_validate(feed_config("pos.rest", commerce_peer.url)),
                     RecordingContext("pos"))
    await source.start()
    commerce_peer.webhook_url = source.webhook_url
    yield source
    await source.stop()


@pytest.fixture
async def commerce_sink(commerce_peer: CommercePeer, secrets_env: None) -> AsyncIterator[CommerceRest]:
    config = CommerceRest.config_model.model_validate(
        {"type": "commerce.rest", "base_url": commerce_peer.url, "token": "env:REST_TEST_TOKEN",
         "timeout_seconds": 1.0})
    sink = CommerceRest("shop-out", config, RecordingContext("shop-out"))
    await sink.start()
    yield sink
    await sink.stop()


@pytest.fixture
async def wms_connector(wms_peer: WmsPeer, secrets_env: None) -> AsyncIterator[WmsRest]:
    config = WmsRest.config_model.model_validate(
        feed_config("wms.rest", wms_peer.url, locations={"DC-01": "DC-EAST", "DC-02": "DC-WEST"}))
    connector = WmsRest("wms", config, RecordingContext("wms"))
    await connector.start()
    wms_peer.webhook_url = connector.webhook_url
    yield connector
    await connector.stop()


def recorded(connector: Any) -> RecordingContext:
    """The RecordingContext a connector under test was given."""
    assert isinstance(connector.ctx, RecordingContext)
    return connector.ctx
