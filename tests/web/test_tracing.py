"""Trace context: a valid traceparent from the source is kept, a missing or broken one replaced."""

from __future__ import annotations

import pytest

from canonical.examples import example_event
from hub.tracing import ensure_trace, is_valid, new_traceparent, trace_id

GIVEN = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_a_new_traceparent_is_valid_and_unique():
    first, second = new_traceparent(), new_traceparent()
    assert is_valid(first) and is_valid(second) and first != second
    assert first.startswith("00-") and first.endswith("-01")


@pytest.mark.parametrize("value", [
    None, "", "garbage", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
])
def test_invalid_traceparents_are_refused(value):
    assert not is_valid(value)
    assert trace_id(value) is None


def test_a_source_trace_is_kept():
    event = example_event("stock.adjusted").model_copy(update={"trace": GIVEN})
    assert ensure_trace(event) is event
    assert trace_id(GIVEN) == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert event.nats_headers()["traceparent"] == GIVEN


@pytest.mark.parametrize("given", [None, "00-zz-yy-01"])
def test_a_missing_or_broken_trace_is_replaced_and_travels_as_a_header(given):
    event = example_event("stock.adjusted").model_copy(update={"trace": given})
    traced = ensure_trace(event)
    assert is_valid(traced.trace)
    assert traced.id == event.id and traced.idempotency_key == event.idempotency_key
    assert traced.nats_headers()["traceparent"] == traced.trace


async def test_a_sinks_rest_client_passes_the_delivered_events_trace_on():
    from aiohttp import web

    from connectors.pos.http import RestClient, RestPeerConfig
    from hub.testing import start_loopback_app
    from hub.tracing import traced

    seen: list[str | None] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(request.headers.get("traceparent"))
        return web.json_response({})

    app = web.Application()
    app.router.add_put("/v1/availability", record)
    runner, base = await start_loopback_app(app)
    client = RestClient(RestPeerConfig(type="commerce.rest", base_url=base), peer="shop")
    event = example_event("availability.published").model_copy(update={"trace": GIVEN})
    try:
        with traced(event):
            await client.call("PUT", "/v1/availability", json={})
        await client.call("PUT", "/v1/availability", json={})  # not delivering an event: no trace
        with traced(event.model_copy(update={"trace": "broken"})):
            await client.call("PUT", "/v1/availability", json={})
    finally:
        await client.aclose()
        await runner.cleanup()
    assert seen == [GIVEN, None, None]
