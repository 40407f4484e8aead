"""A `hub_schemas` bucket on a real nats-server, as `hub up` declares it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest
from nats.js import api
from nats.js.kv import KeyValue

from hub.schemas.keys import BUCKET


async def open_bucket(url: str) -> tuple[nats.NATS, KeyValue]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    try:
        kv = await js.key_value(BUCKET)
    except nats.js.errors.BucketNotFoundError:
        kv = await js.create_key_value(api.KeyValueConfig(bucket=BUCKET, history=5,
                                                          storage=api.StorageType.FILE))
    return nc, kv


@pytest.fixture
async def kv(nats_url: str) -> AsyncIterator[KeyValue]:
    nc, bucket = await open_bucket(nats_url)
    try:
        yield bucket
    finally:
        await nc.close()
