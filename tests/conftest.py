"""Shared fixtures: a real nats-server with JetStream on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.natsserver import NatsServer


@pytest.fixture
def nats_server(tmp_path) -> Iterator[NatsServer]:
    server = NatsServer(store_dir=tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def nats_url(nats_server: NatsServer) -> str:
    return nats_server.url
