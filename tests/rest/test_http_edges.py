"""Edges a real peer cannot produce on demand (respx): malformed bodies, resets mid-body, echoed secrets."""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from canonical import new_event
from connectors.pos import CommerceRest, PosRest
from connectors.pos.http import retry_after_seconds
from connectors.pos.intake import CURSOR_KEY
from hub.errors import PermanentError, TransientError
from hub.testing import RecordingContext

from .conftest import SECRET, TOKEN, feed_config

BASE = "https://shop.invalid/api"


@pytest.fixture
async def sink(secrets_env: None) -> AsyncIterator[CommerceRest]:
    config = CommerceRest.config_model.model_validate(
        {"type": "commerce.rest", "base_url": BASE, "token": "env:REST_TEST_TOKEN"})
    connector = CommerceRest("shop-out", config, RecordingContext())
    await connector.start()
    yield connector
    await connector.stop()


@pytest.fixture
async def poller(secrets_env: None) -> AsyncIterator[PosRest]:
    config = PosRest.config_model.model_validate(feed_config("pos.rest", BASE, webhook=None))
    connector = PosRest("pos", config, RecordingContext())
    await connector.start()
    yield connector
    await connector.stop()


EVENT = new_event("availability.published", {"sku": "A", "location": "WEB-01", "available": 1},
                  source="urn:hub", subject="A@WEB-01", idempotency_key="key-1")


@respx.mock
async def test_a_4xx_answer_echoing_secrets_is_permanent_with_the_secrets_stripped(sink: CommerceRest) -> None:
    respx.put(f"{BASE}/v1/availability/A/WEB-01").respond(
        400, text=f'{{"error": "bad request", "echo": {{"authorization": "Bearer {TOKEN}", "other": "Bearer abc.def"}}}}')
    with pytest.raises(PermanentError) as caught:
        await sink.deliver(EVENT, 1)
    message = str(caught.value)
    assert "answered 400" in message and "bad request" in message
    assert TOKEN not in message and "abc.def" not in message
    assert message.count("Bearer ***") == 2


@respx.mock
async def test_every_call_carries_the_bearer_token_and_the_idempotency_key(sink: CommerceRest) -> None:
    route = respx.put(f"{BASE}/v1/availability/A/WEB-01").respond(200, json={})
    await sink.deliver(EVENT, 1)
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Idempotency-Key"] == "key-1"
    assert request.content == b'{"available":1,"channel":"web"}'


@pytest.mark.parametrize("error", [
    httpx.ReadError("[Errno 104] Connection reset by peer"),
    httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
    httpx.ConnectError("[Errno 111] Connection refused"),
    httpx.ReadTimeout("timed out"),
])
@respx.mock
async def test_broken_connections_and_timeouts_are_transient(sink: CommerceRest, error: Exception) -> None:
    respx.put(f"{BASE}/v1/availability/A/WEB-01").mock(side_effect=error)
    with pytest.raises(TransientError, match="calling shop-out PUT /v1/availability/A/WEB-01"):
        await sink.deliver(EVENT, 1)


@respx.mock
async def test_an_http_date_retry_after_is_honoured(sink: CommerceRest) -> None:
    later = email.utils.formatdate(time.time() + 20, usegmt=True)
    respx.put(f"{BASE}/v1/availability/A/WEB-01").respond(429, headers={"Retry-After": later})
    with pytest.raises(TransientError) as caught:
        await sink.deliver(EVENT, 1)
    assert 18 <= (caught.value.retry_after or 0) <= 20


@pytest.mark.parametrize(("value", "expected"), [
    ("7", 7.0), ("0.5", 0.5), ("-3", 0.0), (None, None), ("", None), ("soon", None), ("inf", None)])
def test_retry_after_values(value: str | None, expected: float | None) -> None:
    assert retry_after_seconds(value) == expected


@respx.mock
async def test_a_feed_page_of_malformed_json_fails_the_poll_and_keeps_the_cursor(poller: PosRest) -> None:
    await poller.ctx.state.put(CURSOR_KEY, "c-41")
    respx.get(f"{BASE}/v1/events").respond(200, text='{"events": [{"id": "evt_1", "type": "sa')
    with pytest.raises(PermanentError, match=r"GET /api/v1/events: answer is not JSON .* at byte \d+"):
        await poller.poll_once()
    assert await poller.ctx.state.get(CURSOR_KEY) == "c-41"


@respx.mock
async def test_a_feed_page_of_the_wrong_shape_names_the_field(poller: PosRest) -> None:
    respx.get(f"{BASE}/v1/events").respond(200, json={"events": [], "next_cursor": 42})
    with pytest.raises(PermanentError, match=r"feed page at cursor \(start\)\.next_cursor: expected a string"):
        await poller.poll_once()
    respx.get(f"{BASE}/v1/events").respond(200, json={"data": []})
    with pytest.raises(PermanentError, match=r"feed page at cursor \(start\)\.events: expected a list"):
        await poller.poll_once()


@respx.mock
async def test_a_feed_that_does_not_advance_fails_the_poll_instead_of_looping(poller: PosRest) -> None:
    respx.get(f"{BASE}/v1/events").respond(200, json={"events": [], "next_cursor": None, "has_more": True})
    with pytest.raises(PermanentError, match="says has_more but gives no new next_cursor"):
        await poller.poll_once()


@respx.mock
async def test_a_reset_in_the_middle_of_a_feed_page_is_transient_and_stores_nothing(poller: PosRest) -> None:
    respx.get(f"{BASE}/v1/events").mock(side_effect=httpx.RemoteProtocolError(
        "peer closed connection without sending complete message body (incomplete chunked read)"))
    with pytest.raises(TransientError, match="incomplete chunked read"):
        await poller.poll_once()
    assert poller.ctx.events == [] and await poller.ctx.state.get(CURSOR_KEY) is None


@respx.mock
async def test_the_webhook_secret_is_stripped_from_answers_too(secrets_env: None) -> None:
    config = PosRest.config_model.model_validate(feed_config("pos.rest", BASE, webhook={
        "secret": "env:REST_TEST_WEBHOOK_SECRET", "port": 0}))
    source = PosRest("pos", config, RecordingContext())
    await source.start()
    try:
        respx.get(f"{BASE}/v1/events").respond(403, text=f"forbidden for secret {SECRET}")
        with pytest.raises(PermanentError) as caught:
            await source.poll_once()
    finally:
        await source.stop()
    assert SECRET not in str(caught.value) and "forbidden for secret ***" in str(caught.value)
