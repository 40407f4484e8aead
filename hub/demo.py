"""`make demo`: a retailer's week on the simulated retailer, each step checked against the peers' own state.

    python -m hub.demo [--quick] [--no-wait]

Starts the retailer's peers (sim/retailer.py) and `hub up` with every connector, route and hook, plays five
steps, prints a summary read from NATS and the status page, then leaves the hub running until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import shutil
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
import orjson

from hub import dlq
from hub.hooks.audit import unpack
from hub.natsserver import read_url
from hub.testing import HubProcess
from sim.erp.state import ErpState, PlanningChange
from sim.retailer import ERP_USER, Retailer, asn_856, sku

ROOT = Path(__file__).resolve().parents[1]
WEB = "WEB-01"
ERP_SOURCE = "urn:hub:erp:erp"  # the events the ERP connector (instance `erp`) polls in
RETURN_STORE = "STORE-003"
RETURN_STORE_ON_HAND = 4  # under a week of the store's sales: a new return is restocked there
PHANTOM_STORE = "STORE-007"
PHANTOM_ON_HAND = 12
PHANTOM_NIGHTS = 8  # the longest silence played; the hook is expected to speak well before


class StepFailed(RuntimeError):
    """A step's outcome did not show in the peers' state."""


@dataclass(frozen=True)
class Sizes:
    promo_skus: int
    history_days: int
    outage_seconds: float
    outage_sales: int


QUICK = Sizes(promo_skus=6, history_days=21, outage_seconds=6.0, outage_sales=40)
FULL = Sizes(promo_skus=24, history_days=28, outage_seconds=20.0, outage_sales=300)


@dataclass
class Tap:
    """A wire tap on EVENTS and AUDIT: what the hub accepted and decided, as the summary reports it."""

    events: Counter[tuple[str, str]] = field(default_factory=Counter)
    versions: Counter[tuple[str, int]] = field(default_factory=Counter)
    decisions: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    replays: int = 0
    seen: list[dict[str, Any]] = field(default_factory=list)
    watch: set[str] = field(default_factory=set)
    verdicts: list[dict[str, Any]] = field(default_factory=list)

    async def start(self, nc: nats.NATS) -> None:
        js = nc.jetstream()
        self._subs = [await js.subscribe("inv.>", cb=self._event, ordered_consumer=True),
                      await js.subscribe("audit.>", cb=self._audit, ordered_consumer=True)]

    async def stop(self) -> None:
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _event(self, msg: Any) -> None:
        event = orjson.loads(msg.data)
        self.events[(event["type"], event["source"])] += 1
        self.versions[(event["type"], int(event.get("schema_version", 1)))] += 1
        self.seen.append(event)

    async def _audit(self, msg: Any) -> None:
        for line in unpack(msg.data):  # a message may hold a run of records
            self._record(orjson.loads(line))

    def _record(self, record: dict[str, Any]) -> None:
        if record.get("key") in self.watch:
            self.verdicts.append(record)
        if record.get("kind") == "decision":
            self.decisions[(record["hook"], record["decision"], record.get("rule") or "-",
                            record.get("policy_version") or "-")] += 1
        elif record.get("kind") == "replay":
            self.replays += 1

    def phantom_verdict(self, key: str, at: datetime) -> dict[str, Any] | None:
        """The phantom hook's decision record on `key` for the event at `at`, or its result when it decided
        nothing; None until that record is in AUDIT."""
        mine = [v for v in self.verdicts if v.get("hook") == "phantom" and v["key"] == key
                and datetime.fromisoformat(v["event_time"]) == at]
        decided = [v for v in mine if v["kind"] == "decision"]
        return decided[0] if decided else next((v for v in mine if v["decision"] == "none"), None)

    def of_type(self, event_type: str, **data: Any) -> list[dict[str, Any]]:
        return [e for e in self.seen if e["type"] == event_type
                and all(e["data"].get(k) == v for k, v in data.items())]


@dataclass
class Demo:
    retailer: Retailer
    sizes: Sizes
    tap: Tap
    js: Any
    proofs: list[str] = field(default_factory=list)

    @property
    def work(self) -> Path:
        return self.retailer.workdir

    def prove(self, line: str) -> None:
        self.proofs.append(line)
        print(f"   ok  {line}", flush=True)

    # ---- 1. a promotion spike in online sales

    async def promotion(self) -> None:
        r, n = self.retailer, self.sizes.promo_skus
        promo = [sku(i) for i in range(1, n + 1)]
        constrained = promo[: n // 2]
        for item in promo:
            r.wms.stock[(item, WEB)] = 12 if item in constrained else 400
        await self._history(promo)
        before = set(r.commerce.by_channel)
        for item in promo:
            for _ in range(6):
                await r.commerce.sale(WEB, [(item, 9)])
        held = await wait_for(lambda: [i for i in constrained if r.commerce.by_channel.get((i, WEB, "marketplace")) == 0
                                       and (i, WEB, "marketplace") not in before], len(constrained), 60,
                              "marketplace holds on the commerce platform")
        self.prove(f"demand spike on {n} SKUs at {WEB}: marketplace exposure held (available 0) for "
                   f"{len(held)} constrained SKUs on the commerce platform, e.g. {held[0]}")
        rest = promo[n // 2:]
        tasked = await wait_for(lambda: _spike_tasks(self.work / "planner", rest), len(rest), 60,
                                "planner tasks for the unconstrained SKUs")
        self.prove(f"planner tasks for each of the other {len(tasked)} spiking SKUs in planner/, "
                   f"e.g. {tasked[0][1]} for {tasked[0][0]}")
        await r.wms.snapshot(WEB)  # the day closes: the system of record's end-of-day stock
        raised = await wait_for(lambda: _raises(r.erp.state, promo), 1, 60, "safety stock raised in the ERP")
        sample = raised[0]
        self.prove(f"safety stock raised for {len(raised)} SKUs in the ERP after the spike, e.g. {sample.material} "
                   f"at {sample.plant} from {sample.safety_stock_before} to {sample.safety_stock} (reorder point "
                   f"{sample.reorder_point_before} -> {sample.reorder_point}, change {sample.document})")
        await self._no_echo()

    async def _no_echo(self) -> None:
        """The ERP is polled too: the goods movements the hub posted are read back but never become events."""
        r, mark = self.retailer, len(self.retailer.erp.calls)
        posted = sum(1 for m in r.erp.state.movements if m.entered_by == ERP_USER)

        def polls_since_mark() -> int:
            return sum(1 for c in r.erp.calls[mark:] if c.operation == "GoodsMovementGetList")

        # The second poll after the mark started after it, so it has read every movement posted before.
        await wait_for(lambda: polls_since_mark() >= 2 or None, 1, 30, "two polls of the ERP's goods movements")
        echoed = sum(n for (_, source), n in self.tap.events.items() if source == ERP_SOURCE)
        if echoed:
            raise StepFailed(f"{echoed} of the hub's own ERP postings came back as new events")
        self.prove(f"ERP goods movements polled back: {posted} lines the hub posted itself were skipped, "
                   f"0 came back as events")

    async def _history(self, promo: list[str]) -> None:
        """Four weeks of web sales and last night's WMS stock, as the peers' feeds hold them."""
        r, days = self.retailer, self.sizes.history_days
        today = _noon_today()
        rng = r.rng
        items = []
        for back in range(days, 0, -1):
            lines = [{"line": k, "sku": item, "quantity": sum(rng.randint(1, 3) for _ in range(rng.randint(3, 7)))}
                     for k, item in enumerate(promo, start=1)]
            items.append(r.commerce.feed.append("sale", {"transaction_id": f"HIST-{back:03d}", "store": WEB,
                                                         "lines": lines}, created_at=today - timedelta(days=back)))
        for start in range(0, len(items), 7):
            await r.commerce.send_webhook(items[start:start + 7])
        await wait_for(lambda: len(self.tap.of_type("stock.adjusted", location=WEB)) >= days * len(promo) or None,
                       1, 60, "the sales history in EVENTS")
        night = today - timedelta(days=1) + timedelta(hours=11, minutes=59)
        lines = [{"sku": item, "on_hand": qty, "available": qty}
                 for (item, where), qty in sorted(r.wms.stock.items()) if where == WEB]
        snapshot = r.wms.feed.append("inventory_snapshot", {"warehouse": WEB, "as_of": night.isoformat(),
                                                            "lines": lines}, created_at=night)
        await r.wms.send_webhook([snapshot])
        await wait_for(lambda: len(self.tap.of_type("stock.snapshot", location=WEB)) >= len(lines) or None, 1, 60,
                       "last night's stock at the web node")
        print(f"   ..  {days} days of web sales for {len(promo)} SKUs and last night's stock of {len(lines)} SKUs "
              f"at {WEB} are in the hub", flush=True)

    # ---- 2. a store return

    async def returns(self) -> None:
        r, item, store = self.retailer, sku(self.sizes.promo_skus + 7), RETURN_STORE
        before = await self._store_stock(item, store)
        started = time.monotonic()
        ret = await r.commerce.return_(store, [(item, 1)], restocked=True)
        await wait_for(lambda: r.commerce.by_channel.get((item, store, "web")) == before + 1 or None, 1, 30,
                       f"web availability of {item}@{store} to become {before + 1}")
        elapsed = time.monotonic() - started
        return_id = ret["data"]["return_id"]
        routed = await wait_for(lambda: [e for e in _lines(self.work / "returns-desk")
                                         if e["data"].get("return_id") == return_id], 1, 30, "the disposition")
        decision = routed[0]["data"]
        if (decision["disposition"], decision["destination"]) != ("restock", store):
            raise StepFailed(f"return {return_id} of a new {item} at {store}, with under a week of cover there, "
                             f"was routed {decision['disposition']} to {decision['destination']}, not restocked "
                             f"in the store")
        self.prove(f"return {return_id}: disposition {decision['disposition']} to {decision['destination']}; "
                   f"availability for {item}@{store} updated from {before} to {before + 1} in {elapsed:.1f} s")

    async def _store_stock(self, item: str, store: str) -> int:
        """Weeks of the item's sales at the store, then last night's WMS stock record there: the hub learns the
        local demand and the baseline the web shop sells from (ship-from-store). Returns the web availability."""
        r, days = self.retailer, self.sizes.history_days
        today = _noon_today()
        sold = [r.rng.randint(2, 4) for _ in range(days)]
        r.erp.state.set_stock(item, store, RETURN_STORE_ON_HAND + sum(sold))  # the books agree with the shelf
        r.wms.stock[(item, store)] = RETURN_STORE_ON_HAND
        items = [r.commerce.feed.append("sale", {"transaction_id": f"{store}-HIST-{back:03d}", "store": store,
                                                 "lines": [{"line": 1, "sku": item, "quantity": units}]},
                                        created_at=today - timedelta(days=back))
                 for back, units in zip(range(days, 0, -1), sold, strict=True)]
        for start in range(0, len(items), 7):
            await r.commerce.send_webhook(items[start:start + 7])
        await wait_for(lambda: len(self.tap.of_type("stock.adjusted", sku=item, location=store)) >= days or None,
                       1, 60, f"the sales history of {item}@{store} in EVENTS")
        night = today - timedelta(days=1) + timedelta(hours=11, minutes=59)
        snapshot = r.wms.feed.append("inventory_snapshot", {
            "warehouse": store, "as_of": night.isoformat(),
            "lines": [{"sku": item, "on_hand": RETURN_STORE_ON_HAND, "available": RETURN_STORE_ON_HAND}]},
            created_at=night)
        await r.wms.send_webhook([snapshot])
        await wait_for(lambda: r.commerce.by_channel.get((item, store, "web")) == RETURN_STORE_ON_HAND or None,
                       1, 30, f"web availability of {item}@{store} from last night's stock")
        print(f"   ..  {days} days of sales of {item} at {store} ({sum(sold)} units) and last night's stock of "
              f"{RETURN_STORE_ON_HAND} are in the hub; the web shop sells it from the store", flush=True)
        return RETURN_STORE_ON_HAND

    # ---- 3. a supplier's ASN over SFTP

    async def supplier(self) -> None:
        r = self.retailer
        lines = [(sku(400 + i), 24 * (i + 1)) for i in range(3)]
        interchange, po = 123, "PO-4500000777"
        data = asn_856(sender="SUPPLIER01", receiver="RETAILHUB", interchange=interchange, asn_id="ASN-777",
                       po_number=po, ship_to="DC-01", supplier="SUP-01", lines=lines, when=datetime.now(UTC))
        inbox = r.sftp_folder("supplier", "to_hub")
        (inbox / ".asn-777.tmp").write_bytes(data)
        (inbox / ".asn-777.tmp").rename(inbox / "asn-777.x12")
        expected = await wait_for(lambda: [e for e in _lines(self.work / "expected-receipts")
                                           if e["type"] == "shipment.notified"], 1, 30, "the expected receipt")
        units = sum(line.get("quantity", 0) for line in expected[0]["data"].get("lines", []))
        self.prove(f"856 ASN-777 read over SFTP: expected receipt of {units} units for {po} at DC-01")
        await r.wms.receipt("DC-01", lines, po_number=po)
        received = await wait_for(lambda: self.tap.of_type("receipt.confirmed", po_number=po), 1, 30,
                                  "the DC's receipt")
        self.prove(f"DC-01 receipt {received[0]['data']['receipt_id']} for {po} confirmed in the hub")
        acks = await wait_for(lambda: _acks(r.sftp_folder("supplier", "from_hub"), interchange), 1, 30, "the 997")
        self.prove(f"997 for interchange {interchange:09d} written to supplier/from_hub/{acks[0]}")

    # ---- 4. phantom stock: sales stop while the record stays positive; a recount task reaches the WMS

    async def phantom_stock(self) -> None:
        r, item, store = self.retailer, sku(107), PHANTOM_STORE
        key = f"{item}@{store}"
        self.tap.watch.add(key)
        await self._store_sales(item, store)
        suspected = await self._silent_nights(item, store)
        evidence = suspected["evidence"]["phantom_stock_suspected"]
        sent = [o for o in suspected["outputs"] if o.get("role") == "wms"]
        if not sent:
            raise StepFailed(f"the phantom decision on {key} sent nothing to the WMS: {suspected['outputs']}")
        task_id = sent[0]["event_id"]
        task = await wait_for(lambda: r.wms.count_tasks.get(task_id), 1, 30, f"count task {task_id} at the WMS")
        if (task["sku"], task["location"]) != (item, store):
            raise StepFailed(f"count task {task_id} at the WMS names {task['sku']}@{task['location']}, not {key}")
        recorded = r.wms.stock[(item, store)]
        await r.wms.count(store, [(item, 0)])  # the recount: the shelf is empty
        self.prove(f"phantom stock suspected for {key} after {evidence['days_without_sale']} days without a sale "
                   f"(expected {evidence['daily_rate']:.1f}/day): recount task {task_id} received by the WMS; "
                   f"the count found 0 of {recorded} recorded")
        tasks = await wait_for(lambda: [t for t in _lines(self.work / "planner") if t["type"] == "task.raised"
                                        and t["data"].get("sku") == item and t["data"].get("location") == store
                                        and "count_mismatch" in t["data"].get("evidence", {}).get("reasons", [])],
                               1, 30, "the count-mismatch task for the planner")
        self.prove(f"count of {key} found 0 of {recorded} recorded: task {tasks[0]['data']['task_id']} "
                   f"for the planner ({tasks[0]['data']['title'][:90]})")
        booked = await wait_for(lambda: [m for m in r.erp.state.movements if m.material == item
                                         and m.plant == store and m.movement_type == "702"], 1, 30,
                                "the count correction in the ERP")
        self.prove(f"count correction of {-booked[0].quantity} booked in the ERP for {key} "
                   f"(ERP on hand {booked[0].stock_after + booked[0].quantity} -> {booked[0].stock_after}, "
                   f"document {booked[0].document})")

    async def _store_sales(self, item: str, store: str) -> None:
        """Weeks of steady sales of one item at a store, ending PHANTOM_NIGHTS days ago, with the books agreeing
        on the PHANTOM_ON_HAND units left after them."""
        r, days = self.retailer, self.sizes.history_days
        today = _noon_today()
        sold = [r.rng.randint(1, 3) for _ in range(days)]
        r.erp.state.set_stock(item, store, PHANTOM_ON_HAND + sum(sold))
        r.wms.stock[(item, store)] = PHANTOM_ON_HAND
        items = [r.commerce.feed.append("sale", {"transaction_id": f"STORE-HIST-{back:03d}", "store": store,
                                                 "lines": [{"line": 1, "sku": item, "quantity": units}]},
                                        created_at=today - timedelta(days=back))
                 for back, units in zip(range(days + PHANTOM_NIGHTS, PHANTOM_NIGHTS, -1), sold, strict=True)]
        for start in range(0, len(items), 7):
            await r.commerce.send_webhook(items[start:start + 7])
        await wait_for(lambda: len(self.tap.of_type("stock.adjusted", sku=item, location=store)) >= days or None,
                       1, 60, f"the sales history of {item}@{store} in EVENTS")
        print(f"   ..  {days} days of sales of {item} at {store} ({sum(sold)} units) are in the hub; "
              f"then no sale while the record keeps {PHANTOM_ON_HAND}", flush=True)

    async def _silent_nights(self, item: str, store: str) -> dict[str, Any]:
        """The WMS's nightly stock record after each day without a sale, until the phantom hook decides to recount.

        Each night waits for the hook's verdict on it, so the nights are judged in order, as they would be."""
        r, key, today = self.retailer, f"{item}@{store}", _noon_today()
        for back in range(PHANTOM_NIGHTS, 0, -1):
            night = today - timedelta(days=back) + timedelta(hours=11, minutes=59)
            snapshot = r.wms.feed.append("inventory_snapshot", {
                "warehouse": store, "as_of": night.isoformat(),
                "lines": [{"sku": item, "on_hand": PHANTOM_ON_HAND, "available": PHANTOM_ON_HAND}]}, created_at=night)
            await r.wms.send_webhook([snapshot])
            verdict = await wait_for(lambda n=night: self.tap.phantom_verdict(key, n), 1, 30,
                                     f"the phantom hook's verdict on {key} for {night.date()}")
            if verdict["kind"] == "decision" and "phantom_stock_suspected" in verdict["reasons"]:
                if verdict["decision"] != "auto":
                    raise StepFailed(f"phantom stock on {key} was decided {verdict['decision']} (rule "
                                     f"{verdict['rule'] or '-'}), not auto: check [hooks.policy]")
                return verdict
        raise StepFailed(f"{PHANTOM_NIGHTS} nights without a sale of {key} raised no phantom-stock decision")

    # ---- 5. the ERP goes down

    async def erp_outage(self) -> None:
        r, s = self.retailer, self.sizes
        writes_before, posted_before = len(r.commerce.writes), len(r.erp.state.movements)
        r.erp.go_down()
        started = time.monotonic()
        items = [sku(200 + i % 100) for i in range(s.outage_sales)]
        for item in items:
            await r.commerce.sale(WEB, [(item, 1)])
        await asyncio.sleep(max(0.0, s.outage_seconds - (time.monotonic() - started)))
        # Only the web shop's updates for what sold now: a hook's marketplace hold may land meanwhile.
        sold = set(items)
        kept = sum(1 for w in r.commerce.writes[writes_before:]
                   if w["sku"] in sold and w["node"] == WEB and w["channel"] == "web")
        waited = len(r.erp.state.movements) - posted_before
        if kept < len(items) or waited:
            raise StepFailed(f"during the ERP outage commerce got {kept} of {len(items)} updates and the ERP "
                             f"{waited} postings (expected all and none)")
        down = time.monotonic() - started
        r.erp.come_up()
        back = time.monotonic()
        await wait_for(lambda: len(r.erp.state.movements) - posted_before >= len(items) or None, 1, 120,
                       "the ERP backlog to drain")
        self.prove(f"ERP down {down:.0f} s: {len(items)} deliveries waited while commerce kept {kept} availability "
                   f"updates; backlog drained in {time.monotonic() - back:.1f} s")
        await self._poison()

    async def _poison(self) -> None:
        r, new_item = self.retailer, sku(self.retailer.sku_count + 1)
        await r.commerce.sale(WEB, [(new_item, 1)])
        letters = await self._dead_letters(new_item)
        letter = letters[0]
        r.erp.state.add_item(new_item, "Article launched today")  # the fix: the master data the ERP lacked
        await dlq.replay(self.js, letters, partitions=4)
        await wait_for(lambda: [m for m in r.erp.state.movements if m.material == new_item] or None, 1, 30,
                       "the replayed posting in the ERP")
        self.prove(f"poison document for {new_item} dead-lettered ({letter.error[:90]}); "
                   f"after adding the item to the ERP, 1 dead letter replayed and posted")

    async def _dead_letters(self, item: str) -> list[dlq.DeadLetter]:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            letters = [letter async for letter in dlq.iterate(self.js, dlq.Filter(connector="erp"))]
            mine = [letter for letter in letters if item in (letter.error or "")]
            if mine:
                return mine
            await asyncio.sleep(0.5)
        raise StepFailed(f"no dead letter for {item} within 60 s")


