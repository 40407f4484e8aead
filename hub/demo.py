"""`make demo`: the quickstart retailer feed, end to end on an embedded nats-server.

Starts `hub up` on examples/quickstart, drops a day of store sales and receipts into its inbox,
and shows them arriving in the outbox, then leaves the hub running until Ctrl-C.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from canonical import new_event
from hub.testing import HubProcess

ROOT = Path(__file__).resolve().parents[1]


def _store_day(seed: int = 7, count: int = 2000) -> list[str]:
    rng = random.Random(seed)
    start = datetime(2026, 11, 23, 8, tzinfo=UTC)
    lines = []
    for i in range(count):
        sku, store = f"SKU-{rng.randrange(500):04d}", f"STORE-{rng.randrange(20):03d}"
        reason = rng.choices(["sale", "return", "receipt"], weights=[85, 5, 10])[0]
        delta = {"sale": -1, "return": 1, "receipt": rng.choice([12, 24, 48])}[reason]
        event = new_event("stock.adjusted", {"sku": sku, "location": store, "delta": delta, "reason": reason},
                          source=f"urn:pos:{store}", subject=f"{sku}@{store}", idempotency_key=f"demo-{seed}-{i}",
                          time=start + timedelta(seconds=20 * i))
        lines.append(event.model_dump_json())
    return lines


def main() -> int:
    workdir = ROOT / ".hub" / "demo"
    shutil.rmtree(workdir, ignore_errors=True)
    shutil.copytree(ROOT / "examples" / "quickstart", workdir, ignore=shutil.ignore_patterns(".hub", "inbox", "outbox"))
    config = workdir / "hub.toml"
    print(f"starting the hub on {config} (embedded nats-server)...", flush=True)
    hub = HubProcess(config).start()
    outbox = workdir / "outbox" / "events.ndjson"
    try:
        lines = _store_day()
        tmp = workdir / "inbox" / "store-day.tmp"
        tmp.write_text("\n".join(lines) + "\n")
        tmp.rename(workdir / "inbox" / "store-day.ndjson")
        print(f"dropped {len(lines)} store events into {workdir / 'inbox'}", flush=True)
        started = time.monotonic()
        delivered = 0
        while delivered < len(lines) and time.monotonic() - started < 120:
            time.sleep(0.5)
            delivered = sum(1 for _ in outbox.open()) if outbox.exists() else 0
            print(f"\r  delivered to {outbox.relative_to(ROOT)}: {delivered}/{len(lines)}", end="", flush=True)
        elapsed = time.monotonic() - started
        print(f"\n{delivered} events from inbox to outbox in {elapsed:.1f}s")
        sample = json.loads(outbox.open().readline())
        print(f"first delivered: {sample['type']} {sample['subject']} delta={sample['data']['delta']}")
        print(f"explore: .venv/bin/hub status --config {config.relative_to(ROOT)}  (Ctrl-C here stops the hub)")
        signal.sigwait({signal.SIGINT, signal.SIGTERM}) if sys.stdin.isatty() else None
    except KeyboardInterrupt:
        pass
    finally:
        hub.stop()
    return 0 if delivered == len(lines) else 1


if __name__ == "__main__":
    sys.exit(main())
