"""`file.outbox` keeps one line per idempotency key, also when several workers append to one file."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import orjson

from canonical.examples import example_event
from connectors.generic.file_outbox import FileOutbox, FileOutboxConfig
from hub.testing import RecordingContext

# Run by each of two processes: deliver the same keys, in its own order, in small batches.
_WORKER = """
import asyncio, random, sys
from pathlib import Path
from tests.core.test_file_outbox import outbox, events
async def main(folder, seed, count):
    sink = await outbox(Path(folder))
    batch = events(count)
    random.Random(seed).shuffle(batch)
    for start in range(0, count, 7):
        await sink.deliver_batch(batch[start:start + 7], [1] * len(batch[start:start + 7]))
asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


async def outbox(folder: Path) -> FileOutbox:
    sink = FileOutbox("archive", FileOutboxConfig(type="file.outbox", path=str(folder)), RecordingContext(base_dir=folder))
    await sink.start()
    return sink


def events(count: int, prefix: str = "K") -> list:
    return [example_event("stock.adjusted").model_copy(update={"id": f"{prefix}-{i}", "idempotency_key": f"{prefix}-{i}"})
            for i in range(count)]


def keys_in(folder: Path) -> list[str]:
    return [orjson.loads(line)["idempotency_key"] for line in (folder / "events.ndjson").read_bytes().splitlines()]


def test_two_workers_sharing_the_file_write_each_key_once(tmp_path: Path) -> None:
    async def run() -> None:
        first, second = await outbox(tmp_path), await outbox(tmp_path)
        batch = events(30)
        await first.deliver_batch(batch[:20], [1] * 20)
        # The second worker started before those lines existed; it must learn them before it writes.
        await second.deliver_batch(batch[10:], [2] * 20)
        await first.deliver_batch(batch[25:], [3] * 5)
    asyncio.run(run())
    assert keys_in(tmp_path) == [f"K-{i}" for i in range(30)]


def test_two_processes_appending_at_once_write_each_key_once(tmp_path: Path) -> None:
    count = 1500
    root = Path(__file__).resolve().parents[2]
    workers = [subprocess.Popen([sys.executable, "-c", _WORKER, str(tmp_path), str(seed), str(count)], cwd=root)
               for seed in (1, 2)]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]
    written = keys_in(tmp_path)
    assert len(written) == count
    assert set(written) == {f"K-{i}" for i in range(count)}


def test_a_line_torn_by_a_crash_is_ended_and_its_event_written_again(tmp_path: Path) -> None:
    good, torn = events(2)
    (tmp_path / "events.ndjson").write_bytes(good.model_dump_json().encode() + b"\n" + torn.model_dump_json().encode()[:40])

    async def run() -> None:
        sink = await outbox(tmp_path)
        await sink.deliver_batch([good, torn], [2, 2])
    asyncio.run(run())
    lines = (tmp_path / "events.ndjson").read_bytes().splitlines()
    assert len(lines) == 3 and lines[1] == torn.model_dump_json().encode()[:40]
    assert orjson.loads(lines[2])["idempotency_key"] == torn.idempotency_key
    assert keys_in_readable(tmp_path) == [good.idempotency_key, torn.idempotency_key]


def test_a_restarted_worker_remembers_what_the_file_holds(tmp_path: Path) -> None:
    async def run() -> None:
        await (await outbox(tmp_path)).deliver_batch(events(5), [1] * 5)
        await (await outbox(tmp_path)).deliver_batch(events(8), [2] * 8)
    asyncio.run(run())
    assert keys_in(tmp_path) == [f"K-{i}" for i in range(8)]


def keys_in_readable(folder: Path) -> list[str]:
    out = []
    for line in (folder / "events.ndjson").read_bytes().splitlines():
        try:
            out.append(orjson.loads(line)["idempotency_key"])
        except orjson.JSONDecodeError:
            continue
    return out