async def wait_for(probe: Callable[[], Any], at_least: int, timeout: float, what: str) -> Any:
    """Poll `probe` until it returns something with `at_least` items (or truthy when 1); StepFailed after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found and (not hasattr(found, "__len__") or len(found) >= at_least):
            return found
        if time.monotonic() > deadline:
            raise StepFailed(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.2)


def _noon_today() -> datetime:
    return datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)


def _lines(folder: Path) -> list[dict[str, Any]]:
    path = folder / "events.ndjson"
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def _spike_tasks(folder: Path, items: list[str]) -> list[tuple[str, str]]:
    """(sku, first task id) for each of `items` with a demand-spike task."""
    first: dict[str, str] = {}
    for task in _lines(folder):
        data = task["data"]
        if data.get("sku") in items and "demand_spike" in data.get("evidence", {}).get("reasons", []):
            first.setdefault(data["sku"], data["task_id"])
    return sorted(first.items())


def _raises(erp: ErpState, items: list[str]) -> list[PlanningChange]:
    """Per SKU of `items`, the latest change in the ERP's planning history that raised a safety stock already set."""
    latest = {c.material: c for c in erp.planning_changes
              if c.material in items and 0 < c.safety_stock_before < c.safety_stock}
    return [latest[item] for item in sorted(latest)]


