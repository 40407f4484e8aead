"""The hub's NATS client parses and encodes headers exactly as nats-py does, only faster.

Every case compares `HubClient` with the library's own `Client` on the same input: real header
blocks as nats-server sends them (status lines, heartbeats, flow control, CloudEvents headers) and
the odd shapes a peer could send, plus a seeded random mix of both. The fast path must actually be
taken for the hub's plain blocks, or the client would be correct but no faster.
"""

from __future__ import annotations

import random

import nats
import pytest
from nats.aio.client import Client
from nats.errors import BadHeaderError, BadSubjectError, ConnectionClosedError, MaxPayloadError
from nats.js.api import ConsumerConfig, Header

from hub import natsclient
from hub.natsclient import HubClient, encode_headers, parse_plain_headers
from hub.pull import ack_all

CLOUDEVENTS = {
    "ce-specversion": "1.0", "ce-id": "B-17", "ce-type": "stock.adjusted", "ce-source": "urn:bench:pos",
    "ce-time": "2026-11-02T08:00:00+00:00", "ce-subject": "SKU-00017@STORE-001", "ce-schemaversion": "2",
    "ce-idempotencykey": "B-key-17", "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "Nats-Msg-Id": "B-17:null", "hub-route": "everything-to-null", "hub-connector": "bench",
    "hub-ingress-ts": "1764246722.123456",
}


def _block(headers: dict[str, str]) -> bytes:
    return b"NATS/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode() + b"\r\n"


PLAIN_BLOCKS = [
    _block(CLOUDEVENTS),
    _block({"Nats-Expected-Last-Subject-Sequence": "0"}),
    _block({"hub-event-id": "e-1"}),
    _block({"url": "http://erp:8080/soap", "ce-time": "2026-11-02T08:00:00+00:00", "note": "a: b: c"}),
    _block({"ce-source": "urn:pos store 12", "empty": "", "last": "x"}),
    _block({"ce-subject": "SKU-é@STORE-ü", "reason": "Überlauf"}),
    _block({f"x-{i}": str(i) for i in range(60)}),
    b"NATS/1.0\r\nk: v\r\nk: w\r\n\r\n",
]

OTHER_BLOCKS = [
    b"NATS/1.0 404\r\n\r\n",
    b"NATS/1.0 503\r\n\r\n",
    b"NATS/1.0 404 No Messages\r\n\r\n",
    b"NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 5\r\nNats-Pending-Bytes: 1024\r\n\r\n",
    b"NATS/1.0 409 Consumer Deleted\r\n\r\n",
    b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 1016\r\nNats-Last-Stream: 1024\r\n\r\n",
    b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 3\r\nNats-Consumer-Stalled: $JS.FC.T.c.1\r\n\r\n",
    b"NATS/1.0 100 FlowControl Request\r\n\r\n",
    b"NATS/1.0 100\r\n\r\n",
    b"NATS/1.0\r\n\r\n",
    b"NATS/1.0\r\n",
    b"NATS/1.0\r\nfoo: bar",
    b"NATS/1.0\r\nKey:value\r\n\r\n",
    b"NATS/1.0\r\nKey:\r\n\r\n",
    b"NATS/1.0\r\nKey:  two spaces\r\n\r\n",
    b"NATS/1.0\r\nKey: trailing \r\n\r\n",
    b"NATS/1.0\r\nKey:\ttab\r\n\r\n",
    b"NATS/1.0\r\nKey: tab at end\t\r\n\r\n",
    b"NATS/1.0\r\n Key: leading space in name\r\n\r\n",
    b"NATS/1.0\r\nBad Key: space in name\r\n\r\n",
    b"NATS/1.0\r\na:b: colon in name\r\n\r\n",
    b"NATS/1.0\r\nno colon here\r\nk: v\r\n\r\n",
    b"NATS/1.0\r\nk: v\r\n\r\nafter: blank line\r\n\r\n",
    b"NATS/1.0\r\nk: bad \xff utf-8\r\n\r\n",
    b"NATS/1.0\r\nk\xc3\xa9y: non-ascii name\r\n\r\n",
    b"NATS/1.0\r\nk: nbsp at end\xc2\xa0\r\n\r\n",
    b"NATS/1.0\r\nk: separator at end\x1c\r\n\r\n",
    b"NATS/1.0\r\nk: lone \n line feed\r\n\r\n",
    b"NATS/1.0\r\nk: lone carriage return\r\r\n\r\n",
    b"NATS/1.1\r\nk: v\r\n\r\n",
    b"",
    None,
]


