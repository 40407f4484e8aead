"""Two hub workers on a three-node NATS cluster (R3 streams): a node and a worker killed mid-stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from hub.natsserver import ClusterRoutes, NatsServer, free_port
from hub.testing import HubProcess, wait_until
from tests.core.helpers import adjustments, write_ndjson
from tests.faults.helpers import RecordingTarget, dead_letters, write_config

pytestmark = [pytest.mark.fault, pytest.mark.slow]


def start_cluster(folder: Path, size: int = 3) -> list[NatsServer]:
    route_ports = [free_port() for _ in range(size)]
    nodes = []
    for i, port in enumerate(route_ports):
        routes = tuple(f"nats://127.0.0.1:{p}" for p in route_ports if p != port)
        nodes.append(NatsServer(store_dir=folder / f"n{i}", server_name=f"n{i}",
                                cluster=ClusterRoutes("hub-test", port, routes)).start())
    asyncio.run(_wait_for_jetstream(",".join(n.url for n in nodes)))
    return nodes


async def _wait_for_jetstream(urls: str, timeout: float = 30.0) -> None:
    nc = await nats.connect(urls.split(","))
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                await nc.jetstream().account_info()
                return
            except Exception:  # noqa: BLE001 - no JetStream meta leader elected yet
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
    finally:
        await nc.close()


async def _leader(url: str, stream: str) -> str:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().stream_info(stream)
        return info.cluster.leader
    finally:
        await nc.close()


@pytest.fixture
def cluster(tmp_path) -> Iterator[list[NatsServer]]:
    nodes = start_cluster(tmp_path / "cluster")
    try:
        yield nodes
    finally:
        for node in nodes:
            node.stop()


def test_node_and_worker_killed_mid_stream_lose_nothing(tmp_path, cluster):
    count = 10_000
    urls = ",".join(node.url for node in cluster)
    port = free_port()
    config = write_config(tmp_path / "hub", web_url=f"http://127.0.0.1:{port}/events", outbox=False,
                          extra=f'\n[nats]\nurl = "{urls}"\nreplicas = 3\n')
    events = adjustments(count, items=500, prefix="C")
    with RecordingTarget(port) as target:
        workers = [HubProcess(config, data_dir=tmp_path / f"w{i}").start() for i in range(2)]
        try:
            started = time.monotonic()
            for part in range(0, count, 1000):
                write_ndjson(config.parent / "inbox" / f"part-{part:05d}.ndjson", events[part:part + 1000])
            wait_until(lambda: len(target.applied) >= count // 5, timeout=120, what="a fifth of the deliveries")
            leader = asyncio.run(_leader(cluster[0].url, "OUTBOX"))
            victim = next(node for node in cluster if node.server_name == leader)
            victim.kill()
            workers[0].kill()
            at_kill = len(target.applied)
            wait_until(lambda: len(target.applied) == count, timeout=240, interval=0.5,
                       what=f"all {count} events after the kills")
            elapsed = time.monotonic() - started
            survivor = next(node for node in cluster if node is not victim)
            letters = dead_letters(survivor.url)
        finally:
            for worker in workers:
                worker.stop()
    print(f"\ncluster: killed OUTBOX leader {leader} and one of two workers at {at_kill}/{count} delivered; "
          f"all delivered in {elapsed:.1f}s; {sum(target.posts.values())} POSTs, "
          f"{target.duplicates} duplicates absorbed by the target's idempotency key")
    assert at_kill < count, "the kills came too late to be mid-stream"
    assert set(target.applied) == {e["idempotency_key"] for e in events}
    assert letters == []