def _acks(folder: Path, interchange: int) -> list[str]:
    """997 files in `folder` acknowledging the group `interchange` (AK1*SH*<group>)."""
    return sorted(p.name for p in folder.glob("*997*")
                  if re.search(rf"AK1\*SH\*{interchange}\b", p.read_text(errors="replace")))


# ---- summary


async def summary(demo: Demo, status_url: str | None) -> list[str]:
    tap = demo.tap
    out = ["", "== summary =="]
    out.append("events per type and source:")
    out += [f"  {count:>6}  {event_type:<24} {source}" for (event_type, source), count in sorted(tap.events.items())]
    out.append("schema versions seen: " + ", ".join(f"{t} v{v} ({c})" for (t, v), c in sorted(tap.versions.items())))
    if status_url:
        out.append("end-to-end latency (ingress to delivered): " + await _latency(status_url))
    out.append("decisions per hook and policy:")
    out += [f"  {count:>6}  {hook:<13} {decision:<7} rule {rule} (policy {policy})"
            for (hook, decision, rule, policy), count in sorted(tap.decisions.items())]
    letters = [letter async for letter in dlq.iterate(demo.js)]
    out.append(f"dead letters now: {len(letters)}; replays: {tap.replays}")
    out += [f"  {letter.stage}/{letter.connector} {letter.event_type}: {letter.error[:90]}" for letter in letters]
    out.append("proofs:")
    out += [f"  - {line}" for line in demo.proofs]
    return out