async def _both(block: bytes | None) -> tuple[object, object]:
    """Each client's parsed headers, or the type of what it raised (the library fails on some blocks)."""
    return await _parsed(HubClient(), block), await _parsed(Client(), block)


async def _parsed(client: Client, block: bytes | None) -> object:
    try:
        return await client._process_headers(block)
    except Exception as exc:  # noqa: BLE001 - compared with what the other client raised
        return type(exc)


@pytest.mark.parametrize("block", PLAIN_BLOCKS + OTHER_BLOCKS)
async def test_parsed_headers_equal_the_librarys(block):
    ours, library = await _both(block)
    assert ours == library
    assert type(ours) is type(library)


@pytest.mark.parametrize("block", PLAIN_BLOCKS)
async def test_plain_blocks_take_the_fast_path(block):
    assert parse_plain_headers(block) == await Client()._process_headers(block)


@pytest.mark.parametrize("block", [b for b in OTHER_BLOCKS if b and b.startswith(b"NATS/1.0 ")])
def test_status_blocks_are_left_to_the_library(block):
    assert parse_plain_headers(block) is None


async def test_random_blocks_parse_as_the_library_parses_them():
    keys = ["k", "Key", "ce-id", "ce-id", "hub-route", "a b", "a:b", " k", "\u00e9", ""]
    separators = [": ", ": ", ": ", ":", ":  ", ": \t", " : "]
    values = ["v", "v", "a: b", "", "http://h:1/p", " v", "v ", "\u00e9", "x\xa0", "x\x1c", "lf\nin", "cr\r"]
    rng = random.Random(20261127)
    fast = 0
    for _ in range(3000):
        lines = [_random_line(rng, keys, separators, values) for _ in range(rng.randint(0, 6))]
        start = rng.choice(["NATS/1.0", "NATS/1.0", "NATS/1.0 100 Idle Heartbeat", "NATS/1.0 408 Request Timeout"])
        block = "\r\n".join([start, *lines]) + rng.choice(["\r\n\r\n", "\r\n\r\n", "\r\n", ""])
        ours, library = await _both(block.encode())
        assert ours == library, block
        fast += parse_plain_headers(block.encode()) is not None
    assert fast > 100, "the random mix hardly reached the fast path"


def _random_line(rng: random.Random, keys: list[str], separators: list[str], values: list[str]) -> str:
    """Mostly a plain line (the first five of each list are plain), sometimes anything."""
    if rng.random() < 0.85:
        return rng.choice(keys[:5]) + ": " + rng.choice(values[:5])
    return rng.choice(keys) + rng.choice(separators) + rng.choice(values)


def _frames(client: Client) -> list[bytes]:
    return list(client._pending)


ENCODED = [
    CLOUDEVENTS,
    CLOUDEVENTS | {"ce-id": "B-18", "Nats-Msg-Id": "B-18:null"},
    {},
    {"Nats-Expected-Last-Subject-Sequence": "0"},
    {"k": " padded value\t", "e": ""},
    {"k": "line\r\nInjected: header", "n": "lone\nfeed", "r": "lone\rreturn"},
    {"k": "{0} {} {k} braces"},
    {"ce-subject": "SKU-é@STORE-ü"},
    {" k ": "key with spaces around", "": "empty key", "  ": "blank key"},
    {" padded-key ": "v", "k": "w"},
]


@pytest.mark.parametrize("headers", ENCODED)
@pytest.mark.parametrize("reply", ["", "_INBOX.abc.7"])
async def test_encoded_frames_equal_the_librarys(headers, reply):
    ours, library = HubClient(), Client()
    for client in (ours, library):
        await client._send_publish("out.null.stock_adjusted", reply, b'{"a":1}', 7, headers)
    assert _frames(ours) == _frames(library)
    assert ours.stats == library.stats
    assert ours.pending_data_size == library.pending_data_size


async def test_enum_keys_encode_as_their_value_whichever_came_first(monkeypatch):
    """nats-py's KV sends `api.Header` members as keys; they equal their str value but format as their name."""
    monkeypatch.setattr(natsclient, "_templates", {})  # start cold: which key type comes first matters
    sequence = [{Header.EXPECTED_LAST_SUBJECT_SEQUENCE: "0"}, {"Nats-Expected-Last-Subject-Sequence": "0"},
                {"Nats-Msg-Id": "a", Header.MSG_ID: "b"}, {Header.MSG_ID: "c"}]
    for headers in sequence + sequence[::-1]:
        ours, library = HubClient(), Client()
        for client in (ours, library):
            await client._send_publish("s", "", b"", 0, headers)
        assert _frames(ours) == _frames(library)


