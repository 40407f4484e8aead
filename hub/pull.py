"""A lean JetStream pull consumer reader: credit-based pull requests into one persistent inbox.

nats-py's `fetch()` costs a task, a uuid and a `wait_for` per message and can drop a half-collected
batch on a bare timeout (NATS-NOTES, gotcha 1). Here every message the server delivers lands in
one subscription that lives as long as the reader, so nothing delivered is ever dropped: a message
that arrives after a `next_batch` returned is simply in the next batch. Requests are topped up
while the previous one is still open, so a lightly loaded stream is delivered as it arrives.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg

_STATUS_HDR = "Status"


class PullReader:
    def __init__(self, nc: Client, stream: str, consumer: str, *, batch: int = 256, expires: float = 2.0) -> None:
        self._nc = nc
        self._api = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._batch = batch
        self._expires = expires
        self._buffer: deque[Msg] = deque()
        self._arrived = asyncio.Event()
        self._open: dict[str, list[float]] = {}  # request inbox -> [credits left, deadline], oldest first
        self._ids = itertools.count()
        self._prefix = ""
        self._sub = None
        self._draining = False

    async def start(self) -> None:
        self._prefix = self._nc.new_inbox()
        self._sub = await self._nc.subscribe(self._prefix + ".*", cb=self._on_msg,
                                             pending_msgs_limit=-1, pending_bytes_limit=-1)

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None

    def drain(self) -> None:
        """Ask for nothing more; what open requests still bring is handed out until `finished`."""
        self._draining = True

    @property
    def finished(self) -> bool:
        return self._draining and not self._buffer and not self._open

    def take_all(self) -> list[Msg]:
        """Whatever is buffered, for a caller that gives up waiting (it should nak them)."""
        out = list(self._buffer)
        self._buffer.clear()
        return out

    async def next_batch(self, max_msgs: int, wait: float) -> list[Msg]:
        """Up to `max_msgs` delivered messages, waiting at most `wait` seconds for the first."""
        if not self._buffer:
            await self._top_up()
            self._arrived.clear()
            if not self._buffer:
                try:
                    await asyncio.wait_for(self._arrived.wait(), wait)
                except TimeoutError:
                    return []
        out = []
        buffer = self._buffer
        while buffer and len(out) < max_msgs:
            out.append(buffer.popleft())
        if len(self._buffer) < self._batch // 2:
            await self._top_up()
        return out

    async def _top_up(self) -> None:
        now = time.monotonic()
        if self._draining:
            self._open = {i: state for i, state in self._open.items() if state[1] >= now}
            return
        for inbox in [i for i, (_, deadline) in self._open.items() if deadline < now]:
            del self._open[inbox]  # its end-of-request status was lost (reconnect); stop waiting for it
        credits = sum(c for c, _ in self._open.values())
        if credits >= self._batch // 2:
            return
        want = self._batch - int(credits)
        inbox = f"{self._prefix}.{next(self._ids)}"
        self._open[inbox] = [want, now + self._expires + 1.0]
        request = orjson.dumps({"batch": want, "expires": int(self._expires * 1e9)})
        await self._nc.publish(self._api, request, reply=inbox)

    async def _on_msg(self, msg: Msg) -> None:
        headers = msg.headers
        if headers and _STATUS_HDR in headers and not msg.data:
            # 408 request expired, 404 no messages, 409 consumer changes: that request is over.
            # 100 is an idle heartbeat.
            if headers[_STATUS_HDR] != "100":
                self._open.pop(msg.subject, None)
            return
        # Messages arrive on their stream subject, not the request's inbox; the server serves
        # waiting requests in order, so the credit comes off the oldest open request.
        if self._open:
            oldest = next(iter(self._open))
            state = self._open[oldest]
            state[0] -= 1
            if state[0] <= 0:
                del self._open[oldest]
        self._buffer.append(msg)
        self._arrived.set()


async def drained(reader: PullReader, nc: Client, handle, stop_by: float) -> None:
    """Hand the rest of what was delivered to `handle`; past `stop_by` nak it so it comes back at once."""
    reader.drain()
    while not reader.finished and time.monotonic() < stop_by:
        msgs = await reader.next_batch(1 << 30, wait=0.2)
        if msgs:
            await handle(msgs)
    for msg in reader.take_all():
        await nak(nc, msg, 0.0)


ACK = b""
TERM = b"+TERM"


async def ack(nc: Client, msg: Msg) -> None:
    await nc.publish(msg.reply, ACK)


async def ack_all(nc: Client, msgs: list[Msg]) -> None:
    """Ack each of `msgs` (each on its own: not AckPolicy.ALL), in one frame when the client can."""
    publish_empty = getattr(nc, "publish_empty", None)
    if publish_empty is None:
        for msg in msgs:
            await ack(nc, msg)
        return
    await publish_empty([msg.reply for msg in msgs])


async def nak(nc: Client, msg: Msg, delay: float) -> None:
    # A plain NAK ignores the consumer's backoff (NATS-NOTES, gotcha 3): always give the delay.
    await nc.publish(msg.reply, b"-NAK " + orjson.dumps({"delay": int(delay * 1e9)}))


async def in_progress(nc: Client, msg: Msg) -> None:
    await nc.publish(msg.reply, b"+WPI")


def deliveries(msg: Msg) -> int:
    """How many times the server has delivered this message (1 on the first delivery)."""
    tokens = msg.reply.split(".")
    # $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending> (v1), or with domain and hash (v2)
    return int(tokens[4] if len(tokens) == 9 else tokens[6])


def stream_seq(msg: Msg) -> int:
    tokens = msg.reply.split(".")
    return int(tokens[5] if len(tokens) == 9 else tokens[7])