async def _latency(status_url: str) -> str:
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(status_url.rstrip("/") + "/metrics")).text
    buckets: Counter[float] = Counter()
    for le, count in re.findall(r'^hub_end_to_end_seconds_bucket\{.*le="([^"]+)"\} (\d+)', text, re.M):
        buckets[float("inf") if le == "+Inf" else float(le)] += int(count)
    total = buckets.get(float("inf"), 0)
    if not total:
        return "no deliveries measured"

    def quantile(q: float) -> str:
        bound = next(b for b in sorted(buckets) if buckets[b] >= q * total)
        return f"<= {bound:g} s"

    return f"p50 {quantile(0.5)}, p95 {quantile(0.95)}, p99 {quantile(0.99)} over {total} deliveries"


# ---- running it


STEPS: list[tuple[str, Callable[[Demo], Awaitable[None]]]] = [
    ("1. promotion spike in online sales", Demo.promotion),
    ("2. a store return: restocked there, sold on the web shop", Demo.returns),
    ("3. a supplier's 856 over SFTP", Demo.supplier),
    ("4. phantom stock: a recount task for the WMS", Demo.phantom_stock),
    ("5. the ERP goes down and comes back", Demo.erp_outage),
]


async def run(quick: bool, wait: bool, workdir: Path) -> int:
    shutil.rmtree(workdir, ignore_errors=True)
    sizes = QUICK if quick else FULL
    print(f"starting the simulated retailer in {workdir} ...", flush=True)
    async with Retailer(workdir) as retailer:
        r = retailer
        print(f"   ERP (SOAP) {r.erp.url}, commerce {r.commerce.url}, WMS {r.wms.url}, SFTP 127.0.0.1:{r.sftp.port}; "
              f"{len(r.skus)} SKUs, {len(r.stores)} stores, {len(r.dcs)} DCs, 1 web node", flush=True)
        hub = HubProcess(r.config_path, env=r.env)
        await asyncio.to_thread(hub.start, 90)
        data_dir = workdir / ".hub"
        status_url = (data_dir / "status.url").read_text().strip() if (data_dir / "status.url").exists() else None
        nc = await nats.connect(read_url(data_dir) or "")
        tap = Tap()
        failed = 0
        try:
            await tap.start(nc)
            demo = Demo(retailer, sizes, tap, nc.jetstream())
            started = time.monotonic()
            for title, step in STEPS:
                print(f"\n== {title}", flush=True)
                try:
                    await step(demo)
                except Exception as exc:  # noqa: BLE001 - one failed step is reported, the others still run
                    failed += 1
                    print(f"   FAILED  {type(exc).__name__}: {exc}", flush=True)
            await asyncio.sleep(1.0)
            for line in await summary(demo, status_url):
                print(line)
            print(f"\n{len(STEPS) - failed} of {len(STEPS)} steps verified in {time.monotonic() - started:.0f} s")
            print(f"status page: {status_url}" if status_url else "status page disabled")
            if wait:
                print("the hub keeps running; Ctrl-C stops it and the simulated retailer", flush=True)
                await _until_interrupted()
        finally:
            await tap.stop()
            await nc.close()
            code = await asyncio.to_thread(hub.stop)
            if code != 0:
                print(f"hub exited with {code}: {hub.log_tail(1500)}", file=sys.stderr)
    return 1 if failed else 0


async def _until_interrupted() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hub.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Smaller volumes and a shorter ERP outage.")
    parser.add_argument("--no-wait", action="store_true", help="Stop everything after the summary.")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".hub" / "demo", help="Where peers and hub keep files.")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(run(args.quick, not args.no_wait, args.workdir))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
