"""Reading the latest messages of a stream without a durable consumer (for the status page's panels)."""

from __future__ import annotations

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js import api as js_api


async def read_recent(js: JetStreamContext, stream: str, subject: str, *, after_seq: int = 0,
                      limit: int = 500) -> list[Msg]:
    """Messages on `subject` stored after `after_seq`, at most the last `limit` of the stream, oldest first."""
    state = (await js.stream_info(stream)).state
    if state.messages == 0 or state.last_seq <= after_seq:
        return []
    start = max(after_seq + 1, state.first_seq, state.last_seq - limit + 1)
    sub = await js.pull_subscribe(subject, stream=stream, config=js_api.ConsumerConfig(
        deliver_policy=js_api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start,
        ack_policy=js_api.AckPolicy.NONE, inactive_threshold=30.0, mem_storage=True))
    out: list[Msg] = []
    try:
        pending = (await sub.consumer_info()).num_pending
        while pending > 0:
            try:
                msgs = await sub.fetch(min(pending, 500), timeout=1.0)
            except TimeoutError:
                break
            out += msgs
            pending = msgs[-1].metadata.num_pending if msgs else 0
    finally:
        await sub.unsubscribe()
    return out