def test_the_hubs_own_headers_take_the_fast_path():
    assert encode_headers(CLOUDEVENTS) == _block(CLOUDEVENTS)
    assert encode_headers({"k": "line\r\nInjected: header"}) is None


@pytest.mark.parametrize("headers", [{"a b": "v"}, {"k\r\nX": "v"}, {"ké": "v"}])
async def test_bad_header_keys_are_refused_as_by_the_library(headers):
    for client in (HubClient(), Client()):
        with pytest.raises(BadHeaderError):
            await client._send_publish("s", "", b"", 0, headers)


async def test_a_real_server_delivers_what_the_hub_client_sends(nats_url):
    clients = [await nats.connect(nats_url), HubClient(), HubClient()]
    for client in clients[1:]:
        await client.connect(nats_url)
    plain, hub_sender, hub_receiver = clients
    subs = [await receiver.subscribe("t.>") for receiver in (plain, hub_receiver)]
    for client in clients:
        await client.flush()
    try:
        for sender in (plain, hub_sender):
            await sender.publish("t.x", b"body", headers=CLOUDEVENTS | {"odd": " padded "})
            await sender.flush()
        received = [await sub.next_msg(timeout=2) for sub in subs for _ in range(2)]
        assert [msg.headers for msg in received] == [CLOUDEVENTS | {"odd": "padded"}] * 4
        assert [msg.data for msg in received] == [b"body"] * 4
        with pytest.raises(MaxPayloadError):
            await hub_sender.publish("t.x", b"x" * (hub_sender.max_payload + 1), headers=CLOUDEVENTS)
    finally:
        for client in clients:
            await client.close()
    with pytest.raises(ConnectionClosedError):
        await hub_sender.publish("t.x", b"late", headers=CLOUDEVENTS)


async def test_status_replies_of_a_real_server_parse_as_the_librarys(nats_url):
    """A pull request on an empty stream is answered by a status line (404), as the pull reader sees it."""
    plain, hub_client = await nats.connect(nats_url), HubClient()
    await hub_client.connect(nats_url)
    try:
        js = plain.jetstream()
        await js.add_stream(name="T", subjects=["t.>"])
        await js.add_consumer("T", durable_name="c")
        replies = [await client.request("$JS.API.CONSUMER.MSG.NEXT.T.c", b'{"batch":1,"no_wait":true}', timeout=2)
                   for client in (plain, hub_client)]
    finally:
        await plain.close()
        await hub_client.close()
    assert replies[0].headers == replies[1].headers
    assert replies[1].headers["Status"] == "404"


async def test_empty_messages_in_one_frame_are_the_librarys_publishes():
    ours, library = HubClient(), Client()
    ours._status = library._status = Client.CONNECTED  # queued, not sent: neither client has a socket here
    subjects = ["$JS.ACK.S.c.1.7.7.1764200000000000000.0", "$JS.ACK.S.c.1.8.8.1764200000000000000.0"]
    await ours.publish_empty(subjects)
    for subject in subjects:
        await library.publish(subject, b"")
    assert b"".join(_frames(ours)) == b"".join(_frames(library)).replace(b"  0", b" 0")
    assert ours.stats["out_msgs"] == library.stats["out_msgs"] == 2


async def test_acks_sent_in_one_frame_settle_a_real_consumer(nats_url):
    """Ten messages acked by `ack_all` through the hub client: the consumer has nothing pending or redelivered."""
    client = HubClient()
    await client.connect(nats_url)
    try:
        js = client.jetstream()
        await js.add_stream(name="ACKS", subjects=["acks.>"])
        for n in range(10):
            await js.publish(f"acks.{n}", b"x")
        sub = await js.pull_subscribe("acks.>", durable="c", config=ConsumerConfig(ack_wait=1.0))
        msgs = await sub.fetch(10, timeout=2)
        await ack_all(client, msgs)
        await client.flush()
        info = await js.consumer_info("ACKS", "c")
        assert (info.num_ack_pending, info.ack_floor.stream_seq, info.num_redelivered) == (0, 10, 0)
    finally:
        await client.close()
    with pytest.raises(ConnectionClosedError):
        await client.publish_empty(["acks.late"])


@pytest.mark.parametrize("subject", ["", "$JS.ACK.S c", "$JS.ACK.S\r\nPUB x 0"])
async def test_empty_messages_to_a_bad_subject_are_refused_before_anything_is_queued(subject):
    client = HubClient()
    client._status = Client.CONNECTED
    with pytest.raises(BadSubjectError):
        await client.publish_empty(["$JS.ACK.S.c.1.7.7.1764200000000000000.0", subject])
    assert not _frames(client) and client.stats["out_msgs"] == 0
