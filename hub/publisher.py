"""Pipelined JetStream publishes: many in flight on one connection, their acks awaited together.

nats-py's `publish_async` leaves a future unresolved forever when the server answers with an API
error it turns into an exception inside its callback (a wrong-last-sequence on a KV create does),
and its futures never time out (NATS-NOTES, gotcha 5). This publisher resolves every future with
the PubAck or a `PublishError`, and `gather_acks` bounds the wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg


class PublishError(Exception):
    def __init__(self, description: str, code: int = 0, err_code: int = 0) -> None:
        super().__init__(f"{description} (code {code}, err_code {err_code})")
        self.code = code
        self.err_code = err_code


@dataclass(frozen=True, slots=True)
class PubAck:
    stream: str
    seq: int
    duplicate: bool


class AsyncPublisher:
    def __init__(self, nc: Client) -> None:
        self._nc = nc
        self._pending: dict[str, asyncio.Future] = {}
        self._ids = itertools.count()
        self._prefix = ""
        self._sub = None

    async def start(self) -> AsyncPublisher:
        self._prefix = self._nc.new_inbox() + "."
        self._sub = await self._nc.subscribe(self._prefix + "*", cb=self._on_reply,
                                             pending_msgs_limit=-1, pending_bytes_limit=-1)
        return self

    async def stop(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(PublishError("publisher stopped"))
        self._pending.clear()
        if self._sub is not None and not self._nc.is_closed:
            await self._sub.unsubscribe()
        self._sub = None

    async def publish(self, subject: str, body: bytes, headers: dict[str, str] | None = None) -> asyncio.Future:
        token = str(next(self._ids))
        future = asyncio.get_running_loop().create_future()
        self._pending[token] = future
        await self._nc.publish(subject, body, reply=self._prefix + token, headers=headers)
        return future

    async def _on_reply(self, msg: Msg) -> None:
        future = self._pending.pop(msg.subject[len(self._prefix):], None)
        if future is None or future.done():
            return
        if not msg.data:
            status = (msg.headers or {}).get("Status", "")
            future.set_exception(PublishError(f"no stream answered (status {status or 'none'})", int(status or 0)))
            return
        reply = orjson.loads(msg.data)
        error = reply.get("error")
        if error:
            future.set_exception(PublishError(error.get("description", ""), error.get("code", 0),
                                              error.get("err_code", 0)))
        else:
            future.set_result(PubAck(reply.get("stream", ""), reply.get("seq", 0), reply.get("duplicate", False)))


async def gather_acks(futures: Sequence[asyncio.Future], timeout: float = 10.0) -> list[PubAck | BaseException]:
    """Each future's PubAck or exception; those still open after `timeout` count as TimeoutError."""
    await settle(futures, timeout)
    return [outcome(f) for f in futures]


async def settle(futures: Sequence[asyncio.Future], timeout: float) -> None:
    """Wait until every future is done, for at most `timeout` seconds; those still open are cancelled.

    Awaiting them one by one costs less than `asyncio.wait`, which hangs a callback on every future:
    by the time the loop reaches most of them their PubAck is already in.
    """
    try:
        async with asyncio.timeout(timeout):
            for future in futures:
                if not future.done():
                    with contextlib.suppress(Exception):  # read back by `outcome`
                        await future
    except TimeoutError:
        for future in futures:
            future.cancel()


def outcome(future: asyncio.Future) -> PubAck | BaseException:
    """A settled future's PubAck or exception; a cancelled or open one is a TimeoutError."""
    if future.cancelled() or not future.done():
        return TimeoutError("no PubAck in time")
    return future.exception() or future.result()
