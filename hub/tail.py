"""Follow a stream from the terminal: recent messages first, then new ones as they arrive."""

from __future__ import annotations

from collections.abc import Callable

from nats.js import JetStreamContext
from nats.js import api as js_api

from hub import bus

_SUBJECTS = {bus.EVENTS: "inv", bus.OUTBOX: "out", bus.DLQ: "dlq", bus.AUDIT: "audit"}


async def tail(js: JetStreamContext, stream: str, event_type: str | None, last: int, follow: bool,
               emit: Callable[[str], None]) -> int:
    info = await js.stream_info(stream)
    start = max(info.state.first_seq, info.state.last_seq - last + 1) if last else info.state.last_seq + 1
    subject = f"{_SUBJECTS[stream]}.>"
    if event_type and stream == bus.EVENTS:
        subject = f"inv.{bus.type_token(event_type)}.>"
    config = js_api.ConsumerConfig(deliver_policy=js_api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start,
                                   ack_policy=js_api.AckPolicy.NONE, inactive_threshold=30.0, mem_storage=True)
    sub = await js.pull_subscribe(subject, stream=stream, config=config)
    shown = 0
    try:
        while True:
            try:
                msgs = await sub.fetch(100, timeout=1.0)
            except TimeoutError:
                if not follow:
                    return shown
                continue
            for msg in msgs:
                if event_type and (msg.headers or {}).get("ce-type") not in (None, event_type) and stream != bus.EVENTS:
                    continue
                emit(msg.data.decode(errors="replace"))
                shown += 1
    finally:
        await sub.unsubscribe()
